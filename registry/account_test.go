package registry

import (
	"errors"
	"maps"
	"slices"
	"testing"
)

func TestAccountRoundTrip(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	tests := []struct {
		name string
		in   Account
	}{
		{"all maps", Account{Transport: "irc.example.org", JID: "alice@example.org",
			Fields:   map[string]string{"nick": "alice", "server": "irc.libera.chat"},
			Secrets:  map[string]string{"password": "pw", "sasl": "s"},
			Settings: map[string]string{"stay_connected": "true"}}},
		{"nil maps", Account{Transport: "irc.example.org", JID: "bob@example.org"}},
		{"unicode", Account{Transport: "sms.example.org", JID: "zoë@example.org",
			Fields:  map[string]string{"name": "Zoë \"quoted\" \x00 nul"},
			Secrets: map[string]string{"pin": "ü"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.PutAccount(ctx, tt.in); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetAccount(ctx, tt.in.Transport, tt.in.JID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Transport != tt.in.Transport || got.JID != tt.in.JID {
				t.Errorf("key = %s/%s", got.Transport, got.JID)
			}
			for name, pair := range map[string][2]map[string]string{
				"Fields": {got.Fields, tt.in.Fields}, "Secrets": {got.Secrets, tt.in.Secrets},
				"Settings": {got.Settings, tt.in.Settings},
			} {
				// Read maps are never nil so callers can add to them.
				if pair[0] == nil {
					t.Errorf("%s is nil", name)
				}
				if !maps.Equal(pair[0], pair[1]) {
					t.Errorf("%s = %v, want %v", name, pair[0], pair[1])
				}
			}
			if got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
				t.Errorf("timestamps not set: %v %v", got.CreatedAt, got.UpdatedAt)
			}
		})
	}
}

func TestPutAccountRequiresKey(t *testing.T) {
	s, _ := openTestStore(t)
	for _, a := range []Account{{}, {Transport: "t"}, {JID: "j"}} {
		if err := s.PutAccount(t.Context(), a); err == nil {
			t.Errorf("PutAccount(%+v) succeeded", a)
		}
	}
}

// (transport, jid) is unique: a second Put replaces the first, and the
// same user on another transport is a separate account.
func TestAccountUniquePerTransport(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	put := func(tr, jid, nick, pw string) {
		t.Helper()
		if err := s.PutAccount(ctx, Account{Transport: tr, JID: jid,
			Fields: map[string]string{"nick": nick}, Secrets: map[string]string{"password": pw}}); err != nil {
			t.Fatal(err)
		}
	}
	put("irc", "alice@x", "old", "old-pw")
	first, err := s.GetAccount(ctx, "irc", "alice@x")
	if err != nil {
		t.Fatal(err)
	}
	put("irc", "alice@x", "new", "new-pw")
	put("sms", "alice@x", "other", "sms-pw")
	if n, _ := s.CountAccounts(ctx, "irc"); n != 1 {
		t.Fatalf("CountAccounts(irc) = %d after re-put, want 1", n)
	}
	got, err := s.GetAccount(ctx, "irc", "alice@x")
	if err != nil {
		t.Fatal(err)
	}
	if got.Fields["nick"] != "new" || got.Secrets["password"] != "new-pw" {
		t.Errorf("re-put not applied: %+v", got)
	}
	if !got.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("CreatedAt changed on update: %v -> %v", first.CreatedAt, got.CreatedAt)
	}
	if got.UpdatedAt.Before(first.UpdatedAt) {
		t.Errorf("UpdatedAt went backwards")
	}
	other, err := s.GetAccount(ctx, "sms", "alice@x")
	if err != nil || other.Secrets["password"] != "sms-pw" {
		t.Fatalf("sms account = %+v, %v", other, err)
	}
}

func TestGetAccountNotFound(t *testing.T) {
	s, _ := openTestStore(t)
	if _, err := s.GetAccount(t.Context(), "t", "nobody@x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestDeleteAccount(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	if err := s.PutAccount(ctx, Account{Transport: "t", JID: "j"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount(ctx, "t", "j"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAccount(ctx, "t", "j"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v, want ErrNotFound", err)
	}
	if err := s.DeleteAccount(ctx, "t", "j"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
}

func TestListAndCountAccounts(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	for _, j := range []string{"carol@x", "alice@x", "bob@x"} {
		if err := s.PutAccount(ctx, Account{Transport: "irc", JID: j}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutAccount(ctx, Account{Transport: "sms", JID: "dave@x"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		transport string
		want      []string
	}{
		{"irc", []string{"alice@x", "bob@x", "carol@x"}},
		{"sms", []string{"dave@x"}},
		{"none", nil},
	}
	for _, tt := range tests {
		list, err := s.ListAccounts(ctx, tt.transport)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range list {
			got = append(got, a.JID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("ListAccounts(%s) = %v, want %v", tt.transport, got, tt.want)
		}
		n, err := s.CountAccounts(ctx, tt.transport)
		if err != nil || n != len(tt.want) {
			t.Errorf("CountAccounts(%s) = %d, %v; want %d", tt.transport, n, err, len(tt.want))
		}
	}
}

// A sealed blob is bound to its row: copying Alice's secrets into
// Mallory's row must not give Mallory Alice's password.
func TestSecretsBoundToRow(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	if err := s.PutAccount(ctx, Account{Transport: "t", JID: "alice@x", Secrets: map[string]string{"password": "a"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAccount(ctx, Account{Transport: "t", JID: "mallory@x", Secrets: map[string]string{"password": "m"}}); err != nil {
		t.Fatal(err)
	}
	_, err := s.w.ExecContext(ctx, `UPDATE accounts SET secrets =
		(SELECT secrets FROM accounts WHERE jid = 'alice@x') WHERE jid = 'mallory@x'`)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.GetAccount(ctx, "t", "mallory@x")
	if err != nil || !errors.Is(a.SealErr, ErrUnsealable) || len(a.Secrets) != 0 {
		t.Fatalf("copied secrets: %+v, %v; want none and ErrUnsealable", a.Secrets, err)
	}
}

// Updating an account must not delete and re-insert the row, which would
// cascade to its message ids.
func TestPutAccountKeepsChildren(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	a := Account{Transport: "t", JID: "j"}
	if err := s.PutAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMessageID(ctx, MessageID{Transport: "t", JID: "j", LegacyID: "L", XMPPID: "X"}); err != nil {
		t.Fatal(err)
	}
	a.Settings = map[string]string{"stay_connected": "false"}
	if err := s.PutAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MessageByLegacyID(ctx, "t", "j", "L"); err != nil {
		t.Fatalf("message id lost by account update: %v", err)
	}
}

func TestAccountBindingRoundTrip(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	for _, a := range []Account{
		{Transport: "sms", JID: "alice@x", Binding: "+15550100"},
		{Transport: "sms", JID: "bob@x"},
	} {
		if err := s.PutAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if a, err := s.GetAccount(ctx, "sms", "alice@x"); err != nil || a.Binding != "+15550100" {
		t.Fatalf("GetAccount = %+v, %v", a, err)
	}
	list, err := s.ListAccounts(ctx, "sms")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Binding != "+15550100" || list[1].Binding != "" {
		t.Fatalf("ListAccounts = %+v", list)
	}
	// "No binding" is stored as NULL, the one spelling the index skips.
	var isNull bool
	if err := s.r.QueryRowContext(ctx, "SELECT binding IS NULL FROM accounts WHERE jid = 'bob@x'").Scan(&isNull); err != nil {
		t.Fatal(err)
	}
	if !isNull {
		t.Fatal("empty binding not stored as NULL")
	}
}

// A binding names one account per transport, through both the insert and
// the update branch of PutAccount's upsert.
func TestAccountBindingConflict(t *testing.T) {
	type step struct {
		a    Account
		want error // nil: must succeed
	}
	acct := func(tr, jid, binding string) Account { return Account{Transport: tr, JID: jid, Binding: binding} }
	tests := []struct {
		name  string
		steps []step
	}{
		{"new account takes a held binding", []step{
			{acct("sms", "alice@x", "+1"), nil},
			{acct("sms", "bob@x", "+1"), ErrConflict},
		}},
		{"existing account moves to a held binding", []step{
			{acct("sms", "alice@x", "+1"), nil},
			{acct("sms", "bob@x", "+2"), nil},
			{acct("sms", "bob@x", "+1"), ErrConflict},
		}},
		{"re-put by the holder", []step{
			{acct("sms", "alice@x", "+1"), nil},
			{acct("sms", "alice@x", "+1"), nil},
		}},
		{"same binding on another transport", []step{
			{acct("sms", "alice@x", "+1"), nil},
			{acct("sms2", "bob@x", "+1"), nil},
		}},
		{"any number of accounts without one", []step{
			{acct("sms", "alice@x", ""), nil},
			{acct("sms", "bob@x", ""), nil},
			{acct("sms", "carol@x", ""), nil},
		}},
		{"released binding can be taken", []step{
			{acct("sms", "alice@x", "+1"), nil},
			{acct("sms", "alice@x", ""), nil},
			{acct("sms", "bob@x", "+1"), nil},
		}},
		{"holder moves to a new binding", []step{
			{acct("sms", "alice@x", "+1"), nil},
			{acct("sms", "alice@x", "+2"), nil},
			{acct("sms", "bob@x", "+1"), nil},
			{acct("sms", "carol@x", "+2"), ErrConflict},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTestStore(t)
			ctx := t.Context()
			for i, st := range tt.steps {
				err := s.PutAccount(ctx, st.a)
				if st.want == nil && err != nil {
					t.Fatalf("step %d PutAccount(%s %q): %v", i, st.a.JID, st.a.Binding, err)
				}
				if st.want != nil && !errors.Is(err, st.want) {
					t.Fatalf("step %d PutAccount(%s %q) = %v, want %v", i, st.a.JID, st.a.Binding, err, st.want)
				}
			}
		})
	}
}

// A refused binding must leave the refused account as it was.
func TestAccountBindingConflictKeepsRow(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	if err := s.PutAccount(ctx, Account{Transport: "sms", JID: "alice@x", Binding: "+1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAccount(ctx, Account{Transport: "sms", JID: "bob@x", Binding: "+2",
		Fields: map[string]string{"n": "old"}}); err != nil {
		t.Fatal(err)
	}
	err := s.PutAccount(ctx, Account{Transport: "sms", JID: "bob@x", Binding: "+1", Fields: map[string]string{"n": "new"}})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	bob, err := s.GetAccount(ctx, "sms", "bob@x")
	if err != nil || bob.Binding != "+2" || bob.Fields["n"] != "old" {
		t.Fatalf("bob after refused update = %+v, %v", bob, err)
	}
	// Deleting the holder frees the binding.
	if err := s.DeleteAccount(ctx, "sms", "alice@x"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAccount(ctx, Account{Transport: "sms", JID: "bob@x", Binding: "+1"}); err != nil {
		t.Fatalf("binding of a deleted account: %v", err)
	}
}

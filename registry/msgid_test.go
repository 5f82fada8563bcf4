package registry

import (
	"errors"
	"testing"
	"time"
)

func putAccount(t *testing.T, s *SQLite, transport, jid string) {
	t.Helper()
	if err := s.PutAccount(t.Context(), Account{Transport: transport, JID: jid}); err != nil {
		t.Fatal(err)
	}
}

func TestMessageIDLookups(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putAccount(t, s, "t", "alice@x")
	putAccount(t, s, "t", "bob@x")
	at := time.Date(2025, 5, 6, 7, 8, 9, 10, time.UTC)
	m := MessageID{Transport: "t", JID: "alice@x", LegacyID: "L1", XMPPID: "X1", Peer: "#chan", CreatedAt: at}
	if err := s.PutMessageID(ctx, m); err != nil {
		t.Fatal(err)
	}
	// The same ids under another account are independent.
	if err := s.PutMessageID(ctx, MessageID{Transport: "t", JID: "bob@x", LegacyID: "L1", XMPPID: "X1"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		get     func() (MessageID, error)
		want    MessageID
		wantErr error
	}{
		{"by legacy", func() (MessageID, error) { return s.MessageByLegacyID(ctx, "t", "alice@x", "L1") }, m, nil},
		{"by xmpp", func() (MessageID, error) { return s.MessageByXMPPID(ctx, "t", "alice@x", "X1") }, m, nil},
		{"unknown legacy", func() (MessageID, error) { return s.MessageByLegacyID(ctx, "t", "alice@x", "nope") }, MessageID{}, ErrNotFound},
		{"unknown xmpp", func() (MessageID, error) { return s.MessageByXMPPID(ctx, "t", "alice@x", "nope") }, MessageID{}, ErrNotFound},
		{"other account", func() (MessageID, error) { return s.MessageByLegacyID(ctx, "t", "carol@x", "L1") }, MessageID{}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.get()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPutMessageIDUpsert(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putAccount(t, s, "t", "j")
	first := MessageID{Transport: "t", JID: "j", LegacyID: "L", XMPPID: "X1", Peer: "p1"}
	if err := s.PutMessageID(ctx, first); err != nil {
		t.Fatal(err)
	}
	orig, _ := s.MessageByLegacyID(ctx, "t", "j", "L")
	if err := s.PutMessageID(ctx, MessageID{Transport: "t", JID: "j", LegacyID: "L", XMPPID: "X2", Peer: "p2"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.MessageByLegacyID(ctx, "t", "j", "L")
	if err != nil {
		t.Fatal(err)
	}
	if got.XMPPID != "X2" || got.Peer != "p2" || !got.CreatedAt.Equal(orig.CreatedAt) {
		t.Fatalf("after upsert: %+v (first stored %+v)", got, orig)
	}
	if _, err := s.MessageByXMPPID(ctx, "t", "j", "X1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old XMPP id still maps: %v", err)
	}
}

func TestPutMessageIDErrors(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putAccount(t, s, "t", "j")
	if err := s.PutMessageID(ctx, MessageID{Transport: "t", JID: "j", LegacyID: "L1", XMPPID: "X"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		m    MessageID
		want error
	}{
		{"no account", MessageID{Transport: "t", JID: "ghost@x", LegacyID: "L", XMPPID: "X"}, ErrNotFound},
		{"xmpp id taken", MessageID{Transport: "t", JID: "j", LegacyID: "L2", XMPPID: "X"}, ErrConflict},
		{"empty legacy id", MessageID{Transport: "t", JID: "j", XMPPID: "Y"}, nil},
		{"empty xmpp id", MessageID{Transport: "t", JID: "j", LegacyID: "L3"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.PutMessageID(ctx, tt.m)
			if err == nil {
				t.Fatal("PutMessageID succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDeleteAccountCascadesMessageIDs(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putAccount(t, s, "t", "alice@x")
	putAccount(t, s, "t", "bob@x")
	for _, j := range []string{"alice@x", "bob@x"} {
		if err := s.PutMessageID(ctx, MessageID{Transport: "t", JID: j, LegacyID: "L", XMPPID: "X"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteAccount(ctx, "t", "alice@x"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM message_ids WHERE jid = 'alice@x'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d message ids left after deleting the account", n)
	}
	// Re-registering must start clean, not resurrect old mappings.
	putAccount(t, s, "t", "alice@x")
	if _, err := s.MessageByLegacyID(ctx, "t", "alice@x", "L"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after re-register: %v, want ErrNotFound", err)
	}
	if _, err := s.MessageByLegacyID(ctx, "t", "bob@x", "L"); err != nil {
		t.Fatalf("other account's ids affected: %v", err)
	}
}

func TestPeers(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putAccount(t, s, "t", "alice@x")
	for i, peer := range []string{"bob", "carol", "bob", ""} {
		id := string(rune('a' + i))
		if err := s.PutMessageID(ctx, MessageID{Transport: "t", JID: "alice@x", LegacyID: id, XMPPID: id, Peer: peer}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Peers(ctx, "t", "alice@x")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "bob" || got[1] != "carol" {
		t.Fatalf("Peers = %v, want [bob carol]", got)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

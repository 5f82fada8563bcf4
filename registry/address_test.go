package registry

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func putTestAccount(t *testing.T, s *SQLite, transport, jid string) {
	t.Helper()
	if err := s.PutAccount(t.Context(), Account{Transport: transport, JID: jid, Fields: map[string]string{"nick": "al"}}); err != nil {
		t.Fatal(err)
	}
}

func TestAddressSettingsRoundTrip(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putTestAccount(t, s, "irc.gw", "alice@x")
	net := AddressSettings{Transport: "irc.gw", JID: "alice@x", Address: "irc.example.net",
		Settings: map[string]string{"nick": "alice2", "encoding_in": "ISO-8859-1"},
		Secrets:  map[string]string{"pass": "hunter2"}}
	ch := AddressSettings{Transport: "irc.gw", JID: "alice@x", Address: "#chan%irc.example.net",
		Settings: map[string]string{"persistent": "true"}}
	for _, a := range []AddressSettings{net, ch} {
		if err := s.PutAddressSettings(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.ListAddressSettings(ctx, "irc.gw", "alice@x")
	if err != nil || len(list) != 2 {
		t.Fatalf("ListAddressSettings = %+v, %v", list, err)
	}
	if list[0].Address != "#chan%irc.example.net" || list[0].Settings["persistent"] != "true" || len(list[0].Secrets) != 0 {
		t.Errorf("channel row: %+v", list[0])
	}
	if list[1].Settings["nick"] != "alice2" || list[1].Secrets["pass"] != "hunter2" || list[1].SealErr != nil {
		t.Errorf("network row: %+v", list[1])
	}
	// The secret is sealed at rest.
	var blob []byte
	if err := s.r.QueryRow("SELECT secrets FROM address_settings WHERE address = ?", "irc.example.net").Scan(&blob); err != nil {
		t.Fatal(err)
	}
	if len(blob) == 0 || bytes.Contains(blob, []byte("hunter2")) {
		t.Fatalf("secret stored in clear or not at all: %q", blob)
	}

	// Replacing a row replaces all of it; emptying it deletes it.
	net.Settings = map[string]string{"nick": "alice3"}
	net.Secrets = nil
	if err := s.PutAddressSettings(ctx, net); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAddressSettings(ctx, AddressSettings{Transport: "irc.gw", JID: "alice@x", Address: ch.Address}); err != nil {
		t.Fatal(err)
	}
	list, err = s.ListAddressSettings(ctx, "irc.gw", "alice@x")
	if err != nil || len(list) != 1 || list[0].Settings["nick"] != "alice3" || len(list[0].Secrets) != 0 || list[0].Settings["encoding_in"] != "" {
		t.Fatalf("after replace and clear: %+v, %v", list, err)
	}
}

func TestAddressSettingsNeedAnAccount(t *testing.T) {
	s, _ := openTestStore(t)
	err := s.PutAddressSettings(t.Context(), AddressSettings{Transport: "irc.gw", JID: "nobody@x", Address: "irc.example.net",
		Settings: map[string]string{"nick": "n"}})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("PutAddressSettings without an account = %v, want ErrNotFound", err)
	}
	if list, err := s.ListAddressSettings(t.Context(), "irc.gw", "nobody@x"); err != nil || len(list) != 0 {
		t.Fatalf("ListAddressSettings without an account = %+v, %v", list, err)
	}
}

func TestAddressSettingsDeletedWithAccount(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putTestAccount(t, s, "irc.gw", "alice@x")
	putTestAccount(t, s, "irc.gw", "bob@x")
	for _, jid := range []string{"alice@x", "bob@x"} {
		if err := s.PutAddressSettings(ctx, AddressSettings{Transport: "irc.gw", JID: jid, Address: "irc.example.net",
			Settings: map[string]string{"nick": "n"}, Secrets: map[string]string{"pass": "p"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteAccount(ctx, "irc.gw", "alice@x"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRow("SELECT count(*) FROM address_settings WHERE jid = 'alice@x'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("alice's address settings after unregistering: %d rows, %v", n, err)
	}
	putTestAccount(t, s, "irc.gw", "alice@x")
	if list, _ := s.ListAddressSettings(ctx, "irc.gw", "alice@x"); len(list) != 0 {
		t.Fatalf("a new registration inherited old settings: %+v", list)
	}
	if list, _ := s.ListAddressSettings(ctx, "irc.gw", "bob@x"); len(list) != 1 {
		t.Fatalf("bob's settings went with alice's account: %+v", list)
	}
}

// A blob copied to another row does not open there.
func TestAddressSecretsBoundToRow(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putTestAccount(t, s, "irc.gw", "alice@x")
	for _, addr := range []string{"a.example.net", "b.example.net"} {
		if err := s.PutAddressSettings(ctx, AddressSettings{Transport: "irc.gw", JID: "alice@x", Address: addr,
			Settings: map[string]string{"nick": "n"}, Secrets: map[string]string{"pass": addr}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.w.Exec(`UPDATE address_settings SET secrets = (SELECT secrets FROM address_settings WHERE address = 'a.example.net')
WHERE address = 'b.example.net'`); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListAddressSettings(ctx, "irc.gw", "alice@x")
	if err != nil || len(list) != 2 {
		t.Fatalf("ListAddressSettings = %+v, %v", list, err)
	}
	if list[0].SealErr != nil || list[0].Secrets["pass"] != "a.example.net" {
		t.Errorf("intact row: %+v", list[0])
	}
	if !errors.Is(list[1].SealErr, ErrUnsealable) || len(list[1].Secrets) != 0 {
		t.Errorf("copied blob opened: %+v", list[1])
	}
	// Saving the row again without new secrets keeps the stored blob.
	list[1].Settings["nick"] = "m"
	if err := s.PutAddressSettings(ctx, list[1]); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRow("SELECT count(*) FROM address_settings WHERE address = 'b.example.net' AND secrets IS NOT NULL").Scan(&n); err != nil || n != 1 {
		t.Fatalf("unreadable secrets dropped: %d, %v", n, err)
	}
}

// testdata/v4.sql is the frozen text version 4 shipped with.
func TestV4SchemaFrozen(t *testing.T) {
	frozen, err := os.ReadFile("testdata/v4.sql")
	if err != nil {
		t.Fatal(err)
	}
	if string(frozen) != schemaV4 {
		t.Fatal("schema/0004_archive.sql differs from testdata/v4.sql; released migrations must not change")
	}
}

// A database a version-4 Ferry left is upgraded with its accounts intact,
// and their address settings can then be stored and go with them.
func TestUpgradeFromV4(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ferry.db")
	sealer := testSealer(t)
	writeV2Database(t, path, sealer)
	db := rawDB(t, path)
	for _, f := range []string{"schema/0003_bindings_jobs.sql", "testdata/v4.sql"} {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(text)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if _, err := db.Exec("PRAGMA user_version = 4"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	from, to, err := Migrate(ctx, path)
	if err != nil || from != 4 || to != SchemaVersion {
		t.Fatalf("Migrate = %d -> %d, %v; want 4 -> %d", from, to, err, SchemaVersion)
	}
	s, err := Open(ctx, path, sealer, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.GetAccount(ctx, "sms.example.org", "alice@example.org")
	if err != nil || a.Secrets["token"] != "v2-token" || !a.CreatedAt.Equal(v2Created) {
		t.Fatalf("account after upgrade: %+v, %v", a, err)
	}
	if list, err := s.ListAddressSettings(ctx, "sms.example.org", "alice@example.org"); err != nil || len(list) != 0 {
		t.Fatalf("address settings after upgrade: %+v, %v", list, err)
	}
	if err := s.PutAddressSettings(ctx, AddressSettings{Transport: "sms.example.org", JID: "alice@example.org", Address: "x",
		Settings: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount(ctx, "sms.example.org", "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRow("SELECT count(*) FROM address_settings").Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows left after unregistering: %d, %v", n, err)
	}
}

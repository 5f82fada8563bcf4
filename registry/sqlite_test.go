package registry

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// openTestStore opens a fresh database in a temporary directory.
func openTestStore(t testing.TB) (*SQLite, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ferry.db")
	s, err := Open(t.Context(), path, testSealer(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, path
}

func TestOpenCreatesLatestSchema(t *testing.T) {
	s, _ := openTestStore(t)
	v, err := s.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion {
		t.Fatalf("SchemaVersion = %d, want %d", v, SchemaVersion)
	}
	// Every statement of every multi-statement step ran, not just the first.
	rows, err := s.r.QueryContext(t.Context(), "SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	want := []string{"accounts", "accounts_binding", "address_settings", "archive", "archive_periods", "archive_room_at", "archive_rooms", "dead_letters", "dead_letters_transport_created",
		"jobs", "jobs_account", "jobs_due", "jobs_ref", "jobs_state_updated",
		"message_ids", "message_ids_xmpp_id", "notices_seen", "outbox", "outbox_transport_id", "room_retention", "room_seats"}
	if !slices.Equal(names, want) {
		t.Fatalf("schema objects = %v, want %v", names, want)
	}
}

func TestOpenNeedsSealer(t *testing.T) {
	if _, err := Open(t.Context(), filepath.Join(t.TempDir(), "x.db"), nil, Options{}); err == nil {
		t.Fatal("Open accepted a nil Sealer")
	}
}

// Both handles must carry the DSN pragmas: cascades silently do nothing on
// a connection without foreign_keys.
func TestConnectionPragmas(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	for _, h := range []struct {
		name string
		db   *sql.DB
	}{{"writer", s.w}, {"reader", s.r}} {
		var fk, busy int
		var mode string
		if err := h.db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := h.db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if err := h.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if fk != 1 || busy != 5000 || mode != "wal" {
			t.Errorf("%s: foreign_keys=%d busy_timeout=%d journal_mode=%s", h.name, fk, busy, mode)
		}
	}
	if _, err := s.r.ExecContext(ctx, "DELETE FROM outbox"); err == nil {
		t.Error("the read pool accepted a write")
	}
}

// Characters that mean something in a URI must stay part of the file name.
func TestOpenOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?x=1#frag%20")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ferry.db")
	s, err := Open(t.Context(), path, testSealer(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutAccount(t.Context(), Account{Transport: "t", JID: "j"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at the given path: %v", err)
	}
}

func TestSecretsSealedAtRest(t *testing.T) {
	const password = "hunter2-unique-XYZ"
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ferry.db")
	sealer := testSealer(t)
	s, err := Open(ctx, path, sealer, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := Account{Transport: "irc.example.org", JID: "alice@example.org",
		Fields: map[string]string{"nick": "visible-marker-QRS"}, Secrets: map[string]string{"password": password}}
	if err := s.PutAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var raw []byte
	for _, f := range []string{path, path + "-wal", path + "-journal"} {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(password)) {
			t.Fatalf("%s contains the plaintext password", f)
		}
		raw = append(raw, b...)
	}
	// The non-secret field is stored in clear, so finding it proves the
	// search above looked where the row actually lives.
	if !bytes.Contains(raw, []byte("visible-marker-QRS")) {
		t.Fatal("row not found in the raw files; the check above proves nothing")
	}
	s, err = Open(ctx, path, sealer, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.GetAccount(ctx, a.Transport, a.JID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Secrets["password"] != password {
		t.Fatalf("password after reopen = %q", got.Secrets["password"])
	}
}

// A database opened with another key must say so on secrets rather than
// hand out garbage.
func TestWrongKeyCannotReadSecrets(t *testing.T) {
	ctx := t.Context()
	s, path := openTestStore(t)
	if err := s.PutAccount(ctx, Account{Transport: "t", JID: "j", Secrets: map[string]string{"p": "x"}}); err != nil {
		t.Fatal(err)
	}
	other, _ := NewSealer(testKey(9))
	s2, err := Open(ctx, path, other, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	a, err := s2.GetAccount(ctx, "t", "j")
	if err != nil || !errors.Is(a.SealErr, ErrUnsealable) || len(a.Secrets) != 0 {
		t.Fatalf("GetAccount with the wrong key: %+v, %v", a, err)
	}
}

func TestConcurrentPutAccount(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			a := Account{Transport: "t", JID: fmt.Sprintf("user%02d@example.org", i),
				Secrets: map[string]string{"password": "p"}}
			for range 5 {
				if err := s.PutAccount(ctx, a); err != nil {
					errs <- err
					return
				}
				if _, err := s.GetAccount(ctx, a.Transport, a.JID); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c, err := s.CountAccounts(ctx, "t"); err != nil || c != n {
		t.Fatalf("CountAccounts = %d, %v; want %d", c, err, n)
	}
}

// Two stores on one file stand in for two processes (ferry and `ferry
// migrate`, or an operator tool): busy_timeout and IMMEDIATE transactions
// must make them wait for each other instead of failing.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := t.Context()
	a, path := openTestStore(t)
	b, err := Open(ctx, path, testSealer(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i, s := range []*SQLite{a, b, a, b} {
		wg.Go(func() {
			for j := range 10 {
				if _, err := s.EnqueueBatch(ctx, "t", []OutboxEntry{{Stanza: fmt.Appendf(nil, "<m id='%d-%d'/>", i, j)}}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, err := a.PendingCount(ctx, "t"); err != nil || n != 40 {
		t.Fatalf("PendingCount = %d, %v; want 40", n, err)
	}
}

func TestStoreControlsTimestamps(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	s.now = func() time.Time { return t0 }
	if err := s.PutAccount(ctx, Account{Transport: "t", JID: "j"}); err != nil {
		t.Fatal(err)
	}
	t1 := t0.Add(time.Hour)
	s.now = func() time.Time { return t1 }
	// A caller-supplied CreatedAt must not rewrite history on update.
	if err := s.PutAccount(ctx, Account{Transport: "t", JID: "j", CreatedAt: t1.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	a, err := s.GetAccount(ctx, "t", "j")
	if err != nil {
		t.Fatal(err)
	}
	if !a.CreatedAt.Equal(t0) || !a.UpdatedAt.Equal(t1) {
		t.Fatalf("CreatedAt=%v UpdatedAt=%v, want %v and %v", a.CreatedAt, a.UpdatedAt, t0, t1)
	}
}

package registry

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// rawDB opens path without the registry's checks, to build or inspect
// databases the way an older or newer ferry would have left them.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func rawVersion(t *testing.T, path string) int {
	t.Helper()
	db := rawDB(t, path)
	defer db.Close()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMigrationsMatchSchemaVersion(t *testing.T) {
	if len(migrations) != SchemaVersion {
		t.Fatalf("%d migrations but SchemaVersion = %d", len(migrations), SchemaVersion)
	}
	for i, m := range migrations {
		if strings.TrimSpace(m) == "" {
			t.Errorf("migration to version %d is empty", i+1)
		}
	}
}

// Released migrations are append-only. testdata/v1.sql is the frozen text
// version 1 shipped with; if this fails, revert the edit and add a new
// migration instead.
func TestV1SchemaFrozen(t *testing.T) {
	frozen, err := os.ReadFile("testdata/v1.sql")
	if err != nil {
		t.Fatal(err)
	}
	if string(frozen) != schemaV1 {
		t.Fatal("schema/0001_accounts_outbox.sql differs from testdata/v1.sql; released migrations must not change")
	}
}

// writeV1Database builds the database a version-1 ferry would have left:
// the frozen v1 schema with one account (sealed secrets) and one queued
// stanza.
func writeV1Database(t *testing.T, path string, sealer *Sealer) {
	t.Helper()
	frozen, err := os.ReadFile("testdata/v1.sql")
	if err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	if _, err := db.Exec(string(frozen)); err != nil {
		t.Fatal(err)
	}
	secrets, err := sealer.Seal([]byte(`{"password":"v1-pw"}`), secretsAAD("irc.example.org", "alice@example.org"))
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2023, 3, 4, 5, 6, 7, 0, time.UTC).UnixNano()
	if _, err := db.Exec(`INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?)`,
		"irc.example.org", "alice@example.org", `{"nick":"alice"}`, secrets, `{"stay_connected":"true"}`, created, created); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO outbox (transport, stanza, created_at) VALUES (?, ?, ?)`,
		"irc.example.org", []byte("<message id='q'/>"), created); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 1"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestUpgradeFromV1(t *testing.T) {
	tests := []struct {
		name    string
		upgrade func(t *testing.T, path string, sealer *Sealer) *SQLite
	}{
		{"ferry migrate", func(t *testing.T, path string, sealer *Sealer) *SQLite {
			from, to, err := Migrate(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			if from != 1 || to != SchemaVersion {
				t.Fatalf("Migrate = %d -> %d, want 1 -> %d", from, to, SchemaVersion)
			}
			s, err := Open(t.Context(), path, sealer, Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"AutoMigrate", func(t *testing.T, path string, sealer *Sealer) *SQLite {
			s, err := Open(t.Context(), path, sealer, Options{AutoMigrate: true})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "ferry.db")
			sealer := testSealer(t)
			writeV1Database(t, path, sealer)

			s := tt.upgrade(t, path, sealer)
			defer s.Close()
			if v, err := s.SchemaVersion(ctx); err != nil || v != SchemaVersion {
				t.Fatalf("SchemaVersion = %d, %v", v, err)
			}

			// The v1 data survived.
			a, err := s.GetAccount(ctx, "irc.example.org", "alice@example.org")
			if err != nil {
				t.Fatal(err)
			}
			if a.Fields["nick"] != "alice" || a.Secrets["password"] != "v1-pw" || a.Settings["stay_connected"] != "true" {
				t.Fatalf("account after upgrade: %+v", a)
			}
			if want := time.Date(2023, 3, 4, 5, 6, 7, 0, time.UTC); !a.CreatedAt.Equal(want) {
				t.Fatalf("CreatedAt = %v, want %v", a.CreatedAt, want)
			}
			q, err := s.PendingAfter(ctx, "irc.example.org", 0, 0)
			if err != nil || len(q) != 1 || string(q[0].Stanza) != "<message id='q'/>" {
				t.Fatalf("outbox after upgrade: %+v, %v", q, err)
			}

			// The new table works, including its cascade from the old table.
			m := MessageID{Transport: "irc.example.org", JID: "alice@example.org", LegacyID: "L", XMPPID: "X"}
			if err := s.PutMessageID(ctx, m); err != nil {
				t.Fatal(err)
			}
			if _, err := s.MessageByXMPPID(ctx, m.Transport, m.JID, "X"); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteAccount(ctx, m.Transport, m.JID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.MessageByLegacyID(ctx, m.Transport, m.JID, "L"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("message id after account delete: %v", err)
			}
		})
	}
}

func TestOpenOlderSchemaNeedsMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.db")
	writeV1Database(t, path, testSealer(t))
	_, err := Open(t.Context(), path, testSealer(t), Options{})
	if !errors.Is(err, ErrNeedsMigration) {
		t.Fatalf("Open = %v, want ErrNeedsMigration", err)
	}
	// Refusing must leave the database exactly as it was.
	if v := rawVersion(t, path); v != 1 {
		t.Fatalf("user_version = %d after refused Open, want 1", v)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	want := fmt.Sprintf("database schema version 999 is newer than this ferry supports (%d); upgrade ferry", SchemaVersion)
	path := filepath.Join(t.TempDir(), "ferry.db")
	s, err := Open(t.Context(), path, testSealer(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db := rawDB(t, path)
	if _, err := db.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	attempts := map[string]func() error{
		"Open": func() error {
			_, err := Open(t.Context(), path, testSealer(t), Options{})
			return err
		},
		"Open AutoMigrate": func() error {
			_, err := Open(t.Context(), path, testSealer(t), Options{AutoMigrate: true})
			return err
		},
		"Migrate": func() error {
			_, _, err := Migrate(t.Context(), path)
			return err
		},
	}
	for name, attempt := range attempts {
		t.Run(name, func(t *testing.T) {
			err := attempt()
			if err == nil {
				t.Fatal("accepted a database from a newer ferry")
			}
			if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %q, want ErrSchemaTooNew saying %q", err, want)
			}
			if v := rawVersion(t, path); v != 999 {
				t.Fatalf("user_version changed to %d", v)
			}
		})
	}
}

func TestMigrateUpToDate(t *testing.T) {
	s, path := openTestStore(t)
	s.Close()
	from, to, err := Migrate(t.Context(), path)
	if err != nil || from != SchemaVersion || to != SchemaVersion {
		t.Fatalf("Migrate = %d -> %d, %v; want no-op at %d", from, to, err, SchemaVersion)
	}
}

func TestMigrateMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "typo.db")
	if _, _, err := Migrate(t.Context(), path); err == nil {
		t.Fatal("Migrate succeeded on a missing file")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("Migrate created the missing database")
	}
}

// A file with someone else's tables and no version must not be "migrated"
// by adding ferry's tables to it.
func TestForeignDatabaseRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	db := rawDB(t, path)
	if _, err := db.Exec("CREATE TABLE notes (x TEXT)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(t.Context(), path, testSealer(t), Options{AutoMigrate: true}); err == nil {
		t.Error("Open accepted a foreign database")
	}
	if _, _, err := Migrate(t.Context(), path); err == nil {
		t.Error("Migrate accepted a foreign database")
	}
}

// A failing step must leave the database at the previous version with none
// of the step's changes, so it can be retried after a fix.
func TestFailedMigrationRollsBack(t *testing.T) {
	saved := slices.Clone(migrations)
	t.Cleanup(func() { migrations = saved })
	migrations[1] = "CREATE TABLE message_ids (x TEXT); SELECT * FROM no_such_table;"

	path := filepath.Join(t.TempDir(), "ferry.db")
	writeV1Database(t, path, testSealer(t))
	if _, _, err := Migrate(t.Context(), path); err == nil {
		t.Fatal("Migrate succeeded with a broken step")
	}
	if v := rawVersion(t, path); v != 1 {
		t.Fatalf("user_version = %d after failed step, want 1", v)
	}
	var n int
	db := rawDB(t, path)
	if err := db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE name = 'message_ids'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("half-applied step left its table behind")
	}
}

// testdata/v2.sql is the frozen text version 2 shipped with.
func TestV2SchemaFrozen(t *testing.T) {
	frozen, err := os.ReadFile("testdata/v2.sql")
	if err != nil {
		t.Fatal(err)
	}
	if string(frozen) != schemaV2 {
		t.Fatal("schema/0002_message_ids.sql differs from testdata/v2.sql; released migrations must not change")
	}
}

// v2Created is the timestamp of every row writeV2Database writes.
var v2Created = time.Date(2024, 7, 8, 9, 10, 11, 12, time.UTC)

// writeV2Database builds the database a version-2 ferry would have left,
// from the frozen schema texts: two accounts (one with sealed secrets), a
// queued stanza and a message id in every table version 2 has.
func writeV2Database(t *testing.T, path string, sealer *Sealer) {
	t.Helper()
	db := rawDB(t, path)
	for _, f := range []string{"testdata/v1.sql", "testdata/v2.sql"} {
		frozen, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(frozen)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	secrets, err := sealer.Seal([]byte(`{"token":"v2-token"}`), secretsAAD("sms.example.org", "alice@example.org"))
	if err != nil {
		t.Fatal(err)
	}
	created := v2Created.UnixNano()
	stmts := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?)`, []any{
			"sms.example.org", "alice@example.org", `{"number":"+15550100"}`, secrets, `{"stay_connected":"true"}`, created, created}},
		{`INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?)`, []any{
			"sms.example.org", "bob@example.org", `{}`, nil, `{}`, created, created}},
		{`INSERT INTO outbox (transport, stanza, created_at) VALUES (?, ?, ?)`, []any{
			"sms.example.org", []byte("<message id='v2'/>"), created}},
		{`INSERT INTO message_ids VALUES (?, ?, ?, ?, ?, ?)`, []any{
			"sms.example.org", "alice@example.org", "SM1", "X1", "+15550199", created}},
		{"PRAGMA user_version = 2", nil},
	}
	for _, st := range stmts {
		if _, err := db.Exec(st.sql, st.args...); err != nil {
			t.Fatalf("%s: %v", st.sql, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestUpgradeFromV2(t *testing.T) {
	tests := []struct {
		name    string
		upgrade func(t *testing.T, path string, sealer *Sealer) *SQLite
	}{
		{"ferry migrate", func(t *testing.T, path string, sealer *Sealer) *SQLite {
			from, to, err := Migrate(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			if from != 2 || to != SchemaVersion {
				t.Fatalf("Migrate = %d -> %d, want 2 -> %d", from, to, SchemaVersion)
			}
			s, err := Open(t.Context(), path, sealer, Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"AutoMigrate", func(t *testing.T, path string, sealer *Sealer) *SQLite {
			s, err := Open(t.Context(), path, sealer, Options{AutoMigrate: true})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "ferry.db")
			sealer := testSealer(t)
			writeV2Database(t, path, sealer)
			if _, err := Open(ctx, path, sealer, Options{}); !errors.Is(err, ErrNeedsMigration) {
				t.Fatalf("Open of a v2 database = %v, want ErrNeedsMigration", err)
			}

			s := tt.upgrade(t, path, sealer)
			defer s.Close()
			if v, err := s.SchemaVersion(ctx); err != nil || v != SchemaVersion {
				t.Fatalf("SchemaVersion = %d, %v", v, err)
			}

			// Every v2 row survived, and old accounts have no binding.
			a, err := s.GetAccount(ctx, "sms.example.org", "alice@example.org")
			if err != nil {
				t.Fatal(err)
			}
			if a.Fields["number"] != "+15550100" || a.Secrets["token"] != "v2-token" ||
				a.Settings["stay_connected"] != "true" || a.Binding != "" ||
				!a.CreatedAt.Equal(v2Created) || !a.UpdatedAt.Equal(v2Created) {
				t.Fatalf("account after upgrade: %+v", a)
			}
			if list, err := s.ListAccounts(ctx, "sms.example.org"); err != nil || len(list) != 2 {
				t.Fatalf("ListAccounts after upgrade = %+v, %v", list, err)
			}
			q, err := s.PendingAfter(ctx, "sms.example.org", 0, 0)
			if err != nil || len(q) != 1 || string(q[0].Stanza) != "<message id='v2'/>" || !q[0].CreatedAt.Equal(v2Created) {
				t.Fatalf("outbox after upgrade: %+v, %v", q, err)
			}
			wantMsg := MessageID{Transport: "sms.example.org", JID: "alice@example.org", LegacyID: "SM1",
				XMPPID: "X1", Peer: "+15550199", CreatedAt: v2Created}
			if m, err := s.MessageByXMPPID(ctx, "sms.example.org", "alice@example.org", "X1"); err != nil || m != wantMsg {
				t.Fatalf("message id after upgrade: %+v, %v", m, err)
			}

			// The new column and tables work with the old rows: bindings
			// are unique, jobs hang off the old account and cascade with it.
			a.Binding = "+15550100"
			if err := s.PutAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
			bob := Account{Transport: "sms.example.org", JID: "bob@example.org", Binding: "+15550100"}
			if err := s.PutAccount(ctx, bob); !errors.Is(err, ErrConflict) {
				t.Fatalf("second account with alice's binding: %v, want ErrConflict", err)
			}
			job := Job{ID: "j1", Transport: a.Transport, JID: a.JID, Kind: "sms-out", State: "pending", Ref: "SM9"}
			if err := s.PutJob(ctx, job); err != nil {
				t.Fatal(err)
			}
			if got, err := s.JobByRef(ctx, a.Transport, "SM9"); err != nil || got.ID != "j1" {
				t.Fatalf("JobByRef after upgrade = %+v, %v", got, err)
			}
			if _, err := s.PutDeadLetter(ctx, DeadLetter{Transport: a.Transport, Reason: "no account", Payload: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteAccount(ctx, a.Transport, a.JID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetJob(ctx, a.Transport, "j1"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("job after account delete: %v, want ErrNotFound", err)
			}
			if _, err := s.MessageByLegacyID(ctx, a.Transport, a.JID, "SM1"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("message id after account delete: %v, want ErrNotFound", err)
			}
			// Dead letters belong to the transport, not to an account.
			if d, err := s.ListDeadLetters(ctx, a.Transport, 0); err != nil || len(d) != 1 {
				t.Fatalf("dead letters after account delete = %+v, %v", d, err)
			}
		})
	}
}

// A step that fails half-way leaves a version-2 database at version 2,
// without the step's column or tables.
func TestFailedV3MigrationRollsBack(t *testing.T) {
	saved := slices.Clone(migrations)
	t.Cleanup(func() { migrations = saved })
	migrations[2] = schemaV3 + "\nSELECT * FROM no_such_table;"

	path := filepath.Join(t.TempDir(), "ferry.db")
	writeV2Database(t, path, testSealer(t))
	if _, _, err := Migrate(t.Context(), path); err == nil {
		t.Fatal("Migrate succeeded with a broken step")
	}
	if v := rawVersion(t, path); v != 2 {
		t.Fatalf("user_version = %d after failed step, want 2", v)
	}
	db := rawDB(t, path)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name IN ('jobs', 'dead_letters', 'accounts_binding')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("half-applied step left its tables behind")
	}
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('accounts') WHERE name = 'binding'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("half-applied step left the binding column behind")
	}
}

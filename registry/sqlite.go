package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Options tunes Open.
type Options struct {
	// AutoMigrate upgrades an older schema on Open instead of returning
	// ErrNeedsMigration.
	AutoMigrate bool
	// SyncFull makes every commit wait for the disk (SQLite synchronous
	// FULL): what was stored survives a power cut. Without it (NORMAL, in
	// WAL mode) a commit survives Ferry crashing or being killed, and the
	// disk is flushed at checkpoints: a power cut may lose the last
	// commits, and each commit costs no disk flush.
	SyncFull bool
}

// SQLite is the Store backed by one SQLite file (modernc, pure Go, so ferry
// builds with CGO_ENABLED=0).
type SQLite struct {
	// SQLite allows one writer at a time. Funnelling all writes through a
	// single connection queues them in Go instead of having connections
	// fight over the file lock, and IMMEDIATE transactions take the lock up
	// front so a transaction never fails half-way with "database is locked".
	w *sql.DB
	// WAL lets readers run alongside the writer, so reads get their own
	// pool and never wait behind a write.
	r       *sql.DB
	stmts   statements   // prepared on w (and the account lookup on r)
	archive archiveReads // prepared on r
	roomIDs sync.Map     // transport NUL room -> archive_rooms.id
	known   knownAccounts
	sealer  *Sealer
	now     func() time.Time // replaceable so tests can control timestamps
	path    string           // the database file, beside which Ping probes the disk
}

var _ Store = (*SQLite)(nil)

// readConns bounds the read pool; each connection carries its own page
// cache, and a gateway's lookups are short.
const readConns = 4

// Open opens (creating if needed) the SQLite database at path and seals
// secrets with sealer. A new, empty file gets the latest schema. A database
// from a newer ferry is refused with an error matching ErrSchemaTooNew; an
// older one yields ErrNeedsMigration unless opts.AutoMigrate is set.
func Open(ctx context.Context, path string, sealer *Sealer, opts Options) (*SQLite, error) {
	if sealer == nil {
		return nil, errors.New("registry: Open needs a Sealer")
	}
	w, err := openWriter(path, opts.SyncFull)
	if err != nil {
		return nil, err
	}
	if err := prepareSchema(ctx, w, opts); err != nil {
		w.Close()
		return nil, err
	}
	// The reader is opened after the writer has put the file in WAL mode,
	// so it never races to change the journal mode itself.
	r, err := openReader(path)
	if err != nil {
		w.Close()
		return nil, err
	}
	stmts, err := prepare(ctx, w, r)
	if err != nil {
		stmts.close()
		r.Close()
		w.Close()
		return nil, err
	}
	reads, err := prepareArchiveReads(ctx, r)
	if err != nil {
		reads.close()
		stmts.close()
		r.Close()
		w.Close()
		return nil, err
	}
	s := &SQLite{w: w, r: r, stmts: stmts, archive: reads, sealer: sealer, now: time.Now, path: path}
	if err := s.known.load(ctx, s); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func prepareSchema(ctx context.Context, w *sql.DB, opts Options) error {
	v, err := checkVersion(ctx, w)
	if err != nil {
		return err
	}
	// Version 0 here means an empty file (checkVersion refused anything
	// else), which is creation, not an upgrade of someone's data.
	if v != 0 && v < SchemaVersion && !opts.AutoMigrate {
		return fmt.Errorf("%w (database is at version %d, this ferry needs %d)", ErrNeedsMigration, v, SchemaVersion)
	}
	if v < SchemaVersion {
		if _, err := migrate(ctx, w); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the reader before the writer so the writer is the last
// connection: SQLite then checkpoints the WAL into the main file.
func (s *SQLite) Close() error {
	return errors.Join(s.archive.close(), s.stmts.close(), s.r.Close(), s.w.Close())
}

// SchemaVersion reports the database's PRAGMA user_version.
func (s *SQLite) SchemaVersion(ctx context.Context) (int, error) {
	return userVersion(ctx, s.r)
}

func openWriter(path string, syncFull bool) (*sql.DB, error) {
	if err := makePrivate(path); err != nil {
		return nil, err
	}
	sync := "synchronous(NORMAL)"
	if syncFull {
		sync = "synchronous(FULL)"
	}
	db, err := openDB(path, url.Values{"_txlock": {"immediate"}, "_pragma": {sync}})
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	// Keep the one connection open for the life of the store instead of
	// reopening (and re-running the pragmas) after idle periods.
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	return db, nil
}

func openReader(path string) (*sql.DB, error) {
	// query_only turns an accidental write on the read pool into an error
	// instead of a second writer competing for the lock.
	db, err := openDB(path, url.Values{"_query_only": {"1"}})
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(readConns)
	db.SetMaxIdleConns(readConns)
	return db, nil
}

func openDB(path string, extra url.Values) (*sql.DB, error) {
	dsn, err := dataSource(path, extra)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("registry: open %s: %w", path, err)
	}
	return db, nil
}

// dataSource builds a file: URI for path. Escaping the path through
// net/url keeps characters such as '?', '#' or '%' in a directory name from
// being read as the start of the query or as escapes.
func dataSource(path string, extra url.Values) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("registry: database path %s: %w", path, err)
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows drive paths: file:///C:/...
	}
	q := url.Values{
		// WAL: readers do not block the writer and vice versa.
		// busy_timeout: wait for another process (e.g. `ferry migrate`)
		// instead of failing at once. foreign_keys is per connection and
		// off by default; cascades depend on it.
		"_pragma": {"journal_mode(WAL)", "busy_timeout(5000)", "foreign_keys(1)"},
	}
	for k, v := range extra {
		q[k] = append(q[k], v...)
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String(), nil
}

// writeTx runs fn in an IMMEDIATE transaction on the writer.
func (s *SQLite) writeTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("registry: begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("registry: commit: %w", err)
	}
	return nil
}

// Times are stored as Unix nanoseconds; reading them back in UTC gives
// callers one canonical representation.
func dbTime(t time.Time) int64 { return t.UnixNano() }

func goTime(n int64) time.Time { return time.Unix(0, n).UTC() }

// sqliteCode returns the extended SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isUniqueViolation(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isForeignKeyViolation(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// countSealed counts the accounts whose secrets are sealed in the
// database at path, without a key; a database that does not exist yet
// (or has no accounts table) holds none.
func countSealed(ctx context.Context, path string) (int, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	db, err := openDB(path, url.Values{"mode": {"ro"}})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var tables int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'accounts'").Scan(&tables); err != nil {
		return 0, fmt.Errorf("registry: reading %s: %w", path, err)
	}
	if tables == 0 {
		return 0, nil
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM accounts WHERE secrets IS NOT NULL").Scan(&n); err != nil {
		return 0, fmt.Errorf("registry: reading %s: %w", path, err)
	}
	return n, nil
}

// ForgetSecrets deletes every stored secret (for a lost key file): the
// accounts stay, and their users are asked for their passwords again. It
// returns how many accounts had secrets.
func ForgetSecrets(ctx context.Context, path string) (int, error) {
	db, err := openWriter(path, true)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	res, err := db.ExecContext(ctx, "UPDATE accounts SET secrets = NULL WHERE secrets IS NOT NULL")
	if err != nil {
		return 0, fmt.Errorf("registry: forgetting secrets in %s: %w", path, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

package registry

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"os"
)

// Each schema version is one embedded SQL file, so the DDL can be read and
// reviewed as SQL rather than as Go string literals.
var (
	//go:embed schema/0001_accounts_outbox.sql
	schemaV1 string
	//go:embed schema/0002_message_ids.sql
	schemaV2 string
	//go:embed schema/0003_bindings_jobs.sql
	schemaV3 string
	//go:embed schema/0004_archive.sql
	schemaV4 string
	//go:embed schema/0005_notices_seen.sql
	schemaV5 string
	//go:embed schema/0006_address_settings.sql
	schemaV6 string
	//go:embed schema/0007_room_seats.sql
	schemaV7 string
	//go:embed schema/0008_room_retention.sql
	schemaV8 string
)

// migrations[i] upgrades a database from version i to i+1. The slice is
// append-only: released steps have already run on users' databases, so
// editing one would leave those databases different from fresh ones.
var migrations = []string{
	schemaV1,
	schemaV2,
	schemaV3,
	schemaV4,
	schemaV5,
	schemaV6,
	schemaV7,
	schemaV8,
}

// SchemaVersion is the newest schema this ferry knows; PRAGMA user_version
// of an up-to-date database equals it.
const SchemaVersion = 8

// ErrNeedsMigration is returned by Open for a database whose schema is
// older than SchemaVersion when Options.AutoMigrate is off. Upgrading is
// then an explicit operator step (`ferry migrate`), which leaves room for a
// backup first.
var ErrNeedsMigration = errors.New("registry: database schema is older than this ferry; run `ferry migrate`")

// ErrSchemaTooNew is matched (errors.Is) by the error returned for a
// database written by a newer ferry. Such a database is never touched: an
// older binary cannot know what the newer columns mean.
var ErrSchemaTooNew = errors.New("registry: database schema is newer than this ferry")

type tooNewError struct{ have int }

func (e tooNewError) Error() string {
	return fmt.Sprintf("registry: database schema version %d is newer than this ferry supports (%d); upgrade ferry", e.have, SchemaVersion)
}

func (e tooNewError) Is(target error) bool { return target == ErrSchemaTooNew }

// Migrate upgrades the database at path to SchemaVersion and reports the
// versions before and after. It refuses a path that does not exist, so a
// typo does not create an empty database, and needs no Sealer because
// migrations never read secrets.
func Migrate(ctx context.Context, path string) (from, to int, err error) {
	if _, err := os.Stat(path); err != nil {
		return 0, 0, fmt.Errorf("registry: migrate: %w", err)
	}
	db, err := openWriter(path, true)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("registry: %w", cerr)
		}
	}()
	from, err = checkVersion(ctx, db)
	if err != nil {
		return from, from, err
	}
	to, err = migrate(ctx, db)
	return from, to, err
}

// checkVersion returns the database's schema version after ruling out the
// two cases no migration may touch: a newer ferry's database, and a file
// that holds some other program's tables.
func checkVersion(ctx context.Context, db *sql.DB) (int, error) {
	v, err := userVersion(ctx, db)
	if err != nil {
		return 0, err
	}
	if v > SchemaVersion {
		return v, tooNewError{have: v}
	}
	if v == 0 {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
			return 0, fmt.Errorf("registry: read schema: %w", err)
		}
		if n > 0 {
			return 0, errors.New("registry: database has tables but no ferry schema version; refusing to modify it")
		}
	}
	return v, nil
}

// migrate applies the missing steps one transaction each, so a failure
// leaves the database at the last complete version rather than half-way.
func migrate(ctx context.Context, db *sql.DB) (int, error) {
	for {
		v, done, err := migrateStep(ctx, db)
		if err != nil || done {
			return v, err
		}
	}
}

func migrateStep(ctx context.Context, db *sql.DB) (version int, done bool, err error) {
	// The writer handle begins IMMEDIATE transactions, so the version read
	// below cannot change before commit: a second process migrating at the
	// same time waits, then sees the new version and skips the step.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, fmt.Errorf("registry: migrate: %w", err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, false, fmt.Errorf("registry: migrate: read version: %w", err)
	}
	if v > SchemaVersion {
		return v, false, tooNewError{have: v}
	}
	if v == SchemaVersion {
		return v, true, nil
	}
	if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
		return v, false, fmt.Errorf("registry: migrate to version %d: %w", v+1, err)
	}
	// PRAGMA takes no bind parameters; v+1 is an int we computed.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
		return v, false, fmt.Errorf("registry: migrate to version %d: %w", v+1, err)
	}
	if err := tx.Commit(); err != nil {
		return v, false, fmt.Errorf("registry: migrate to version %d: %w", v+1, err)
	}
	return v + 1, v+1 == SchemaVersion, nil
}

func userVersion(ctx context.Context, db *sql.DB) (int, error) {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("registry: read schema version: %w", err)
	}
	return v, nil
}

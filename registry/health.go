package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
)

// probeSize is what Ping writes beside the database to see that the disk
// takes new data: about one stored message with its index entries.
const probeSize = 64 << 10

var probeData = make([]byte, probeSize)

// Ping implements Store. Answering a read is not enough: with the disk
// full SQLite still reads, and even commits small writes into WAL space
// it reuses, while the next message it is given fails. So Ping also
// commits a write transaction (the schema version written back) and
// writes probeSize bytes of new data to a scratch file beside the
// database, removed at once.
func (s *SQLite) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("registry: read: %w", err)
	}
	if err := s.probeWrite(ctx); err != nil {
		return err
	}
	return s.probeDisk()
}

// probeWrite commits a transaction that changes nothing yet goes through
// the WAL like any write: the schema version, read and written back under
// the write lock (so a concurrent `ferry migrate` is never undone).
func (s *SQLite) probeWrite(ctx context.Context) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var v int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v))
		return err
	})
	if err != nil {
		return fmt.Errorf("registry: write: %w", err)
	}
	return nil
}

// probeDisk writes probeSize bytes to a scratch file beside the database:
// the file system must take new data, not only rewrite what SQLite has.
func (s *SQLite) probeDisk() error {
	name := s.path + "-probe"
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("registry: disk: %w", err)
	}
	_, werr := f.Write(probeData)
	err = errors.Join(werr, f.Close(), os.Remove(name))
	if err != nil {
		return fmt.Errorf("registry: disk: %w", err)
	}
	return nil
}

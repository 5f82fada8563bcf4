package registry

import (
	"context"
	"database/sql"
	"fmt"
)

// MarkSeen implements Store.
func (s *SQLite) MarkSeen(ctx context.Context, transport, jid, notice string) (bool, error) {
	first := false
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			"INSERT INTO notices_seen (transport, jid, notice, seen_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
			transport, jid, notice, dbBound(s.now()))
		switch {
		case isForeignKeyViolation(err):
			return fmt.Errorf("%w: no account %s on %s", ErrNotFound, jid, transport)
		case err != nil:
			return fmt.Errorf("registry: mark %q seen by %s on %s: %w", notice, jid, transport, err)
		}
		n, err := res.RowsAffected()
		first = err == nil && n == 1
		return err
	})
	return first, err
}

package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Enqueue implements Store.
func (s *SQLite) Enqueue(ctx context.Context, transport string, stanza []byte) (int64, error) {
	if transport == "" {
		return 0, errors.New("registry: enqueue needs a transport")
	}
	if len(stanza) == 0 {
		return 0, errors.New("registry: enqueue of an empty stanza")
	}
	var id int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			"INSERT INTO outbox (transport, stanza, created_at) VALUES (?, ?, ?)",
			transport, stanza, dbTime(s.now()))
		if err != nil {
			return fmt.Errorf("registry: enqueue on %s: %w", transport, err)
		}
		id, err = res.LastInsertId()
		if err != nil {
			return fmt.Errorf("registry: enqueue on %s: %w", transport, err)
		}
		return nil
	})
	return id, err
}

// EnqueueMessage implements Store.
func (s *SQLite) EnqueueMessage(ctx context.Context, transport string, stanza []byte, m MessageID) (id int64, dup bool, err error) {
	if transport == "" || len(stanza) == 0 {
		return 0, false, errors.New("registry: enqueue needs a transport and a stanza")
	}
	if m.LegacyID == "" || m.XMPPID == "" {
		return 0, false, errors.New("registry: message id mapping needs a legacy id and an XMPP id")
	}
	now := s.now()
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM message_ids WHERE transport = ? AND jid = ? AND legacy_id = ?",
			m.Transport, m.JID, m.LegacyID).Scan(&n); err != nil {
			return fmt.Errorf("registry: enqueue message: %w", err)
		}
		if n > 0 {
			dup = true
			return nil
		}
		_, err := tx.ExecContext(ctx,
			"INSERT INTO message_ids (transport, jid, legacy_id, xmpp_id, peer, created_at) VALUES (?, ?, ?, ?, ?, ?)",
			m.Transport, m.JID, m.LegacyID, m.XMPPID, m.Peer, dbTime(now))
		switch {
		case isForeignKeyViolation(err):
			return fmt.Errorf("%w: no account %s on %s", ErrNotFound, m.JID, m.Transport)
		case isUniqueViolation(err):
			return fmt.Errorf("%w: XMPP id %q of %s is mapped to another legacy message", ErrConflict, m.XMPPID, m.JID)
		case err != nil:
			return fmt.Errorf("registry: enqueue message: %w", err)
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO outbox (transport, stanza, created_at) VALUES (?, ?, ?)",
			transport, stanza, dbTime(now))
		if err != nil {
			return fmt.Errorf("registry: enqueue on %s: %w", transport, err)
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, false, err
	}
	return id, dup, nil
}

// Pending implements Store. Ids grow with every Enqueue (AUTOINCREMENT), so
// id order is FIFO order.
func (s *SQLite) Pending(ctx context.Context, transport string, limit int) ([]Outbound, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.r.QueryContext(ctx,
		"SELECT id, transport, stanza, created_at FROM outbox WHERE transport = ? ORDER BY id LIMIT ?",
		transport, limit)
	if err != nil {
		return nil, fmt.Errorf("registry: outbox of %s: %w", transport, err)
	}
	defer rows.Close()
	var out []Outbound
	for rows.Next() {
		var (
			o       Outbound
			created int64
		)
		if err := rows.Scan(&o.ID, &o.Transport, &o.Stanza, &created); err != nil {
			return nil, fmt.Errorf("registry: outbox of %s: %w", transport, err)
		}
		o.CreatedAt = goTime(created)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: outbox of %s: %w", transport, err)
	}
	return out, nil
}

// Ack implements Store. Deleting a missing id succeeds: after a crash
// between send and Ack the stanza is resent and acked again, and that must
// not stop the flush.
func (s *SQLite) Ack(ctx context.Context, id int64) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM outbox WHERE id = ?", id); err != nil {
			return fmt.Errorf("registry: ack %d: %w", id, err)
		}
		return nil
	})
}

// PendingCount implements Store.
func (s *SQLite) PendingCount(ctx context.Context, transport string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM outbox WHERE transport = ?", transport).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("registry: outbox size of %s: %w", transport, err)
	}
	return n, nil
}

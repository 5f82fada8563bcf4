package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// PutMessageID implements Store. A repeated legacy id updates the mapping
// but keeps the first created_at, which records when the message was first
// seen.
func (s *SQLite) PutMessageID(ctx context.Context, m MessageID) error {
	if m.LegacyID == "" || m.XMPPID == "" {
		return errors.New("registry: message id mapping needs a legacy id and an XMPP id")
	}
	created := m.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
INSERT INTO message_ids (transport, jid, legacy_id, xmpp_id, peer, created_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (transport, jid, legacy_id) DO UPDATE SET
	xmpp_id = excluded.xmpp_id,
	peer = excluded.peer`,
			m.Transport, m.JID, m.LegacyID, m.XMPPID, m.Peer, dbTime(created))
		switch {
		case err == nil:
			return nil
		case isForeignKeyViolation(err):
			// Mappings only exist under an account; a missing parent means
			// the user unregistered meanwhile.
			return fmt.Errorf("%w: no account %s on %s", ErrNotFound, m.JID, m.Transport)
		case isUniqueViolation(err):
			return fmt.Errorf("%w: XMPP id %q of %s is mapped to another legacy message", ErrConflict, m.XMPPID, m.JID)
		default:
			return fmt.Errorf("registry: put message id: %w", err)
		}
	})
}

// MessageByLegacyID implements Store.
func (s *SQLite) MessageByLegacyID(ctx context.Context, transport, jid, legacyID string) (MessageID, error) {
	return s.messageBy(ctx, "legacy_id", transport, jid, legacyID)
}

// MessageByXMPPID implements Store.
func (s *SQLite) MessageByXMPPID(ctx context.Context, transport, jid, xmppID string) (MessageID, error) {
	return s.messageBy(ctx, "xmpp_id", transport, jid, xmppID)
}

// messageBy looks a mapping up by one of its two keys. column is one of
// two constants above, never caller input.
func (s *SQLite) messageBy(ctx context.Context, column, transport, jid, id string) (MessageID, error) {
	var (
		m       MessageID
		created int64
	)
	err := s.r.QueryRowContext(ctx,
		"SELECT transport, jid, legacy_id, xmpp_id, peer, created_at FROM message_ids WHERE transport = ? AND jid = ? AND "+column+" = ?",
		transport, jid, id).Scan(&m.Transport, &m.JID, &m.LegacyID, &m.XMPPID, &m.Peer, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return MessageID{}, ErrNotFound
	}
	if err != nil {
		return MessageID{}, fmt.Errorf("registry: message by %s: %w", column, err)
	}
	m.CreatedAt = goTime(created)
	return m, nil
}

// Peers implements Store.
func (s *SQLite) Peers(ctx context.Context, transport, jid string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx,
		"SELECT DISTINCT peer FROM message_ids WHERE transport = ? AND jid = ? AND peer <> '' ORDER BY peer", transport, jid)
	if err != nil {
		return nil, fmt.Errorf("registry: peers of %s: %w", jid, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("registry: peers of %s: %w", jid, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

const qListDeadLetters = "SELECT id, transport, reason, payload, created_at FROM dead_letters WHERE transport = ? " +
	"ORDER BY created_at DESC, id DESC LIMIT ?"

// PutDeadLetter implements Store. d.ID is ignored; the new row's id is
// returned.
func (s *SQLite) PutDeadLetter(ctx context.Context, d DeadLetter) (int64, error) {
	if d.Transport == "" {
		return 0, errors.New("registry: dead letter needs a transport")
	}
	created := d.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	var id int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			"INSERT INTO dead_letters (transport, reason, payload, created_at) VALUES (?, ?, ?, ?)",
			d.Transport, d.Reason, blob(d.Payload), dbBound(created))
		if err != nil {
			return fmt.Errorf("registry: put dead letter on %s: %w", d.Transport, err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("registry: put dead letter on %s: %w", d.Transport, err)
		}
		return nil
	})
	return id, err
}

// ListDeadLetters implements Store. Ties in CreatedAt go to the later
// insert.
func (s *SQLite) ListDeadLetters(ctx context.Context, transport string, limit int) ([]DeadLetter, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.r.QueryContext(ctx, qListDeadLetters, transport, limit)
	if err != nil {
		return nil, fmt.Errorf("registry: dead letters of %s: %w", transport, err)
	}
	defer rows.Close()
	var out []DeadLetter
	for rows.Next() {
		var (
			d       DeadLetter
			created int64
		)
		if err := rows.Scan(&d.ID, &d.Transport, &d.Reason, &d.Payload, &created); err != nil {
			return nil, fmt.Errorf("registry: dead letters of %s: %w", transport, err)
		}
		d.CreatedAt = goTime(created)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: dead letters of %s: %w", transport, err)
	}
	return out, nil
}

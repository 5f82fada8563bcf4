package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Outbox statements, prepared once on the writer connection: the
// component commits stanzas in groups, many times a second.
const (
	sqlInsertOutbox = "INSERT INTO outbox (transport, stanza, created_at) VALUES (?, ?, ?)"
	// A legacy id seen before inserts nothing (a replay); another unique
	// clash (the XMPP id) is an error.
	sqlInsertMapping = `INSERT INTO message_ids (transport, jid, legacy_id, xmpp_id, peer, created_at)
VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (transport, jid, legacy_id) DO NOTHING`
)

// EnqueueBatch implements Store.
func (s *SQLite) EnqueueBatch(ctx context.Context, transport string, entries []OutboxEntry) ([]OutboxResult, error) {
	if transport == "" {
		return nil, errors.New("registry: enqueue needs a transport")
	}
	results := make([]OutboxResult, len(entries))
	now := dbTime(s.now())
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		// The statements of a batch are short; a context that cannot be
		// cancelled spares the driver a watcher goroutine per statement
		// (ctx still bounds the wait for the transaction).
		ctx := context.WithoutCancel(ctx)
		insOutbox := tx.StmtContext(ctx, s.stmts.insertOutbox)
		insMapping := tx.StmtContext(ctx, s.stmts.insertMapping)
		for i, e := range entries {
			if err := validEntry(e); err != nil {
				results[i].Err = err
				continue
			}
			if m := e.Mapping; m != nil {
				dup, err := insertMapping(ctx, insMapping, m, now)
				if err != nil || dup {
					results[i] = OutboxResult{Dup: dup, Err: err}
					continue
				}
			}
			res, err := insOutbox.ExecContext(ctx, transport, e.Stanza, now)
			if err != nil {
				return fmt.Errorf("registry: enqueue on %s: %w", transport, err)
			}
			if results[i].ID, err = res.LastInsertId(); err != nil {
				return fmt.Errorf("registry: enqueue on %s: %w", transport, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

func validEntry(e OutboxEntry) error {
	if len(e.Stanza) == 0 {
		return errors.New("registry: enqueue of an empty stanza")
	}
	if m := e.Mapping; m != nil && (m.LegacyID == "" || m.XMPPID == "") {
		return errors.New("registry: message id mapping needs a legacy id and an XMPP id")
	}
	return nil
}

// insertMapping stores m; dup is true when its legacy id was mapped
// before. A failed statement leaves the transaction usable (SQLite rolls
// back the statement only), so one bad entry does not sink the batch.
func insertMapping(ctx context.Context, stmt *sql.Stmt, m *MessageID, now int64) (dup bool, err error) {
	res, err := stmt.ExecContext(ctx, m.Transport, m.JID, m.LegacyID, m.XMPPID, m.Peer, now)
	switch {
	case isForeignKeyViolation(err):
		return false, fmt.Errorf("%w: no account %s on %s", ErrNotFound, m.JID, m.Transport)
	case isUniqueViolation(err):
		return false, fmt.Errorf("%w: XMPP id %q of %s is mapped to another legacy message", ErrConflict, m.XMPPID, m.JID)
	case err != nil:
		return false, fmt.Errorf("registry: enqueue message: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("registry: enqueue message: %w", err)
	}
	return n == 0, nil
}

// PendingAfter implements Store. Ids grow with every insert
// (AUTOINCREMENT), so id order is FIFO order.
func (s *SQLite) PendingAfter(ctx context.Context, transport string, after int64, limit int) ([]Outbound, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.r.QueryContext(ctx,
		"SELECT id, transport, stanza, created_at FROM outbox WHERE transport = ? AND id > ? ORDER BY id LIMIT ?",
		transport, after, limit)
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

// AckThrough implements Store.
func (s *SQLite) AckThrough(ctx context.Context, transport string, id int64) (int, error) {
	var n int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		ctx := context.WithoutCancel(ctx)
		res, err := tx.StmtContext(ctx, s.stmts.ackThrough).ExecContext(ctx, transport, id)
		if err != nil {
			return fmt.Errorf("registry: ack %s through %d: %w", transport, id, err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
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

// statements are the prepared statements of the busiest paths: the
// writer's outbox work, and the reader's account lookup (every user's
// first event, strangers included).
type statements struct {
	insertOutbox, insertMapping, ackThrough          *sql.Stmt // on the writer
	insertRoom, insertEntry, openPeriod, closePeriod *sql.Stmt // on the writer
	getAccount                                       *sql.Stmt // on the readers
}

func prepare(ctx context.Context, w, r *sql.DB) (statements, error) {
	var st statements
	var err error
	for _, p := range []struct {
		dst **sql.Stmt
		db  *sql.DB
		sql string
	}{
		{&st.insertOutbox, w, sqlInsertOutbox},
		{&st.insertMapping, w, sqlInsertMapping},
		{&st.ackThrough, w, "DELETE FROM outbox WHERE transport = ? AND id <= ?"},
		{&st.insertRoom, w, sqlInsertRoom},
		{&st.insertEntry, w, sqlInsertEntry},
		{&st.openPeriod, w, sqlOpenPeriod},
		{&st.closePeriod, w, sqlClosePeriod},
		{&st.getAccount, r, sqlGetAccount},
	} {
		if *p.dst, err = p.db.PrepareContext(ctx, p.sql); err != nil {
			return st, fmt.Errorf("registry: prepare %q: %w", p.sql, err)
		}
	}
	return st, nil
}

func (st statements) close() error {
	var errs []error
	for _, s := range []*sql.Stmt{st.insertOutbox, st.insertMapping, st.ackThrough, st.insertRoom, st.insertEntry, st.openPeriod, st.closePeriod, st.getAccount} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

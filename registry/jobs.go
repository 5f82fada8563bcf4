package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

const jobColumns = "transport, id, jid, kind, payload, state, attempts, next_at, ref, last_error, created_at, updated_at"

// The read and delete statements are named so a test can check that each
// one is answered from an index (see TestJobQueriesUseIndexes).
const (
	qGetJob = "SELECT " + jobColumns + " FROM jobs WHERE transport = ? AND id = ?"
	// ref <> '' repeats the condition of the partial index jobs_ref, which
	// SQLite only uses when the query implies it.
	qJobByRef = "SELECT " + jobColumns + " FROM jobs WHERE transport = ? AND ref = ? AND ref <> '' " +
		"ORDER BY created_at DESC, id DESC LIMIT 1"
	qDueJobs = "SELECT " + jobColumns + " FROM jobs WHERE transport = ? AND kind = ? AND state = ? AND next_at <= ? " +
		"ORDER BY next_at, created_at, id LIMIT ?"
	qCountJobs        = "SELECT count(*) FROM jobs WHERE transport = ? AND jid = ? AND kind = ? AND created_at >= ?"
	qCountJobsByState = "SELECT count(*) FROM jobs WHERE transport = ? AND kind = ? AND state = ?"
	qDeleteJobsBefore = "DELETE FROM jobs WHERE transport = ? AND state = ? AND updated_at < ?"
	qUpdateJob        = `UPDATE jobs SET payload = ?, state = ?, attempts = ?, next_at = ?, ref = ?, last_error = ?, updated_at = ?
WHERE transport = ? AND id = ?`
)

// PutJob implements Store.
func (s *SQLite) PutJob(ctx context.Context, j Job) error {
	if j.Transport == "" || j.ID == "" || j.JID == "" {
		return errors.New("registry: job needs a transport, an id and a JID")
	}
	if j.Kind == "" || j.State == "" {
		return errors.New("registry: job needs a kind and a state")
	}
	now := s.now()
	created := j.CreatedAt
	if created.IsZero() {
		created = now
	}
	next := j.NextAt
	if next.IsZero() {
		next = now
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			"INSERT INTO jobs ("+jobColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			j.Transport, j.ID, j.JID, j.Kind, blob(j.Payload), j.State, j.Attempts,
			dbBound(next), j.Ref, j.LastError, dbBound(created), dbBound(now))
		switch {
		case err == nil:
			return nil
		case isUniqueViolation(err):
			// The primary key is the only unique key of jobs.
			return fmt.Errorf("%w: job %q already exists on %s", ErrConflict, j.ID, j.Transport)
		case isForeignKeyViolation(err):
			return fmt.Errorf("%w: no account %s on %s", ErrNotFound, j.JID, j.Transport)
		default:
			return fmt.Errorf("registry: put job %q on %s: %w", j.ID, j.Transport, err)
		}
	})
}

// UpdateJob implements Store.
func (s *SQLite) UpdateJob(ctx context.Context, j Job) error {
	if j.State == "" {
		return errors.New("registry: job needs a state")
	}
	now := s.now()
	next := j.NextAt
	if next.IsZero() {
		next = now
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qUpdateJob,
			blob(j.Payload), j.State, j.Attempts, dbBound(next), j.Ref, j.LastError, dbBound(now),
			j.Transport, j.ID)
		if err != nil {
			return fmt.Errorf("registry: update job %q on %s: %w", j.ID, j.Transport, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("registry: update job %q on %s: %w", j.ID, j.Transport, err)
		}
		if n == 0 {
			return fmt.Errorf("%w: job %q on %s", ErrNotFound, j.ID, j.Transport)
		}
		return nil
	})
}

// GetJob implements Store.
func (s *SQLite) GetJob(ctx context.Context, transport, id string) (Job, error) {
	j, err := scanJob(s.r.QueryRowContext(ctx, qGetJob, transport, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, ErrNotFound
	}
	return j, err
}

// DeleteJob implements Store.
func (s *SQLite) DeleteJob(ctx context.Context, transport, id string) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM jobs WHERE transport = ? AND id = ?", transport, id)
		if err != nil {
			return fmt.Errorf("registry: delete job %s on %s: %w", id, transport, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// JobByRef implements Store.
func (s *SQLite) JobByRef(ctx context.Context, transport, ref string) (Job, error) {
	if ref == "" {
		// "" is how a job says it has no reference, not a reference.
		return Job{}, ErrNotFound
	}
	j, err := scanJob(s.r.QueryRowContext(ctx, qJobByRef, transport, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, ErrNotFound
	}
	return j, err
}

// DueJobs implements Store.
func (s *SQLite) DueJobs(ctx context.Context, transport, kind, state string, now time.Time, limit int) ([]Job, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.r.QueryContext(ctx, qDueJobs, transport, kind, state, dbBound(now), limit)
	if err != nil {
		return nil, fmt.Errorf("registry: due jobs on %s: %w", transport, err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: due jobs on %s: %w", transport, err)
	}
	return out, nil
}

// CountJobs implements Store.
func (s *SQLite) CountJobs(ctx context.Context, transport, jid, kind string, since time.Time) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, qCountJobs, transport, jid, kind, dbBound(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("registry: count jobs of %s on %s: %w", jid, transport, err)
	}
	return n, nil
}

// CountJobsByState implements Store.
func (s *SQLite) CountJobsByState(ctx context.Context, transport, kind, state string) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, qCountJobsByState, transport, kind, state).Scan(&n); err != nil {
		return 0, fmt.Errorf("registry: count %s jobs on %s: %w", state, transport, err)
	}
	return n, nil
}

// DeleteJobsBefore implements Store.
func (s *SQLite) DeleteJobsBefore(ctx context.Context, transport, state string, before time.Time) (int, error) {
	var n int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qDeleteJobsBefore, transport, state, dbBound(before))
		if err != nil {
			return fmt.Errorf("registry: delete %s jobs on %s: %w", state, transport, err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return fmt.Errorf("registry: delete %s jobs on %s: %w", state, transport, err)
		}
		return nil
	})
	return int(n), err
}

func scanJob(sc scanner) (Job, error) {
	var (
		j                      Job
		next, created, updated int64
	)
	err := sc.Scan(&j.Transport, &j.ID, &j.JID, &j.Kind, &j.Payload, &j.State, &j.Attempts,
		&next, &j.Ref, &j.LastError, &created, &updated)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Job{}, err
		}
		return Job{}, fmt.Errorf("registry: read job: %w", err)
	}
	j.NextAt, j.CreatedAt, j.UpdatedAt = goTime(next), goTime(created), goTime(updated)
	return j, nil
}

// blob makes a nil payload an empty one, so a NOT NULL BLOB column accepts
// it.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Unix nanoseconds cover the years 1677 to 2262. time.UnixNano is undefined
// outside that range (the zero time.Time among others), so times given as
// bounds or due dates are clamped to it: a zero "since" then means "from
// the beginning" instead of an arbitrary overflowed value.
var (
	minDBTime = time.Unix(0, math.MinInt64)
	maxDBTime = time.Unix(0, math.MaxInt64)
)

func dbBound(t time.Time) int64 {
	switch {
	case t.Before(minDBTime):
		return math.MinInt64
	case t.After(maxDBTime):
		return math.MaxInt64
	}
	return dbTime(t)
}

package registry

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Room history: what was said in a room is stored once per transport and
// room, however many users heard it, and each user may read what was said
// while they were in the room through Ferry (their membership periods).

// ErrNoAccess is returned by QueryArchive for a user who was never in the
// room through Ferry: there is nothing they may read.
var ErrNoAccess = errors.New("registry: never in the room")

// ArchiveWrite is one change to room history: a message (ID set) or the
// start or end of a user's membership (JID set).
type ArchiveWrite struct {
	Room string    // the room's local part, as the component addresses it
	At   time.Time // when it was said, or when the user joined or left
	// A message (or, with Subject, a change of subject to Body):
	ID, Nick, Body string
	Subject        bool
	// A membership change:
	JID    string
	Joined bool // true: the user is in the room from At; false: no longer
	// Seat, set alone, records where a user sits in Room (seats.go).
	Seat *RoomSeat
}

// ArchivedMessage is a message read back from room history.
type ArchivedMessage struct {
	ID         string
	At         time.Time
	Nick, Body string
	Subject    bool // Body is the subject Nick set
	seq        int64
}

// ArchiveQuery selects what one user may read of a room's history. Pages
// are in the order messages arrived.
type ArchiveQuery struct {
	Room, JID  string
	Start, End time.Time // zero: unbounded; both inclusive
	With       string    // only this nick; "" = everyone
	// AfterID and BeforeID exclude everything up to (from) that message;
	// unknown ids are ErrNotFound.
	AfterID, BeforeID string
	// IDs, when set, selects these messages (those the user may read)
	// instead of a page.
	IDs []string
	Max int // messages per page, at least 1
	// NoSubjects leaves subject changes out (history on join).
	NoSubjects bool
	// Last makes the page end at BeforeID (or the newest message) instead
	// of starting after AfterID (or at the oldest): paging backwards.
	Last bool
	// Public lets the user read the room's whole history, whatever their
	// memberships: the operator opened the room's network to every
	// registered user (public history). A room with no history yet then
	// reads as empty rather than ErrNoAccess.
	Public bool
}

// ArchivePage is a page of history; Complete says nothing matching lies
// beyond it in the direction of paging.
type ArchivePage struct {
	Messages []ArchivedMessage
	Complete bool
}

const (
	sqlRoomID      = "SELECT id FROM archive_rooms WHERE transport = ? AND room = ?"
	sqlInsertRoom  = "INSERT INTO archive_rooms (transport, room) VALUES (?, ?) ON CONFLICT DO NOTHING"
	sqlInsertEntry = "INSERT INTO archive (room, id, at, nick, body, subject) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (room, id) DO NOTHING"
	sqlOpenPeriod  = `INSERT INTO archive_periods (room, jid, start_at) SELECT ?1, ?2, ?3
WHERE NOT EXISTS (SELECT 1 FROM archive_periods WHERE room = ?1 AND jid = ?2 AND end_at IS NULL)
ON CONFLICT DO NOTHING`
	sqlClosePeriod = "UPDATE archive_periods SET end_at = max(?3, start_at) WHERE room = ?1 AND jid = ?2 AND end_at IS NULL"
	sqlPeriods     = "SELECT start_at, end_at FROM archive_periods WHERE room = ? AND jid = ? ORDER BY start_at"
	sqlEntryByID   = "SELECT seq, at FROM archive WHERE room = ? AND id = ?"
	archiveColumns = "SELECT seq, id, at, nick, body, subject FROM archive WHERE room = ?1"
	// A page: rows of one membership period in (at, seq) order from a
	// cursor. at never decreases with seq within a room, so the index
	// range on at starts at the cursor and the seq test skips only the
	// rows that share its time.
	sqlPageForward = archiveColumns + ` AND at >= ?2 AND at < ?3 AND (at > ?4 OR seq > ?5) AND (?6 = '' OR nick = ?6)
AND (?8 = 0 OR subject = 0) ORDER BY at, seq LIMIT ?7`
	sqlPageBackward = archiveColumns + ` AND at >= ?2 AND at < ?3 AND (at < ?4 OR seq < ?5) AND (?6 = '' OR nick = ?6)
AND (?8 = 0 OR subject = 0) ORDER BY at DESC, seq DESC LIMIT ?7`
)

// archiveReads are the history queries, prepared on the read pool.
type archiveReads struct {
	roomID, periods, entryByID, forward, backward *sql.Stmt
}

func prepareArchiveReads(ctx context.Context, r *sql.DB) (archiveReads, error) {
	var st archiveReads
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&st.roomID, sqlRoomID}, {&st.periods, sqlPeriods}, {&st.entryByID, sqlEntryByID},
		{&st.forward, sqlPageForward}, {&st.backward, sqlPageBackward},
	} {
		var err error
		if *p.dst, err = r.PrepareContext(ctx, p.sql); err != nil {
			return st, fmt.Errorf("registry: prepare %q: %w", p.sql, err)
		}
	}
	return st, nil
}

func (st archiveReads) close() error {
	var errs []error
	for _, s := range []*sql.Stmt{st.roomID, st.periods, st.entryByID, st.forward, st.backward} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

// roomKey folds a room's address: IRC channels and servers are
// case-insensitive, and users write them either way.
func roomKey(room string) string { return strings.ToLower(room) }

// ArchiveBatch stores messages and membership changes in one transaction,
// in order. A message whose id the room has stored already is skipped (a
// network replaying what it sent). A user joining while still in the room
// changes nothing, nor does one leaving a room they are not in.
func (s *SQLite) ArchiveBatch(ctx context.Context, transport string, writes []ArchiveWrite) error {
	if transport == "" {
		return errors.New("registry: archive needs a transport")
	}
	for _, w := range writes {
		if w.Room == "" || kinds(w) != 1 {
			return fmt.Errorf("registry: archive write for room %q is not one message, one membership change or one seat", w.Room)
		}
	}
	fresh := map[string]int64{}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		ctx := context.WithoutCancel(ctx) // see EnqueueBatch
		insert := tx.StmtContext(ctx, s.stmts.insertEntry)
		open := tx.StmtContext(ctx, s.stmts.openPeriod)
		closeP := tx.StmtContext(ctx, s.stmts.closePeriod)
		for _, w := range writes {
			if w.Seat != nil {
				if err := putSeat(ctx, tx, transport, w.Room, *w.Seat); err != nil {
					return err
				}
				continue
			}
			room, err := s.archiveRoom(ctx, tx, transport, w.Room, fresh)
			if err != nil {
				return err
			}
			at := dbTime(w.At)
			switch {
			case w.ID != "":
				_, err = insert.ExecContext(ctx, room, w.ID, at, w.Nick, w.Body, w.Subject)
			case w.Joined:
				_, err = open.ExecContext(ctx, room, w.JID, at)
			default:
				_, err = closeP.ExecContext(ctx, room, w.JID, at)
			}
			if err != nil {
				return fmt.Errorf("registry: archive in %s on %s: %w", w.Room, transport, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for key, id := range fresh {
		s.roomIDs.Store(key, id)
	}
	return nil
}

// archiveRoom returns the room's id, creating the room within tx. Ids of
// committed rooms are remembered (rooms are never renumbered); fresh holds
// those made in this transaction until it commits, as a rolled-back id
// may go to another room.
func (s *SQLite) archiveRoom(ctx context.Context, tx *sql.Tx, transport, room string, fresh map[string]int64) (int64, error) {
	key := transport + "\x00" + roomKey(room)
	if id, ok := s.roomIDs.Load(key); ok {
		return id.(int64), nil
	}
	if id, ok := fresh[key]; ok {
		return id, nil
	}
	if _, err := tx.StmtContext(ctx, s.stmts.insertRoom).ExecContext(ctx, transport, roomKey(room)); err != nil {
		return 0, fmt.Errorf("registry: archive room %s on %s: %w", room, transport, err)
	}
	var id int64
	if err := tx.QueryRowContext(ctx, sqlRoomID, transport, roomKey(room)).Scan(&id); err != nil {
		return 0, fmt.Errorf("registry: archive room %s on %s: %w", room, transport, err)
	}
	fresh[key] = id
	return id, nil
}

// CloseArchivePeriods ends every membership still open on the transport
// at the given time: at start, for rooms a previous run never left.
func (s *SQLite) CloseArchivePeriods(ctx context.Context, transport string, at time.Time) (int, error) {
	var n int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE archive_periods SET end_at = max(?1, start_at)
WHERE end_at IS NULL AND room IN (SELECT id FROM archive_rooms WHERE transport = ?2)
AND NOT EXISTS (SELECT 1 FROM room_seats s JOIN archive_rooms r ON r.transport = s.transport AND r.room = s.folded
	WHERE s.transport = ?2 AND s.jid = archive_periods.jid AND r.id = archive_periods.room)`, dbTime(at), transport)
		if err != nil {
			return fmt.Errorf("registry: closing memberships on %s: %w", transport, err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// window is a stretch of time, [from, to) in Unix nanoseconds, in which
// the user may read the room.
type window struct{ from, to int64 }

// QueryArchive implements Store.
func (s *SQLite) QueryArchive(ctx context.Context, transport string, q ArchiveQuery) (ArchivePage, error) {
	if q.Max < 1 {
		return ArchivePage{}, errors.New("registry: an archive page needs a size")
	}
	var room int64
	err := s.archive.roomID.QueryRowContext(ctx, transport, roomKey(q.Room)).Scan(&room)
	if errors.Is(err, sql.ErrNoRows) {
		return noRoom(q)
	}
	if err != nil {
		return ArchivePage{}, fmt.Errorf("registry: archive of %s: %w", q.Room, err)
	}
	wins, err := s.windows(ctx, room, q)
	if err != nil {
		return ArchivePage{}, err
	}
	if len(q.IDs) > 0 {
		return s.archiveByIDs(ctx, room, q, wins)
	}
	// The cursor: the message paging starts after (or ends before).
	curAt, curSeq := int64(-1<<63), int64(-1)
	if q.Last {
		curAt, curSeq = 1<<63-1, 1<<63-1
	}
	cursorID := q.AfterID
	if q.Last {
		cursorID = q.BeforeID
	}
	if cursorID != "" {
		if err := s.archive.entryByID.QueryRowContext(ctx, room, cursorID).Scan(&curSeq, &curAt); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ArchivePage{}, fmt.Errorf("%w: no message %q in %s", ErrNotFound, cursorID, q.Room)
			}
			return ArchivePage{}, fmt.Errorf("registry: archive of %s: %w", q.Room, err)
		}
	}
	// The other bound (a before-id while paging forward, an after-id
	// while paging back) narrows the windows.
	other := q.BeforeID
	if q.Last {
		other = q.AfterID
	}
	var otherSeq, otherAt int64
	if other != "" {
		if err := s.archive.entryByID.QueryRowContext(ctx, room, other).Scan(&otherSeq, &otherAt); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ArchivePage{}, fmt.Errorf("%w: no message %q in %s", ErrNotFound, other, q.Room)
			}
			return ArchivePage{}, fmt.Errorf("registry: archive of %s: %w", q.Room, err)
		}
	}
	var got []ArchivedMessage
	want := q.Max + 1 // one more says whether the page is the last
	for i := range wins {
		w := wins[i]
		if q.Last {
			w = wins[len(wins)-1-i]
		}
		rows, err := s.page(ctx, room, w, curAt, curSeq, q, want-len(got))
		if err != nil {
			return ArchivePage{}, err
		}
		for _, m := range rows {
			if other != "" && (!q.Last && !before(m, otherAt, otherSeq) || q.Last && !before(ArchivedMessage{At: goTime(otherAt), seq: otherSeq}, dbTime(m.At), m.seq)) {
				want = len(got) // the far bound: nothing beyond
				break
			}
			got = append(got, m)
		}
		if len(got) >= want {
			break
		}
	}
	page := ArchivePage{Messages: got, Complete: len(got) <= q.Max}
	if !page.Complete {
		page.Messages = got[:q.Max]
	}
	if q.Last {
		slices.Reverse(page.Messages)
	}
	return page, nil
}

// noRoom answers a query on a room that has no history: nothing to read
// for anyone but on a public room, where it is simply empty (an id asked
// for is still unknown).
func noRoom(q ArchiveQuery) (ArchivePage, error) {
	switch {
	case !q.Public:
		return ArchivePage{}, ErrNoAccess
	case len(q.IDs) > 0:
		return ArchivePage{}, fmt.Errorf("%w: no message %q in %s", ErrNotFound, q.IDs[0], q.Room)
	case q.AfterID != "" || q.BeforeID != "":
		return ArchivePage{}, fmt.Errorf("%w: no message %q in %s", ErrNotFound, cmp.Or(q.AfterID, q.BeforeID), q.Room)
	}
	return ArchivePage{Complete: true}, nil
}

// before reports whether m comes before the position (at, seq).
func before(m ArchivedMessage, at, seq int64) bool {
	mat := dbTime(m.At)
	return mat < at || mat == at && m.seq < seq
}

// windows is what the user may read of the room, within q's times,
// oldest first; ErrNoAccess if they were never in it. A public room is
// one window, whoever asks.
func (s *SQLite) windows(ctx context.Context, room int64, q ArchiveQuery) ([]window, error) {
	lo, hi := int64(-1<<63), int64(1<<63-1)
	if !q.Start.IsZero() {
		lo = dbTime(q.Start)
	}
	if !q.End.IsZero() {
		hi = dbTime(q.End) + 1 // End is inclusive
	}
	if q.Public {
		if lo >= hi {
			return nil, nil
		}
		return []window{{from: lo, to: hi}}, nil
	}
	rows, err := s.archive.periods.QueryContext(ctx, room, q.JID)
	if err != nil {
		return nil, fmt.Errorf("registry: memberships in %s: %w", q.Room, err)
	}
	defer rows.Close()
	var wins []window
	member := false
	for rows.Next() {
		var start int64
		var end sql.NullInt64
		if err := rows.Scan(&start, &end); err != nil {
			return nil, fmt.Errorf("registry: memberships in %s: %w", q.Room, err)
		}
		member = true
		w := window{from: max(start, lo), to: hi}
		if end.Valid {
			w.to = min(end.Int64, hi)
		}
		if w.from < w.to {
			wins = append(wins, w)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: memberships in %s: %w", q.Room, err)
	}
	if !member {
		return nil, ErrNoAccess
	}
	return wins, nil
}

// page reads up to n messages of one window from the cursor on.
func (s *SQLite) page(ctx context.Context, room int64, w window, curAt, curSeq int64, q ArchiveQuery, n int) ([]ArchivedMessage, error) {
	stmt := s.archive.forward
	from, to := w.from, w.to
	if q.Last {
		stmt = s.archive.backward
		if curAt < to {
			to = curAt + 1 // at <= the cursor's time
		}
	} else {
		from = max(from, curAt)
	}
	if from >= to {
		return nil, nil
	}
	rows, err := stmt.QueryContext(ctx, room, from, to, curAt, curSeq, q.With, n, q.NoSubjects)
	if err != nil {
		return nil, fmt.Errorf("registry: archive of %s: %w", q.Room, err)
	}
	return scanArchive(rows, q.Room)
}

func scanArchive(rows *sql.Rows, room string) ([]ArchivedMessage, error) {
	defer rows.Close()
	var out []ArchivedMessage
	for rows.Next() {
		var m ArchivedMessage
		var at int64
		if err := rows.Scan(&m.seq, &m.ID, &at, &m.Nick, &m.Body, &m.Subject); err != nil {
			return nil, fmt.Errorf("registry: archive of %s: %w", room, err)
		}
		m.At = goTime(at)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: archive of %s: %w", room, err)
	}
	return out, nil
}

// archiveByIDs reads the messages q.IDs names that the user may read, in
// order; ids the room never had are ErrNotFound.
func (s *SQLite) archiveByIDs(ctx context.Context, room int64, q ArchiveQuery, wins []window) (ArchivePage, error) {
	if len(q.IDs) > q.Max {
		return ArchivePage{}, fmt.Errorf("registry: %d ids asked, at most %d at once", len(q.IDs), q.Max)
	}
	args := []any{room}
	marks := make([]string, len(q.IDs))
	for i, id := range q.IDs {
		args = append(args, id)
		marks[i] = fmt.Sprintf("?%d", i+2)
	}
	rows, err := s.r.QueryContext(ctx, archiveColumns+" AND id IN ("+strings.Join(marks, ", ")+") ORDER BY at, seq", args...)
	if err != nil {
		return ArchivePage{}, fmt.Errorf("registry: archive of %s: %w", q.Room, err)
	}
	all, err := scanArchive(rows, q.Room)
	if err != nil {
		return ArchivePage{}, err
	}
	found := map[string]bool{}
	var page ArchivePage
	for _, m := range all {
		found[m.ID] = true
		if q.With != "" && m.Nick != q.With || q.NoSubjects && m.Subject {
			continue
		}
		at := dbTime(m.At)
		for _, w := range wins {
			if at >= w.from && at < w.to {
				page.Messages = append(page.Messages, m)
				break
			}
		}
	}
	for _, id := range q.IDs {
		if !found[id] {
			return ArchivePage{}, fmt.Errorf("%w: no message %q in %s", ErrNotFound, id, q.Room)
		}
	}
	page.Complete = true
	return page, nil
}

// ArchiveSize is how much room history a transport holds.
type ArchiveSize struct {
	Rooms, Messages int
	Oldest          time.Time // zero when there is none
}

// ArchiveStats implements Store.
func (s *SQLite) ArchiveStats(ctx context.Context, transport string) (ArchiveSize, error) {
	var size ArchiveSize
	var oldest sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT count(DISTINCT a.room), count(*), min(a.at) FROM archive a
JOIN archive_rooms r ON r.id = a.room WHERE r.transport = ?`, transport).Scan(&size.Rooms, &size.Messages, &oldest)
	if err != nil {
		return size, fmt.Errorf("registry: archive size on %s: %w", transport, err)
	}
	if oldest.Valid {
		size.Oldest = goTime(oldest.Int64)
	}
	return size, nil
}

// pruneChunk bounds the rows one pruning transaction deletes, so the
// writer is never held long from the messages waiting behind it.
const pruneChunk = 5000

// PruneArchive implements Store: in each room it deletes the messages
// the retention in force there no longer keeps (the transport's, or what
// an admin set for the room: SetRoomRetention), a chunk per transaction:
// those said more than its days before now, and all but its newest
// messages; memberships that ended before the cutoff go too. It returns
// how many messages it deleted.
func (s *SQLite) PruneArchive(ctx context.Context, transport string, now time.Time, keep Retention) (int, error) {
	rooms, err := s.prunableRooms(ctx, transport, keep)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, room := range rooms {
		n, err := s.pruneRoom(ctx, room.id, now, room.keep)
		total += n
		if err != nil {
			return total, fmt.Errorf("registry: pruning %s: %w", transport, err)
		}
	}
	return total, nil
}

// pruneRoom deletes what keep no longer keeps of one room.
func (s *SQLite) pruneRoom(ctx context.Context, room int64, now time.Time, keep Retention) (int, error) {
	cutoff := int64(-1 << 63)
	if keep.Days > 0 {
		cutoff = dbTime(now.AddDate(0, 0, -keep.Days))
	}
	if keep.Messages > 0 {
		// The time of the oldest message kept: everything before it goes.
		var at int64
		err := s.r.QueryRowContext(ctx, "SELECT at FROM archive WHERE room = ? ORDER BY at DESC, seq DESC LIMIT 1 OFFSET ?", room, keep.Messages-1).Scan(&at)
		if err == nil {
			cutoff = max(cutoff, at)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
	}
	total := 0
	for {
		var n int64
		err := s.writeTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM archive WHERE seq IN
(SELECT seq FROM archive WHERE room = ? AND at < ? ORDER BY at LIMIT ?)`, room, cutoff, pruneChunk)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, "DELETE FROM archive_periods WHERE room = ? AND end_at IS NOT NULL AND end_at < ?", room, cutoff)
			return err
		})
		if err != nil {
			return total, err
		}
		total += int(n)
		if n < pruneChunk {
			return total, nil
		}
	}
}

// ForgetArchiveMember implements Store: the user's memberships of every
// room of the transport go, so nothing said is kept for them.
func (s *SQLite) ForgetArchiveMember(ctx context.Context, transport, jid string) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM archive_periods WHERE jid = ?
AND room IN (SELECT id FROM archive_rooms WHERE transport = ?)`, jid, transport)
		if err != nil {
			return fmt.Errorf("registry: forgetting %s's memberships on %s: %w", jid, transport, err)
		}
		return nil
	})
}

package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// RoomSeat is where a user sits in a room through Ferry: the nick they
// asked for and their resources in it. Ferry keeps it while they are in
// the room, so that after a restart it rejoins the room for them and
// their clients stay in it without doing anything.
type RoomSeat struct {
	JID       string // the user's bare JID
	Room      string // the room's local part (set by RoomSeats; a write names it in ArchiveWrite.Room)
	Nick      string
	Resources []string // full JIDs; none: the user left the room
	Occupants []string // the others in the room, as Ferry stopped
}

// kinds counts what an ArchiveWrite holds: exactly one is valid.
func kinds(w ArchiveWrite) int {
	n := 0
	for _, set := range []bool{w.ID != "", w.JID != "", w.Seat != nil} {
		if set {
			n++
		}
	}
	return n
}

// putSeat records a seat, or drops it when it has no resource left. A
// seat of someone with no account (registering, or just unregistered) is
// not kept: nothing could be restored for them.
func putSeat(ctx context.Context, tx *sql.Tx, transport, room string, seat RoomSeat) error {
	var err error
	if len(seat.Resources) == 0 {
		_, err = tx.ExecContext(ctx, "DELETE FROM room_seats WHERE transport = ? AND jid = ? AND room = ?", transport, seat.JID, room)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO room_seats (transport, jid, room, folded, nick, resources, occupants)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM accounts WHERE transport = ?1 AND jid = ?2)
ON CONFLICT (transport, jid, room) DO UPDATE SET nick = excluded.nick, resources = excluded.resources, occupants = excluded.occupants`,
			transport, seat.JID, room, roomKey(room), seat.Nick, strings.Join(seat.Resources, "\n"), strings.Join(seat.Occupants, "\n"))
	}
	if err != nil {
		return fmt.Errorf("registry: seat of %s in %s on %s: %w", seat.JID, room, transport, err)
	}
	return nil
}

// RoomSeats implements Store.
func (s *SQLite) RoomSeats(ctx context.Context, transport string) ([]RoomSeat, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT jid, room, nick, resources, occupants FROM room_seats WHERE transport = ? ORDER BY jid, room", transport)
	if err != nil {
		return nil, fmt.Errorf("registry: seats on %s: %w", transport, err)
	}
	defer rows.Close()
	var out []RoomSeat
	for rows.Next() {
		var seat RoomSeat
		var resources, occupants string
		if err := rows.Scan(&seat.JID, &seat.Room, &seat.Nick, &resources, &occupants); err != nil {
			return nil, fmt.Errorf("registry: seats on %s: %w", transport, err)
		}
		seat.Resources = strings.Split(resources, "\n")
		if occupants != "" {
			seat.Occupants = strings.Split(occupants, "\n")
		}
		out = append(out, seat)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: seats on %s: %w", transport, err)
	}
	return out, nil
}

// LastArchived implements Store.
func (s *SQLite) LastArchived(ctx context.Context, transport, room string) (ArchivedMessage, error) {
	var m ArchivedMessage
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT a.id, a.at, a.nick, a.body, a.subject FROM archive a JOIN archive_rooms r ON r.id = a.room
WHERE r.transport = ? AND r.room = ? ORDER BY a.at DESC, a.seq DESC LIMIT 1`, transport, roomKey(room)).Scan(&m.ID, &at, &m.Nick, &m.Body, &m.Subject)
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("registry: last message of %s on %s: %w", room, transport, err)
	}
	m.At = goTime(at)
	return m, nil
}

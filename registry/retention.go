package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Retention bounds how much of a room's history is kept: messages older
// than Days days go, and all but the room's newest Messages; 0 leaves a
// bound off, and the zero Retention keeps everything.
type Retention struct {
	Days, Messages int
}

// RoomRetention is what an admin set for one room: each bound given
// replaces the transport's, a nil one leaves the transport's in force.
type RoomRetention struct {
	Room           string // the room's local part (stored lower-cased)
	Days, Messages *int
}

// Over is the retention in force in the room, r's bounds over the
// transport's.
func (r RoomRetention) Over(transport Retention) Retention {
	if r.Days != nil {
		transport.Days = *r.Days
	}
	if r.Messages != nil {
		transport.Messages = *r.Messages
	}
	return transport
}

// SetRoomRetention stores an admin's retention for one room, replacing
// what was set before; with neither bound given the room follows the
// transport's again. Negative bounds are refused.
func (s *SQLite) SetRoomRetention(ctx context.Context, transport string, r RoomRetention) error {
	if transport == "" || r.Room == "" {
		return errors.New("registry: a room retention needs a transport and a room")
	}
	for _, b := range []*int{r.Days, r.Messages} {
		if b != nil && *b < 0 {
			return fmt.Errorf("registry: a negative retention (%d) for %s", *b, r.Room)
		}
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		var err error
		if r.Days == nil && r.Messages == nil {
			_, err = tx.ExecContext(ctx, "DELETE FROM room_retention WHERE transport = ? AND room = ?", transport, roomKey(r.Room))
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO room_retention (transport, room, days, messages, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (transport, room) DO UPDATE SET days = ?3, messages = ?4, updated_at = ?5`,
				transport, roomKey(r.Room), nullInt(r.Days), nullInt(r.Messages), dbTime(s.now()))
		}
		if err != nil {
			return fmt.Errorf("registry: retention of %s on %s: %w", r.Room, transport, err)
		}
		return nil
	})
}

// RoomRetentions lists the rooms of the transport an admin gave a
// retention, by room.
func (s *SQLite) RoomRetentions(ctx context.Context, transport string) ([]RoomRetention, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT room, days, messages FROM room_retention WHERE transport = ? ORDER BY room", transport)
	if err != nil {
		return nil, fmt.Errorf("registry: room retentions on %s: %w", transport, err)
	}
	defer rows.Close()
	var out []RoomRetention
	for rows.Next() {
		var r RoomRetention
		var days, messages sql.NullInt64
		if err := rows.Scan(&r.Room, &days, &messages); err != nil {
			return nil, fmt.Errorf("registry: room retentions on %s: %w", transport, err)
		}
		r.Days, r.Messages = intOrNil(days), intOrNil(messages)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: room retentions on %s: %w", transport, err)
	}
	return out, nil
}

func nullInt(p *int) sql.NullInt64 {
	if p == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*p), Valid: true}
}

func intOrNil(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	v := int(n.Int64)
	return &v
}

// prunable is a room of the transport and the retention in force in it.
type prunable struct {
	id   int64
	keep Retention
}

// prunableRooms lists the transport's rooms that keep less than
// everything: each room an admin gave a retention, and with a transport
// retention every other room too.
func (s *SQLite) prunableRooms(ctx context.Context, transport string, def Retention) ([]prunable, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT a.id, r.room IS NOT NULL, r.days, r.messages FROM archive_rooms a
LEFT JOIN room_retention r ON r.transport = a.transport AND r.room = a.room WHERE a.transport = ?`, transport)
	if err != nil {
		return nil, fmt.Errorf("registry: pruning %s: %w", transport, err)
	}
	defer rows.Close()
	var out []prunable
	for rows.Next() {
		var p prunable
		var set bool
		var days, messages sql.NullInt64
		if err := rows.Scan(&p.id, &set, &days, &messages); err != nil {
			return nil, fmt.Errorf("registry: pruning %s: %w", transport, err)
		}
		p.keep = def
		if set {
			p.keep = RoomRetention{Days: intOrNil(days), Messages: intOrNil(messages)}.Over(def)
		}
		if p.keep != (Retention{}) {
			out = append(out, p)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: pruning %s: %w", transport, err)
	}
	return out, nil
}

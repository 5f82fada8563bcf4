package component

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
)

// Rooms survive a restart of Ferry. Where each user sits — the room, the
// nick, the full JIDs of the resources in it — is stored as it changes,
// through the archive's group commit (one transaction for many changes,
// never a wait on the actor). A clean stop keeps the seats and tells the
// resources nothing (no status 332), so their clients stay in the rooms;
// the next start rejoins the rooms for them at once, keeps their
// membership of the rooms' history open across the stop, fetches what
// was said meanwhile where the network can (bridges.RoomRestorer), and
// checks once that each resource is still there (ghosts.go).

// saveSeats stores what changed in the user's seats since the last
// event: after every event that changed the rooms.
func (u *user) saveSeats() {
	if u.seatsKept || u.acct == nil {
		return
	}
	for local, r := range u.rooms {
		seat := seatOf(u.jid, r)
		sig := seatSignature(seat)
		if stored, _ := u.seats.Get(local); stored == sig {
			continue
		}
		u.seats.Set(local, sig)
		u.t.archive.seat(local, seat)
	}
	u.seats.DeleteFunc(func(local, _ string) bool {
		if _, in := u.rooms[local]; in {
			return false
		}
		u.t.archive.seat(local, registry.RoomSeat{JID: u.jid})
		return true
	})
}

// seatOf is the user's seat in a room: the nick the network knows them
// by (or the one they asked for) and their resources, sorted.
func seatOf(bare string, r *room) registry.RoomSeat {
	resources := r.resources.Keys() // sorted
	return registry.RoomSeat{JID: bare, Room: r.local, Nick: nonEmpty(r.nick, r.requested), Resources: resources}
}

func seatSignature(s registry.RoomSeat) string {
	return s.Nick + "\n" + strings.Join(s.Resources, "\n")
}

// seat queues storing a user's seat in room; one without resources is
// dropped.
func (a *archiver) seat(room string, s registry.RoomSeat) {
	a.group.Add(registry.ArchiveWrite{Room: room, Seat: &s})
}

// suspend closes the session because the gateway stops. The rooms are
// dropped from memory only: their seats stay stored and their
// memberships open, and the resources in them are told nothing, so they
// are still in the rooms when Ferry is back.
func (u *user) suspend(why string) {
	if u.acct != nil {
		for local, r := range u.rooms {
			seat := seatOf(u.jid, r)
			for _, o := range r.occupants.All() { // sorted by nick
				seat.Occupants = append(seat.Occupants, o.Nick)
			}
			u.t.archive.seat(local, seat) // with who else was there
		}
	}
	u.seatsKept = true
	u.rooms = map[string]*room{}
	u.roomsChanged = true
	u.closeSession(why)
}

// restoreTimeout bounds reading what the restore needs at start.
const restoreTimeout = 30 * time.Second

// restored is a room to put a user back in after a restart.
type restored struct {
	seat registry.RoomSeat
	last registry.ArchivedMessage // the newest line of its history, if any
}

// restoreSeats reads the stored seats and the newest line of each of
// their rooms' history, by user. It runs at start, before any session.
func (t *Transport) restoreSeats(ctx context.Context) (map[string][]restored, error) {
	ctx, cancel := context.WithTimeout(ctx, restoreTimeout)
	defer cancel()
	seats, err := t.store.RoomSeats(ctx, t.domain)
	if err != nil {
		return nil, err
	}
	last := map[string]registry.ArchivedMessage{}
	out := map[string][]restored{}
	for _, s := range seats {
		key := strings.ToLower(s.Room)
		m, seen := last[key]
		if !seen {
			m, err = t.store.LastArchived(ctx, t.domain, s.Room)
			if err != nil && !errors.Is(err, registry.ErrNotFound) {
				return nil, err
			}
			last[key] = m
		}
		out[s.JID] = append(out[s.JID], restored{seat: s, last: m})
	}
	return out, nil
}

// restore puts the user back in the rooms they were in when Ferry
// stopped: the resources are in them again at once, and the session
// opens and rejoins each room with the nick they had. (Run queues the
// ping of each resource, ghosts.go, before the link can come up.)
func (u *user) restore(rooms []restored) {
	if u.acct == nil || len(rooms) == 0 {
		return // nothing to restore (an account deleted takes its seats)
	}
	for _, rs := range rooms {
		local := rs.seat.Room
		if u.rooms[local] != nil {
			continue
		}
		r := &room{local: local, requested: rs.seat.Nick, rejoining: true,
			former: rs.seat.Occupants}
		for _, full := range rs.seat.Resources {
			r.resources.Set(full, rs.seat.Nick)
		}
		u.rooms[local] = r
		u.seats.Set(local, seatSignature(seatOf(u.jid, r)))
		u.roomsChanged = true
	}
	u.openSession()
	for _, rs := range rooms {
		u.rejoin(rs.seat.Room, rs.seat.Nick, rs.last)
	}
	u.t.log.Info("rooms restored", "user", u.jid, "rooms", len(rooms))
}

// rejoin queues joining a restored room again; a refusal takes the
// resources out of it, as a refused join would.
func (u *user) rejoin(local, nick string, last registry.ArchivedMessage) {
	ok := u.do(op{what: "rejoin room", run: func(ctx context.Context, lg *legacy) error {
		s, err := lg.session()
		if err != nil {
			return err
		}
		if rr, ok := s.(bridges.RoomRestorer); ok {
			return rr.RestoreRoom(ctx, local, nick, last.At, last.ID)
		}
		rooms, ok := s.(bridges.Rooms)
		if !ok {
			return bridges.Errorf("feature-not-implemented", "this network has no group chats")
		}
		return rooms.JoinRoom(ctx, local, nick, "")
	}, done: func(u *user, err error) {
		if err != nil {
			cond, text := u.t.userError(err, "could not rejoin the room")
			u.roomJoinFailed(local, cond, text)
		}
	}})
	if !ok {
		u.roomJoinFailed(local, bridges.ResourceConstraint, "too much work queued to rejoin the room")
	}
}

// formerGone shows the resources of a restored room leaving the
// occupants that were there when Ferry stopped and are gone now: their
// clients still list them. After the join's replay, once.
func (u *user) formerGone(r *room) {
	for _, nick := range r.former {
		if r.occupants.Has(nick) || nick == r.nick {
			continue
		}
		o := bridges.Occupant{Nick: nick, Role: "none"}
		u.broadcast(r, func(full string) *xmlnode.Node { return u.occupantPresence(r, o, full, "unavailable") })
	}
	r.former = nil
}

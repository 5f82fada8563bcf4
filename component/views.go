package component

import (
	"sync/atomic"

	"github.com/ferry-xmpp/ferry/internal/smallmap"
)

// Group chat messages are by far the most frequent events, and each only
// needs to know which of its user's resources are in the room. So rather
// than hand every message to the user's actor, the actor publishes, each
// time a room changes, an immutable view of its rooms; the legacy session
// reads it and queues the message on the user's lane itself. Stanzas the
// actor sends (a join's replay) are queued before it publishes the view
// that lets messages through, so their order holds.

// roomViews is a user's published rooms. The actor writes it; anyone may
// read it.
type roomViews struct {
	p atomic.Pointer[roomView]
}

type roomView struct {
	gen   int64                  // the session the rooms belong to
	rooms smallmap.Map[[]string] // room local part -> joined full JIDs
}

// joined returns the full JIDs in room for the session gen, nil when
// none (or when the rooms are another session's).
func (v *roomViews) joined(gen int64, room string) []string {
	rv := v.p.Load()
	if rv == nil || rv.gen != gen {
		return nil
	}
	fulls, _ := rv.rooms.Get(room)
	return fulls
}

// publishRooms replaces the view after the actor changed its rooms.
func (u *user) publishRooms() {
	v := &roomView{gen: u.sessGen}
	for local, r := range u.rooms {
		if !r.joined || r.resources.Len() == 0 {
			continue
		}
		v.rooms.Set(local, r.resources.Keys()) // sorted
	}
	u.views.p.Store(v)
}

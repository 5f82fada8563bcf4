package component

import (
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// What was said in a room while Ferry was away (restarting, or its
// connection to the network lost) comes back from networks that can send
// it again (IRCv3 CHATHISTORY): as room messages marked Replayed, stored
// in the archive once and shown delayed with their original time
// (muc_events.go). Where the network cannot, the room says so instead of
// hiding the gap.

var _ bridges.RoomEvents = (*sink)(nil)

// RoomGap tells the resources in the room that lines may be missing.
func (s *sink) RoomGap(name string, from, to time.Time) {
	text := gapText(from, to)
	s.room(name, func(u *user, r *room) {
		room := u.t.puppet(name)
		u.broadcast(r, func(full string) *xmlnode.Node {
			return xmlnode.New("", "message").SetAttr("type", "groupchat").SetAttr("id", newID()).
				SetAttr("from", room).SetAttr("to", full).Add(xmlnode.Elem("", "body", text))
		})
	})
}

// gapText says which stretch of the room's talk may be missing, in UTC,
// with the dates when it spans more than a day.
func gapText(from, to time.Time) string {
	layout := "15:04"
	from, to = from.UTC(), to.UTC()
	if from.IsZero() || from.YearDay() != to.YearDay() || from.Year() != to.Year() {
		layout = "2006-01-02 15:04"
	}
	const why = " (UTC) may be missing: the gateway was disconnected from this room and the network cannot send them again."
	if from.IsZero() {
		return "Messages said before " + to.Format(layout) + why
	}
	return "Messages said between " + from.Format(layout) + " and " + to.Format(layout) + why
}

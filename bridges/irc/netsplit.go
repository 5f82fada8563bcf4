package irc

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges"
)

// netsplit and netjoin batches (batch.go) still change the members'
// presences one by one, but the room also gets ONE notice when the batch
// ends ("netsplit (a.net b.net): 40 left: bob, carol, … and 37 more"),
// instead of XMPP users having to guess from forty unavailable presences
// what happened. A batch cut short (batch.go) says what it saw so far; a
// notice names at most maxNamesShown members per room. What is kept is a
// count and those names per room, never the lines.

const maxNamesShown = 20

// splitTally is the kind of a netsplit or netjoin batch.
type splitTally struct {
	join    bool   // netjoin: who came back; netsplit: who left
	servers string // the batch's parameters
	rooms   map[string]*tally
}

// tally is who left or came back in one room.
type tally struct {
	count int
	names []string // the first maxNamesShown
}

// line counts who a netsplit's QUIT takes out of which rooms, which room
// a netjoin's JOIN brings someone back to, before the line is handled.
func (s *splitTally) line(n *network, m ircmsg.Message) bool {
	nick := m.Nick()
	switch {
	case !s.join && m.Command == "QUIT":
		for _, ch := range n.channels.All() {
			if ch.members.Has(nick) && ch.joined {
				s.count(ch.local, nick)
			}
		}
	case s.join && m.Command == "JOIN" && len(m.Params) > 0:
		if ch := n.channel(n.fold(m.Params[0])); ch != nil && ch.joined {
			s.count(ch.local, nick)
		}
	}
	return false // the presences change as the lines come
}

func (s *splitTally) count(room, nick string) {
	if s.rooms == nil {
		s.rooms = map[string]*tally{}
	}
	t := s.rooms[room]
	if t == nil {
		t = &tally{}
		s.rooms[room] = t
	}
	t.count++
	if len(t.names) < maxNamesShown {
		t.names = append(t.names, nick)
	}
}

// end sends each room its notice; after a lost connection, nothing: the
// notice would only be partial.
func (s *splitTally) end(n *network, how batchEnd) {
	if how == batchLost {
		return
	}
	for _, room := range slices.Sorted(maps.Keys(s.rooms)) {
		msg := bridges.Message{Body: s.notice(s.rooms[room])}
		n.room(func(re bridges.RoomEvents) { re.RoomMessage(room, "", msg) })
	}
}

// notice is the text of one room's netsplit or netjoin.
func (s *splitTally) notice(t *tally) string {
	what, verb := "netsplit", "left"
	if s.join {
		what, verb = "netjoin", "back"
	}
	if s.servers != "" {
		what += " (" + s.servers + ")"
	}
	text := fmt.Sprintf("%s: %d %s: %s", what, t.count, verb, strings.Join(t.names, ", "))
	if more := t.count - len(t.names); more > 0 {
		text += fmt.Sprintf(" and %d more", more)
	}
	return text
}

package irc

import (
	"context"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircaddr"
)

// IRCv3 draft/read-marker: the server keeps, per target, the time of the
// last message the user read, and tells every client of the account
// (MARKREAD) when one reads further, and each client on joining.

const capReadMarker = "draft/read-marker"

// maxReadMarks bounds the targets whose last mark a network remembers.
const maxReadMarks = 1024

// markTime is the MARKREAD timestamp format (UTC, milliseconds).
const markTime = "2006-01-02T15:04:05.000Z"

// MarkRead implements bridges.ReadMarker: only forward, only where the
// server keeps marks.
func (s *session) MarkRead(ctx context.Context, c bridges.Conversation, at time.Time) error {
	n, target, err := s.target(c)
	if err != nil {
		return nil // not connected: the mark is made again next time
	}
	return n.locked(ctx, func() {
		if n.conn == nil || !n.conn.HasCap(capReadMarker) || !n.readFurther(target, at) {
			return
		}
		n.queue("MARKREAD", target, "timestamp="+at.UTC().Format(markTime))
	})
}

// readFurther records at as target's mark when it is later than the one
// known, and says whether it was.
func (n *network) readFurther(target string, at time.Time) bool {
	key := n.fold(target)
	if prev, ok := n.v3.readMarks[key]; ok && !at.After(prev) {
		return false
	}
	if n.v3.readMarks == nil || len(n.v3.readMarks) >= maxReadMarks {
		n.v3.readMarks = map[string]time.Time{} // forgetting costs a repeated mark, no more
	}
	n.v3.readMarks[key] = at
	return true
}

// onMarkRead handles the server's MARKREAD target {timestamp=…|*}: the
// mark of a joined channel or of a person, shown on the user's clients.
func (n *network) onMarkRead(target, value string) {
	stamp, ok := strings.CutPrefix(value, "timestamp=")
	if !ok {
		return // "*": nothing read yet
	}
	at, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil || at.IsZero() {
		return
	}
	var c bridges.Conversation
	lastID := ""
	if n.isChannel(target) {
		ch := n.channel(n.fold(target))
		if ch == nil {
			return
		}
		c.Peer = ch.local
	} else if c.Peer = n.local(ircaddr.User, target); c.Peer == "" {
		return
	} else if last, ok := n.v3.lastFrom[n.fold(target)]; ok && !last.at.After(at) {
		lastID = last.id
	}
	n.readFurther(target, at)
	if re, ok := n.s.sink.(bridges.ReadEvents); ok {
		n.emit(func() { re.MarkedRead(c, at.UTC(), lastID) })
	}
}

// maxLastFrom bounds the people whose last private message is kept.
const maxLastFrom = 256

// heardFrom is the last private message from someone: what a read mark
// of the chat with them points to.
type heardFrom struct {
	id string
	at time.Time
}

// notePrivate remembers a private message from nick with the server's id
// and time (both needed to match a read mark).
func (n *network) notePrivate(nick, id string, at time.Time) {
	if id == "" || at.IsZero() {
		return
	}
	if n.v3.lastFrom == nil || len(n.v3.lastFrom) >= maxLastFrom {
		n.v3.lastFrom = map[string]heardFrom{}
	}
	n.v3.lastFrom[n.fold(nick)] = heardFrom{id, at}
}

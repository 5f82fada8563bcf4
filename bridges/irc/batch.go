package irc

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircconn"
	"github.com/ferry-xmpp/ferry/bridges/irc/irctext"
)

// IRCv3 batch. Lines inside a batch are handled as they come, as if there
// were none: the batch types Ferry does not know (chathistory, labeled
// replies, anything new) pass through line by line. netsplit and netjoin
// batches still change the members' presences one by one, but the room
// also gets ONE notice when the batch ends ("netsplit (a.net b.net): 40
// left: bob, carol, … and 37 more"), instead of XMPP users having to
// guess from forty unavailable presences what happened.
//
// A server can open batches and never close them: at most maxOpenBatches
// are tracked (lines of others are handled as plain lines), a tracked
// batch is closed by itself after batchTimeout or maxBatchLines lines
// (its notice says what was seen so far), and a notice names at most
// maxNamesShown members per room. What is kept is a count and those
// names per room, never the lines.

const (
	maxOpenBatches = 16
	maxBatchLines  = 10000
	maxNamesShown  = 20
	batchTimeout   = 30 * time.Second
)

// batch is one open batch.
type batch struct {
	kind   string // "netsplit", "netjoin", or another type (only counted)
	params string // the servers of a netsplit or netjoin
	lines  int
	rooms  map[string]*tally // by room local part: who left or came back
	timer  *time.Timer       // closes the batch if the server never does
	answer *answer           // the labeled command it answers, if any (labels.go)
	nested bool              // inside another batch: the outer one sends the answer
}

// tally is who left (netsplit) or came back (netjoin) in one room.
type tally struct {
	count int
	names []string // the first maxNamesShown
}

// onBatch opens or closes a batch: BATCH +ref type params…, BATCH -ref.
func (n *network) onBatch(m ircmsg.Message) {
	params := m.Params
	if len(params) == 0 || len(params[0]) < 2 {
		return
	}
	ref := params[0][1:]
	switch params[0][0] {
	case '+':
		if len(params) < 2 || n.batches[ref] != nil || len(n.batches) >= maxOpenBatches {
			return
		}
		b := &batch{kind: strings.ToLower(params[1]), params: irctext.Truncate(strings.Join(params[2:], " "), 200), answer: n.answering}
		b.nested, _ = m.GetTag("batch")
		if n.batches == nil {
			n.batches = map[string]*batch{}
		}
		n.batches[ref] = b
		conn := n.conn
		b.timer = time.AfterFunc(batchTimeout, func() { n.batchExpired(conn, ref, b) })
	case '-':
		n.endBatch(ref)
	}
}

// batchExpired closes a batch the server left open, unless it ended or
// the connection changed meanwhile. It runs on the timer's goroutine.
func (n *network) batchExpired(conn *ircconn.Conn, ref string, b *batch) {
	defer n.s.b.sup.Recover("irc batch timer "+n.server+" for "+n.s.acct.JID, nil)
	_ = n.locked(n.s.ctx, func() {
		if n.conn == conn && n.batches[ref] == b {
			n.endBatch(ref)
		}
	})
}

// inBatch counts a line of a tracked batch before it is handled: who a
// netsplit's QUIT takes out of which rooms, which room a netjoin's JOIN
// brings someone back to.
func (n *network) inBatch(m ircmsg.Message, nick string) {
	ok, ref := m.GetTag("batch")
	b := n.batches[ref]
	if !ok || b == nil {
		return
	}
	b.lines++
	switch {
	case b.kind == "netsplit" && m.Command == "QUIT":
		for _, ch := range n.channels {
			if _, in := ch.members[nick]; in && ch.joined {
				b.count(ch.local, nick)
			}
		}
	case b.kind == "netjoin" && m.Command == "JOIN" && len(m.Params) > 0:
		if ch := n.channels[n.fold(m.Params[0])]; ch != nil && ch.joined {
			b.count(ch.local, nick)
		}
	}
	if b.lines >= maxBatchLines {
		n.endBatch(ref)
	}
}

func (b *batch) count(room, nick string) {
	if b.rooms == nil {
		b.rooms = map[string]*tally{}
	}
	t := b.rooms[room]
	if t == nil {
		t = &tally{}
		b.rooms[room] = t
	}
	t.count++
	if len(t.names) < maxNamesShown {
		t.names = append(t.names, nick)
	}
}

// endBatch closes a batch: the notice of a netsplit or netjoin in each
// room it touched.
func (n *network) endBatch(ref string) {
	b := n.batches[ref]
	if b == nil {
		return
	}
	b.timer.Stop()
	delete(n.batches, ref)
	if len(n.batches) == 0 {
		n.batches = nil
	}
	if b.answer != nil && !b.nested {
		n.sendAnswer(b.answer)
	}
	for _, room := range slices.Sorted(maps.Keys(b.rooms)) {
		msg := bridges.Message{Body: b.notice(b.rooms[room])}
		n.room(func(re bridges.RoomEvents) { re.RoomMessage(room, "", msg) })
	}
}

// notice is the text of one room's netsplit or netjoin.
func (b *batch) notice(t *tally) string {
	what, verb := b.kind, "left"
	if b.kind == "netjoin" {
		verb = "back"
	}
	if b.params != "" {
		what += " (" + b.params + ")"
	}
	text := fmt.Sprintf("%s: %d %s: %s", what, t.count, verb, strings.Join(t.names, ", "))
	if more := t.count - len(t.names); more > 0 {
		text += fmt.Sprintf(" and %d more", more)
	}
	return text
}

// dropBatches forgets the batches of a lost connection: their notices
// would only be partial.
func (n *network) dropBatches() {
	for _, b := range n.batches {
		b.timer.Stop()
	}
	n.batches = nil
}

package irc

import (
	"slices"
	"strings"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges/irc/ircconn"
	"github.com/ferry-xmpp/ferry/bridges/irc/irctext"
)

// IRCv3 batches (https://ircv3.net/specs/extensions/batch): one table per
// connection of the batches the server has open, by reference, each with
// its kind — what a batch of that type does with its lines:
//
//   - netsplit, netjoin: a tally of who left or came back, one notice per
//     room at the end (netsplit.go); the lines are handled as usual too;
//   - draft/multiline: the message being assembled, handed on as one
//     (multiline.go); the lines are its own;
//   - chathistory, for a channel catching up: the page being replayed
//     (chathistory.go); the lines are its own;
//   - any other type: nothing; its lines are handled as if there were no
//     batch.
//
// Whatever its kind, a batch opened by a labeled command's answer
// collects that answer (labels.go), sent when the outermost batch ends.
//
// One set of rules for all, since a server may open batches and never
// close them: at most maxOpenBatches are tracked (the lines of others are
// handled as plain lines); a tracked batch is cut after maxBatchLines
// lines or batchTimeout, its kind then ending with what arrived; a batch
// opened inside another (the batch tag on BATCH +) ends, cut, when that
// one does, before it; and a lost connection ends them all (dropBatches).
// Lines that arrive for a batch after it was cut are plain lines, never
// lost: a multiline message's later lines arrive as messages of their own.

const tagBatch = "batch" // a line's batch: its reference

const (
	maxOpenBatches = 8
	maxBatchLines  = 10000
	batchTimeout   = 30 * time.Second
)

// batchEnd is how a batch ended.
type batchEnd int

// In this order: a batch inside one that ends is cut, unless lost.
const (
	batchEnded batchEnd = iota // the server ended it: BATCH -ref
	batchCut                   // the timer or the line bound ended it: what arrived is all there is
	batchLost                  // the connection was lost
)

// batchKind is what a batch of one type does with its lines.
type batchKind interface {
	// line is told a line of the batch before it is handled; true: the
	// line is the kind's alone, false: it is handled as usual too.
	line(n *network, m ircmsg.Message) bool
	// end is told the batch ended, and how.
	end(n *network, how batchEnd)
}

// batch is one open batch.
type batch struct {
	ref    string
	kind   batchKind // nil: a type with nothing to do
	parent *batch    // the batch it was opened in, if tracked
	lines  int
	timer  *time.Timer // cuts the batch if the server never ends it
	answer *answer     // the labeled command it answers, if any (labels.go)
}

// openBatch is the tracked batch a line is tagged with, or nil.
func (n *network) openBatch(m ircmsg.Message) *batch {
	if n.batches == nil {
		return nil
	}
	if ok, ref := m.GetTag(tagBatch); ok {
		return n.batches[ref]
	}
	return nil
}

// batchLine takes a line before it is handled: BATCH opens or ends a
// batch; a line of a tracked batch goes to its kind first. true: nothing
// more is to be done with the line.
func (n *network) batchLine(m ircmsg.Message) bool {
	b := n.openBatch(m)
	if b != nil {
		b.lines++
	}
	consumed := m.Command == "BATCH"
	if consumed {
		n.onBatch(m, b)
	} else if b != nil && b.kind != nil {
		consumed = b.kind.line(n, m)
	}
	if b != nil && b.lines >= maxBatchLines && n.batches[b.ref] == b {
		n.endBatch(b, batchCut)
	}
	return consumed
}

// onBatch opens or ends a batch: BATCH +ref type params…, BATCH -ref;
// parent is the tracked batch the line is tagged with.
func (n *network) onBatch(m ircmsg.Message, parent *batch) {
	p := m.Params
	if len(p) == 0 || len(p[0]) < 2 {
		return
	}
	ref := p[0][1:]
	switch p[0][0] {
	case '+':
		if len(p) < 2 || n.batches[ref] != nil || len(n.batches) >= maxOpenBatches {
			return
		}
		n.trackBatch(&batch{ref: ref, kind: n.kindOf(m), parent: parent, answer: n.answering})
	case '-':
		if b := n.batches[ref]; b != nil {
			n.endBatch(b, batchEnded)
		}
	}
}

// kindOf is the kind of the batch BATCH +ref type params… opens.
func (n *network) kindOf(m ircmsg.Message) batchKind {
	p := m.Params
	switch typ := strings.ToLower(p[1]); {
	case typ == "netsplit" || typ == "netjoin":
		return &splitTally{join: typ == "netjoin", servers: irctext.Truncate(strings.Join(p[2:], " "), 200)}
	case typ == multilineType && len(p) >= 3:
		return &multilineBatch{start: m, target: p[2]}
	case typ == "chathistory" && len(p) >= 3:
		return n.historyPage(p[2]) // nil unless the channel is catching up
	}
	return nil
}

// trackBatch adds an opened batch to the table, with its timer.
func (n *network) trackBatch(b *batch) {
	if n.batches == nil {
		n.batches = map[string]*batch{}
	}
	n.batches[b.ref] = b
	conn := n.conn
	b.timer = time.AfterFunc(batchTimeout, func() { n.batchExpired(conn, b.ref, b) })
}

// batchExpired cuts a batch the server left open, unless it ended or the
// connection changed meanwhile. It runs on the timer's goroutine.
func (n *network) batchExpired(conn *ircconn.Conn, ref string, b *batch) {
	defer n.s.b.sup.Recover("irc batch timer "+n.server+" for "+n.s.acct.JID, nil)
	_ = n.locked(n.s.ctx, func() {
		if n.conn == conn && n.batches[ref] == b {
			n.endBatch(b, batchCut)
		}
	})
}

// endBatch ends a batch: first, cut, the batches opened inside it (what
// they hold is part of it), then its kind, then its answer.
func (n *network) endBatch(b *batch, how batchEnd) {
	for _, inner := range n.batchesIn(b) {
		if n.batches[inner.ref] == inner {
			n.endBatch(inner, max(how, batchCut)) // cut, or lost with the connection
		}
	}
	if n.batches[b.ref] != b {
		return // ended meanwhile, by what the inner ones handed on
	}
	b.timer.Stop()
	delete(n.batches, b.ref)
	if len(n.batches) == 0 {
		n.batches = nil
	}
	if b.kind != nil {
		b.kind.end(n, how)
	}
	if b.answer != nil && b.parent == nil && how != batchLost {
		n.sendAnswer(b.answer)
	}
}

// batchesIn are the open batches opened inside parent (nil: the
// outermost ones), by reference: what they hand on when cut together
// comes in the same order every time.
func (n *network) batchesIn(parent *batch) []*batch {
	var in []*batch
	for _, b := range n.batches {
		if b.parent == parent {
			in = append(in, b)
		}
	}
	slices.SortFunc(in, func(a, b *batch) int { return strings.Compare(a.ref, b.ref) })
	return in
}

// dropBatches ends every batch of a lost connection: a multiline message
// is handed on with what arrived, the rest is forgotten (a partial
// netsplit notice would mislead; the catch-up starts again on the next
// connection).
func (n *network) dropBatches() {
	for _, b := range n.batchesIn(nil) {
		if n.batches[b.ref] == b {
			n.endBatch(b, batchLost)
		}
	}
	n.batches = nil
}

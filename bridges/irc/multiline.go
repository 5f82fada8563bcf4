package irc

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges/irc/irctext"
)

// IRCv3 draft/multiline: a message of several lines sent as one BATCH,
// which servers that have it relay as one message (and echo as one). A
// multi-line body from XMPP goes as one batch when the server takes it
// within its limits, else as separate lines as before; a batch from the
// server becomes one XMPP message. Receiving is one kind of batch in the
// connection's table (batch.go), which bounds how many are open, how many
// lines each gets and how long it may stay open.

const (
	capBatch      = "batch"
	capMultiline  = "draft/multiline"
	multilineType = "draft/multiline"
	tagConcat     = "draft/multiline-concat"
)

// Bounds on the message a batch assembles: it is held in memory until
// the batch ends. ergo allows 100 lines of 4096 bytes in all; beyond
// these the rest is cut, with a note saying so. A batch that is cut by
// the table's rules (batch.go: never ended, too many lines, nested in one
// that ended, the connection lost) hands on what arrived with the same
// note: a message is never dropped silently.
const (
	maxMultilineLines = 256
	maxMultilineBytes = 64 << 10
	multilineCutOff   = "\n[the rest of this message was too long to pass on]"
)

// multilineLimits are a server's draft/multiline limits.
type multilineLimits struct{ maxBytes, maxLines int }

// parseMultilineLimits reads the cap value, "max-bytes=4096,max-lines=100".
// max-bytes is required; without max-lines only bytes count.
func parseMultilineLimits(value string) (multilineLimits, bool) {
	var l multilineLimits
	for _, kv := range strings.Split(value, ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			continue
		}
		switch k {
		case "max-bytes":
			l.maxBytes = n
		case "max-lines":
			l.maxLines = n
		}
	}
	return l, l.maxBytes > 0
}

// multilineBatch is one draft/multiline batch being received.
type multilineBatch struct {
	start   ircmsg.Message // BATCH +ref: source, msgid, time, client tags
	target  string
	command string // PRIVMSG or NOTICE, from the first line
	text    strings.Builder
	lines   int
	cut     bool
}

// queueMultiline queues body for target as one draft/multiline batch when
// the server has it, the body needs more than one line and fits the
// server's limits; reply is a +draft/reply msgid for the batch. false:
// nothing was queued, the caller splits the body as before. Actions stay
// separate lines (a CTCP ACTION cannot span a batch).
func (n *network) queueMultiline(target, body string, action bool, reply string) bool {
	if action || n.conn == nil || !n.conn.HasCap(capBatch) {
		return false
	}
	limits, ok := parseMultilineLimits(n.conn.CapValue(capMultiline))
	if !ok {
		return false
	}
	budget := irctext.Budget("PRIVMSG", target, "")
	var lines []ircmsg.Message
	total := 0
	for i, line := range irctext.Lines(body) {
		if i > 0 {
			total++ // the line break
		}
		for j, chunk := range irctext.Split(line, budget) {
			m := ircmsg.MakeMessage(nil, "", "PRIVMSG", target, chunk)
			if j > 0 {
				m.SetTag(tagConcat, "")
			}
			lines = append(lines, m)
			total += len(chunk)
		}
	}
	if len(lines) < 2 || total > limits.maxBytes || limits.maxLines > 0 && len(lines) > limits.maxLines {
		return false
	}
	ref := batchRef()
	open := ircmsg.MakeMessage(nil, "", "BATCH", "+"+ref, multilineType, target)
	if reply != "" {
		open.SetTag(tagReply, reply)
	}
	n.lines = append(n.lines, open)
	for _, m := range lines {
		m.SetTag(tagBatch, ref)
		n.lines = append(n.lines, m)
	}
	n.lines = append(n.lines, ircmsg.MakeMessage(nil, "", "BATCH", "-"+ref))
	return true
}

// batchRef is a fresh batch reference tag.
func batchRef() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "f" + hex.EncodeToString(b[:])
}

// line takes a line of the batch: a PRIVMSG or NOTICE to the batch's
// target from its sender is part of the message; anything else in the
// batch is not, and is not handled either.
func (b *multilineBatch) line(n *network, m ircmsg.Message) bool {
	if (m.Command == "PRIVMSG" || m.Command == "NOTICE") && len(m.Params) == 2 &&
		n.fold(m.Params[0]) == n.fold(b.target) && m.Nick() == b.start.Nick() {
		b.add(m)
	}
	return true
}

// add appends one line of the batch, within the bounds.
func (b *multilineBatch) add(m ircmsg.Message) {
	text := m.Params[1]
	concat, _ := m.GetTag(tagConcat)
	if b.lines > 0 && !concat {
		text = "\n" + text
	}
	if b.cut || b.lines >= maxMultilineLines || b.text.Len()+len(text) > maxMultilineBytes {
		b.cut = true
		return
	}
	if b.command == "" {
		b.command = m.Command
	}
	b.text.WriteString(text)
	b.lines++
}

// end hands the message on as one line from its sender, with the
// batch's msgid, time and client tags, and its batch tag: inside another
// batch (a chathistory replay) it is a line of that one. A batch that did
// not end by the server's word is marked cut.
func (b *multilineBatch) end(n *network, how batchEnd) {
	if b.lines == 0 {
		return
	}
	text := b.text.String()
	if b.cut || how != batchEnded {
		text += multilineCutOff
	}
	m := b.start
	m.Command, m.Params = b.command, []string{b.target, text}
	n.handle(m)
}

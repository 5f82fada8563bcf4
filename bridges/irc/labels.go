package irc

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/irctext"
)

// IRCv3 labeled-response: a command a user sends to the server's JID
// (WHOIS bob, LIST, PRIVMSG NickServ :INFO …) goes out with a label, and
// what the server answers under that label — one line, or a batch of them
// — is told to the XMPP resource that asked, as one message, instead of
// to every resource (errors) or to nobody (the replies Ferry has no other
// use for, like WHOIS's). Lines that change state (a labeled JOIN's
// NAMES) are handled as ever. Without the capability nothing changes.
//
// Bounds: at most maxLabels commands wait for their answer (the oldest is
// forgotten, its answer then handled as unlabeled lines); an answer keeps
// at most maxAnswerLines lines; an answer batch is bounded as any batch.

const (
	maxLabels      = 32
	maxAnswerLines = 100
)

// pendingLabel is a labeled command waiting for its answer.
type pendingLabel struct {
	label string
	to    string // the full JID that sent the command
}

// answer collects the lines answering one labeled command.
type answer struct {
	to      string
	lines   []string
	dropped int
}

func (a *answer) add(text string) {
	if len(a.lines) >= maxAnswerLines {
		a.dropped++
		return
	}
	a.lines = append(a.lines, text)
}

// labelled labels a user's command when the server answers labels and the
// resource that sent it is known.
func (n *network) labelled(m ircmsg.Message, to string) ircmsg.Message {
	if to == "" || !n.hasCap("labeled-response") {
		return m
	}
	n.labelSeq++
	label := "fy" + strconv.FormatUint(n.labelSeq, 36)
	m.SetTag("label", label)
	if len(n.labels) >= maxLabels {
		n.labels = slices.Delete(n.labels, 0, 1)
	}
	n.labels = append(n.labels, pendingLabel{label: label, to: to})
	return m
}

// takeLabel returns who asked the command labeled label, and forgets it.
func (n *network) takeLabel(label string) string {
	for i, p := range n.labels {
		if p.label == label {
			n.labels = slices.Delete(n.labels, i, i+1)
			if len(n.labels) == 0 {
				n.labels = nil
			}
			return p.to
		}
	}
	return ""
}

// handleAnswering handles a line; when it answers a labeled command, what
// it tells the user goes to the resource that asked: at once for a single
// line, when its batch ends for a batch (batch.go).
func (n *network) handleAnswering(m ircmsg.Message) {
	a, single := n.answerOf(m)
	if a == nil {
		n.handle(m)
		return
	}
	n.answering = a
	n.handle(m)
	n.answering = nil
	if single {
		n.sendAnswer(a)
	}
}

// answerOf finds the answer a line belongs to: a labeled line of ours
// (single unless it opens a batch), or a line of a batch that answers.
func (n *network) answerOf(m ircmsg.Message) (a *answer, single bool) {
	if n.labels != nil {
		if ok, label := m.GetTag("label"); ok {
			if to := n.takeLabel(label); to != "" {
				return &answer{to: to}, m.Command != "BATCH"
			}
		}
	}
	if b := n.openBatch(m); b != nil && b.answer != nil {
		return b.answer, false
	}
	return nil, false
}

// answerLine keeps a reply no other part of the bridge shows (WHOIS's
// numerics, LIST's) in the answer being collected.
func (n *network) answerLine(m ircmsg.Message) {
	if n.answering == nil || len(m.Params) < 2 {
		return
	}
	n.answering.add(irctext.ToXMPP(strings.Join(m.Params[1:], " ")))
}

// sendAnswer tells the resource that asked what the server answered.
func (n *network) sendAnswer(a *answer) {
	if len(a.lines) == 0 {
		return
	}
	text := strings.Join(a.lines, "\n")
	if a.dropped > 0 {
		text += "\n… and " + strconv.Itoa(a.dropped) + " more lines"
	}
	peer, to := n.serverLocal(), a.to
	n.emit(func() {
		ctx, cancel := context.WithTimeout(n.s.ctx, 30*time.Second)
		defer cancel()
		_ = n.s.sink.Receive(ctx, bridges.Message{Peer: peer, To: to, Body: text})
	})
}

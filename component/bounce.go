package component

import (
	"context"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// A stanza of ours that comes back as an error is never answered (RFC 6120
// §8.3.1) but never ignored either: it is logged, and a message bounce
// is acted on in the user's actor. A group chat copy refused by a
// resource that is gone takes that resource out of the room (XEP-0045's
// ghost occupants), so the room does not keep sending to nobody; a
// private message refused by the user's server is reported to the legacy
// person who wrote it, where the network has a way to tell them.

// goneConditions are the errors that mean the addressed resource is not
// there any more.
var goneConditions = map[string]bool{
	"item-not-found": true, "service-unavailable": true, "recipient-unavailable": true,
	"remote-server-not-found": true, "remote-server-timeout": true, "gone": true,
}

func (t *Transport) bounced(n *xmlnode.Node) {
	cond, text := bounceError(n)
	t.log.Info("stanza bounced", "stanza", n.Local, "id", n.Attr("id"), "from", n.Attr("from"),
		"to", n.Attr("to"), "condition", cond, "text", text)
	if n.Local != "message" {
		return
	}
	from, err1 := t.jids.parse(n.Attr("from"))
	to, err2 := t.jids.parse(n.Attr("to"))
	if err1 != nil || err2 != nil || to.Domainpart() != t.domain || to.Localpart() == "" || from.Localpart() == "" {
		return
	}
	b := bounce{full: from.String(), local: to.Localpart(), cond: cond, text: text,
		body: n.ChildText("", "body"), room: t.isRoom(to.Localpart())}
	// A full inbox only costs the report or the early removal: the log
	// line above stays.
	t.postNow(from.Bare().String(), func(u *user) { u.bounced(b) }, stanzaLimit)
}

// bounce is a message of ours the user's server sent back.
type bounce struct {
	full       string // the user's address that refused it
	local      string // our sender: a room or a puppet
	cond, text string
	body       string // the original body, when the server quoted it
	room       bool
}

func (u *user) bounced(b bounce) {
	if b.room {
		if goneConditions[b.cond] {
			// As if the resource had left: what leaving needs to answer
			// (a refusal when too much waits) goes to that resource.
			left := xmlnode.New("", "presence").SetAttr("type", "unavailable").
				SetAttr("from", b.full).SetAttr("to", b.local+"@"+u.t.domain)
			u.leaveRoom(left, b.local, b.full, "")
		}
		return
	}
	if u.sess != sessOpen {
		return
	}
	reason := b.text
	if reason == "" {
		reason = "the recipient's server refused it (" + b.cond + ")"
	}
	m := bridges.Message{Peer: b.local, Body: b.body}
	u.do(op{what: "report undelivered", timeout: opTimeout,
		run: func(ctx context.Context, lg *legacy) error {
			s, err := lg.session()
			if err != nil {
				return err
			}
			r, ok := s.(bridges.UndeliveredReporter)
			if !ok {
				return nil
			}
			return r.ReportUndelivered(ctx, m, reason)
		},
		done: func(u *user, err error) {
			if err != nil {
				u.t.log.Info("could not report an undelivered message", "user", u.jid, "peer", m.Peer, "error", err)
			}
		}})
}

// bounceError is an error stanza's condition and text.
func bounceError(n *xmlnode.Node) (cond, text string) {
	e := n.Child("", "error")
	if e == nil {
		return "", ""
	}
	for _, c := range e.Children {
		if c.Space == nsStanzas && c.Local != "text" {
			cond = c.Local
			break
		}
	}
	return cond, e.ChildText(nsStanzas, "text")
}

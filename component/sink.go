package component

import (
	"context"
	"errors"
	"strings"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
)

// sink turns a bridge session's events into stanzas for one user.
type sink struct {
	t     *Transport
	user  string
	gen   int64      // a closed session's late status must not overwrite a new one's
	views *roomViews // the user's rooms, as their actor last published them
	inbox idler      // the actor's queue: idle means views is current
}

// idler reports a queue with nothing waiting and nothing running.
type idler interface{ Idle() bool }

// Receive stores the message (outbox + id map) before returning, so it
// reaches the user even if the XMPP server is down right now. A legacy id
// seen before is not delivered twice (reconnect replays, provider retries).
// A network with nothing to send again (Descriptor.VolatileInbound) has
// its messages without id queued on the user's lane instead.
func (s *sink) Receive(ctx context.Context, m bridges.Message) error {
	from := s.t.puppet(m.Peer)
	if from == "" {
		return bridges.Errorf(bridges.JIDMalformed, "legacy address %q cannot be a JID", m.Peer)
	}
	s.t.ensureContact(s.user, from, m.Nick) // XEP-0356 roster push, when granted
	to := s.user
	if strings.HasPrefix(m.To, s.user+"/") {
		to = m.To // an answer for the resource that asked
	}
	msg := message(from, to, inboundBody(m))
	for _, url := range m.MediaURLs {
		// XEP-0066: Conversations shows media inline only when the body is
		// the URL and an oob element carries the same URL.
		if m.Body == "" {
			msg.Child("", "body").Text = url
		}
		msg.Add(xmlnode.New(nsOOB, "x").Add(xmlnode.Elem(nsOOB, "url", url)))
	}
	if m.Subject != "" {
		msg.Add(xmlnode.Elem("", "subject", m.Subject))
	}
	if m.Thread != "" {
		msg.Add(xmlnode.Elem("", "thread", m.Thread))
	}
	if m.Nick != "" {
		msg.Add(xmlnode.Elem(nsNick, "nick", m.Nick))
	}
	if at := s.t.delayedSince(m.Time); !at.IsZero() {
		msg.Add(delayElem(s.t.domain, at))
	}
	if r := s.t.replyElem(ctx, s.user, false, m.ReplyTo); r != nil {
		msg.Add(r)
	}
	msg.Add(xmlnode.New(nsStanzaID, "origin-id").SetAttr("id", msg.Attr("id")))
	if m.ID == "" && s.t.desc.VolatileInbound {
		// Nothing could send it again: the lane, as for room messages.
		return s.t.link.Send(ctx, s.user, msg)
	}
	var mapping *registry.MessageID
	if m.ID != "" {
		// The stanza and its legacy id are stored in one transaction:
		// after a crash the message is either queued and known (a replay
		// from the network is dropped) or neither (the replay delivers it).
		mapping = &registry.MessageID{Transport: s.t.domain, JID: s.user, LegacyID: m.ID, XMPPID: msg.Attr("id"), Peer: m.Peer}
	}
	_, err := s.t.link.SendDurable(ctx, msg, mapping)
	return err
}

func (s *sink) Status(st bridges.State, text string) {
	s.post(func(u *user) {
		if u.sessGen == s.gen {
			u.setState(st, text)
		}
	})
}

// post hands an event to the user's actor, waiting for room: a session
// that reports faster than the user's client takes it is slowed down.
func (s *sink) post(fn func(*user)) {
	if err := s.t.post(s.t.ctx, s.user, fn); err != nil && !errors.Is(err, errStopping) && s.t.ctx.Err() == nil {
		s.t.log.Warn("event for a user not handled", "user", s.user, "error", err)
	}
}

func (s *sink) PeerPresence(peer string, available bool, status string) {
	from := s.t.puppet(peer)
	if from == "" {
		return
	}
	typ := "unavailable"
	if available {
		typ = ""
	}
	p := presence(from, s.user, typ)
	if status != "" {
		p.Add(xmlnode.Elem("", "status", status))
	}
	s.t.markOnline(s.user, peer, available)
	s.t.sendTo(s.user, p)
}

// markOnline tracks puppets shown online, to say goodbye on shutdown.
func (t *Transport) markOnline(user, peer string, on bool) {
	t.peersMu.Lock()
	defer t.peersMu.Unlock()
	if on {
		if t.online[user] == nil {
			t.online[user] = map[string]bool{}
		}
		t.online[user][peer] = true
		return
	}
	delete(t.online[user], peer)
	if len(t.online[user]) == 0 {
		delete(t.online, user)
	}
}

// puppetsGone marks every puppet of a user offline, with presences.
func (t *Transport) puppetsGone(user string) {
	t.peersMu.Lock()
	peers := t.online[user]
	delete(t.online, user)
	t.peersMu.Unlock()
	for p := range peers {
		t.sendTo(user, presence(t.puppet(p), user, "unavailable"))
	}
}

// delayElem marks a message with the time it was sent or received
// (XEP-0203), for anything that does not reach the user live.
func delayElem(domain string, at time.Time) *xmlnode.Node {
	return xmlnode.New(nsDelay, "delay").SetAttr("from", domain).
		SetAttr("stamp", at.UTC().Format(time.RFC3339Nano))
}

// Delivered sends an XEP-0184 receipt from the peer for a message the user
// sent (the bridge only calls it when the client asked for one).
func (s *sink) Delivered(ctx context.Context, peer, stanzaID, sender string) error {
	from := s.t.puppet(peer)
	if from == "" {
		return bridges.Errorf(bridges.JIDMalformed, "legacy address %q cannot be a JID", peer)
	}
	msg := xmlnode.New("", "message").SetAttr("from", from).SetAttr("to", s.senderOrBare(sender)).
		SetAttr("type", "chat").SetAttr("id", newID()).
		Add(xmlnode.New(nsReceipts, "received").SetAttr("id", stanzaID))
	_, err := s.t.link.SendDurable(ctx, msg, nil)
	return err
}

// Failed bounces a message the user sent: an error on its original id.
func (s *sink) Failed(ctx context.Context, peer, stanzaID, sender string, cond bridges.Condition, text string) error {
	from := s.t.puppet(peer)
	if from == "" {
		return bridges.Errorf(bridges.JIDMalformed, "legacy address %q cannot be a JID", peer)
	}
	req := xmlnode.New("", "message").SetAttr("from", s.senderOrBare(sender)).SetAttr("to", from).SetAttr("id", stanzaID)
	s.t.metrics.stanzaError(s.t.domain, string(cond))
	_, err := s.t.link.SendDurable(ctx, ErrorReply(req, "", string(cond), text), nil)
	return err
}

// senderOrBare is the resource that sent a message, when known and this
// user's; otherwise the bare JID.
func (s *sink) senderOrBare(sender string) string {
	if j, err := jid.Parse(sender); err == nil && j.Bare().String() == s.user {
		return sender
	}
	return s.user
}

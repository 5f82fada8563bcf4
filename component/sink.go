package component

import (
	"context"
	"errors"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
)

// sink turns a bridge session's events into stanzas for one user.
type sink struct {
	t    *Transport
	user string
	gen  int // a closed session's late status must not overwrite a new one's
}

// Receive stores the message (outbox + id map) before returning, so it
// reaches the user even if the XMPP server is down right now. A legacy id
// seen before is not delivered twice (reconnect replays, provider retries).
func (s *sink) Receive(ctx context.Context, m bridges.Message) error {
	from := s.t.puppet(m.Peer)
	if from == "" {
		return bridges.Errorf(bridges.JIDMalformed, "legacy address %q cannot be a JID", m.Peer)
	}
	if m.ID != "" {
		_, err := s.t.store.MessageByLegacyID(ctx, s.t.domain, s.user, m.ID)
		if err == nil {
			return nil
		}
		if !errors.Is(err, registry.ErrNotFound) {
			return err
		}
	}
	msg := message(from, s.user, inboundBody(m))
	if m.Subject != "" {
		msg.Add(xmlnode.Elem("", "subject", m.Subject))
	}
	if m.Thread != "" {
		msg.Add(xmlnode.Elem("", "thread", m.Thread))
	}
	if !m.Time.IsZero() {
		msg.Add(delayElem(s.t.domain, m))
	}
	msg.Add(xmlnode.New(nsStanzaID, "origin-id").SetAttr("id", msg.Attr("id")))
	if err := s.t.link.SendDurable(ctx, msg); err != nil {
		return err
	}
	if m.ID != "" {
		return s.t.store.PutMessageID(ctx, registry.MessageID{
			Transport: s.t.domain, JID: s.user, LegacyID: m.ID, XMPPID: msg.Attr("id"), Peer: m.Peer,
		})
	}
	return nil
}

func (s *sink) Status(st bridges.State, text string) {
	s.t.post(s.user, func(u *user) {
		if u.sessGen == s.gen && (u.sess != nil || st != bridges.Connected) {
			u.setState(st, text)
		}
	})
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
	s.t.reply(p)
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
		t.reply(presence(t.puppet(p), user, "unavailable"))
	}
}

// delayElem marks a message with the time the network says it was sent.
func delayElem(domain string, m bridges.Message) *xmlnode.Node {
	return xmlnode.New(nsDelay, "delay").SetAttr("from", domain).
		SetAttr("stamp", m.Time.UTC().Format(time.RFC3339Nano))
}

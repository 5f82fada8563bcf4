package component

import (
	"context"

	"mellium.im/xmpp/jid"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
)

var _ bridges.SentElsewhereEvents = (*sink)(nil)

// SentElsewhere shows the user a message they sent to a legacy peer from
// elsewhere, as an XEP-0280 "sent" carbon in their chat with the puppet,
// when the server granted the XEP-0356 message permission. Without it the
// message is not shown (the user sent it, so nothing is lost). Like
// Receive, it is stored before it returns and a legacy id is shown once.
func (s *sink) SentElsewhere(ctx context.Context, m bridges.Message) error {
	puppet := s.t.puppet(m.Peer)
	if puppet == "" {
		return bridges.Errorf(bridges.JIDMalformed, "legacy address %q cannot be a JID", m.Peer)
	}
	g, ok := s.t.grantFor(s.user)
	if !ok || g.message != "outgoing" {
		s.t.log.Debug("a message the user sent elsewhere is not shown: no XEP-0356 message permission", "user", s.user)
		return nil
	}
	s.t.ensureContact(s.user, puppet, m.Nick)
	user, err := jid.Parse(s.user)
	if err != nil {
		return err
	}
	inner := xmlnode.New(nsClient, "message").SetAttr("from", s.user).SetAttr("to", puppet).
		SetAttr("type", "chat").SetAttr("id", newID()).Add(xmlnode.Elem("", "body", inboundBody(m)))
	if m.Subject != "" {
		inner.Add(xmlnode.Elem("", "subject", m.Subject))
	}
	if m.Thread != "" {
		inner.Add(xmlnode.Elem("", "thread", m.Thread))
	}
	if !m.Time.IsZero() {
		inner.Add(delayElem(s.t.domain, m.Time))
	}
	out := sentCarbon(s.t.domain, user.Domainpart(), g.ns, s.user, inner)
	var mapping *registry.MessageID
	if m.ID != "" {
		mapping = &registry.MessageID{Transport: s.t.domain, JID: s.user, LegacyID: m.ID, XMPPID: inner.Attr("id"), Peer: m.Peer}
	}
	_, err = s.t.link.SendDurable(ctx, out, mapping)
	return err
}

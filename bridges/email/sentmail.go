package email

import (
	"context"
	"slices"
	"strings"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/email/mailaddr"
	"github.com/ferry-xmpp/ferry/bridges/email/mailparse"
)

// sentByUser reports whether a mail in a watched folder is one the user
// sent: its From is their mailbox. Such mails turn up in the Sent folder
// (when the user watches it) or as a copy to themselves.
func (s *session) sentByUser(pm *mailparse.Mail) bool {
	return s.acct.Email != "" && strings.EqualFold(pm.From, s.acct.Email)
}

// sentElsewhere shows a mail the user sent from another mail client in
// their chat with each recipient, as their own message, where the sink can
// (bridges.SentElsewhereEvents; the XMPP server must grant the transport
// the XEP-0356 message permission). Mails Ferry sent itself (a copy it
// saved in Sent) are recognised by their Message-ID and left alone.
func (s *session) sentElsewhere(ctx context.Context, pm *mailparse.Mail, truncated bool, o origin) error {
	if s.sentByFerry(ctx, pm.MessageID) {
		return nil
	}
	se, ok := s.sink.(bridges.SentElsewhereEvents)
	if !ok {
		return nil
	}
	body, err := s.chatBody(ctx, pm, truncated, o)
	if err != nil {
		return err
	}
	for _, rcpt := range sentTo(pm, s.acct.Email) {
		peer, err := mailaddr.LocalPart(rcpt)
		if err != nil {
			continue
		}
		thread, err := s.inboundThread(ctx, peer, pm, "")
		if err != nil {
			return internal("could not store the conversation", err)
		}
		m := bridges.Message{ID: legacyID(pm, o) + ":to:" + peer, Peer: peer, Body: body,
			Subject: pm.Subject, Thread: thread, Time: pm.Date}
		if err := se.SentElsewhere(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// sentByFerry reports whether Ferry queued the mail with this Message-ID.
func (s *session) sentByFerry(ctx context.Context, messageID string) bool {
	if messageID == "" {
		return false
	}
	j, err := s.b.store.JobByRef(ctx, s.b.domain, msgRef(messageID))
	return err == nil && j.JID == s.jid && j.Kind == kindOut
}

// sentTo lists a mail's recipients (To, then Cc) once each, without the
// sender's own address.
func sentTo(pm *mailparse.Mail, own string) []string {
	var out []string
	for _, r := range append(append([]string(nil), pm.To...), pm.Cc...) {
		if r != "" && !strings.EqualFold(r, own) && !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, r) }) {
			out = append(out, r)
		}
	}
	return out
}

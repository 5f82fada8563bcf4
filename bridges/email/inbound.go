package email

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/email/imapwatch"
	"github.com/ferry-xmpp/ferry/bridges/email/mailaddr"
	"github.com/ferry-xmpp/ferry/bridges/email/mailparse"
)

// origin says where a mail can be fetched again (for attachment links).
type origin struct {
	Folder      string `json:"f,omitempty"`
	UIDValidity uint32 `json:"v,omitempty"`
	UID         uint32 `json:"u,omitempty"`
	RelayJob    string `json:"r,omitempty"` // a relay mail kept in the store
	Via         string `json:"-"`           // the relay address it came to
}

// invalidSender stands in for a From that cannot be a JID: replying to it
// fails with a clear error instead of mailing a guess.
const invalidSender = "invalid-sender@sender.invalid"

// handleMail is imapwatch's handler: nil once the mail is stored for the
// user (or recognised as a bounce of ours).
func (s *session) handleMail(ctx context.Context, m imapwatch.Mail) error {
	return s.deliverMail(ctx, m.Raw, m.Truncated, origin{Folder: m.Folder, UIDValidity: m.UIDValidity, UID: m.UID})
}

// deliverMail turns one mail into a chat message (or a delivery failure
// of a mail the user sent).
func (s *session) deliverMail(ctx context.Context, raw []byte, truncated bool, o origin) error {
	pm, err := mailparse.Parse(bytes.NewReader(raw))
	if err != nil {
		s.log.Warn("unreadable mail shown as a notice", "folder", o.Folder, "uid", o.UID, "error", err)
		pm = &mailparse.Mail{From: invalidSender, Subject: "(unreadable mail)",
			Text: "A mail arrived that Ferry could not read: " + err.Error()}
	}
	if pm.Kind == mailparse.Bounce && pm.Bounce != nil {
		if handled, err := s.bounced(ctx, pm.Bounce); handled || err != nil {
			return err
		}
	}
	if s.sentByUser(pm) {
		return s.sentElsewhere(ctx, pm, truncated, o)
	}
	peer, err := mailaddr.LocalPart(pm.From)
	if err != nil {
		peer, _ = mailaddr.LocalPart(invalidSender)
	}
	thread, err := s.inboundThread(ctx, peer, pm, o.Via)
	if err != nil {
		return internal("could not store the conversation", err)
	}
	if o.Via != "" {
		if err := s.noteCorrespondent(ctx, o.Via, pm); err != nil {
			return internal("could not store who wrote to your relay address", err)
		}
	}
	body, err := s.chatBody(ctx, pm, truncated, o)
	if err != nil {
		return err
	}
	return s.sink.Receive(ctx, bridges.Message{ID: legacyID(pm, o), Peer: peer, Nick: pm.FromName, Body: body,
		Subject: pm.Subject, Thread: thread, Time: pm.Date})
}

// legacyID is what the core de-duplicates on: the same mail seen twice (in
// two watched folders, through the mailbox and a relay address, fetched
// again after a crash) is shown once. The Message-ID alone is not enough:
// a careless or hostile sender can reuse one, and a different mail must
// not vanish for it, so its sender, subject and date are part of the key.
func legacyID(pm *mailparse.Mail, o origin) string {
	if pm.MessageID == "" {
		return fmt.Sprintf("imap:%s:%d:%d:%s", o.Folder, o.UIDValidity, o.UID, o.RelayJob)
	}
	h := sha256.Sum256([]byte(pm.From + "\x00" + pm.Subject + "\x00" + pm.Date.UTC().Format(time.RFC3339)))
	return "mid:" + pm.MessageID + ":" + hex.EncodeToString(h[:8])
}

// chatBody is what the chat shows: a label for what is not a person's
// mail, the subject, the text and the attachments with their links.
func (s *session) chatBody(ctx context.Context, pm *mailparse.Mail, truncated bool, o origin) (string, error) {
	var b strings.Builder
	switch pm.Kind {
	case mailparse.AutoReply:
		fmt.Fprintf(&b, "[Automatic reply — %s]\n", pm.KindReason)
	case mailparse.Bulk:
		fmt.Fprintf(&b, "[Bulk or list mail — %s]\n", pm.KindReason)
	case mailparse.Bounce:
		b.WriteString("[Delivery failure notice]\n")
	}
	if o.Via != "" {
		// Replies in this conversation leave from that address too.
		fmt.Fprintf(&b, "[To your relay address %s]\n", o.Via)
	}
	if pm.Subject != "" {
		fmt.Fprintf(&b, "Subject: %s\n\n", pm.Subject)
	}
	if pm.Text != "" {
		b.WriteString(pm.Text)
	} else if len(pm.Attachments) == 0 {
		b.WriteString("(no text)")
	}
	if pm.HTMLOnly {
		b.WriteString("\n\n(converted from HTML)")
	}
	if truncated {
		b.WriteString("\n\n(this mail was too large to fetch whole)")
	}
	if len(pm.Attachments) > 0 {
		b.WriteString("\n\nAttachments:")
		for _, a := range pm.Attachments {
			link, err := s.attachmentLink(ctx, o, a.Part)
			if err != nil {
				return "", internal("could not sign an attachment link", err)
			}
			fmt.Fprintf(&b, "\n• %s (%s, %s)", a.Name, a.ContentType, humanSize(a.Size))
			if link != "" {
				b.WriteString(": " + link)
			}
		}
	}
	return strings.TrimSpace(b.String()), nil
}

func humanSize(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 10<<10:
		return fmt.Sprintf("%d KB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}

// bounced reports a bounce of a mail the user sent as an error on its
// stanza; handled is false when the bounce is about some other mail.
func (s *session) bounced(ctx context.Context, bn *mailparse.BounceReport) (handled bool, err error) {
	if bn.OriginalMessageID == "" {
		return false, nil
	}
	j, err := s.b.store.JobByRef(ctx, s.b.domain, msgRef(bn.OriginalMessageID))
	if err != nil || j.JID != s.jid || j.Kind != kindOut {
		return false, nil
	}
	o, err := decodeOut(j.Payload)
	if err != nil {
		return false, nil
	}
	text := "the mail bounced"
	if len(bn.Recipients) > 0 {
		text += " for " + strings.Join(bn.Recipients, ", ")
	}
	if bn.Status != "" {
		text += ": " + bn.Status
	}
	if bn.Diagnostic != "" {
		text += " " + bn.Diagnostic
	}
	j.State, j.LastError = stateBounced, text
	if err := s.b.store.UpdateJob(ctx, j); err != nil {
		return false, err
	}
	if d := s.delivery(); d != nil && o.StanzaID != "" {
		if err := d.Failed(ctx, o.Peer, o.StanzaID, o.Sender, bridges.RecipientUnavailable, text); err != nil {
			return false, err
		}
	}
	return true, nil
}

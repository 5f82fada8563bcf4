package email

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/email/compose"
	"github.com/ferry-xmpp/ferry/bridges/email/mailaddr"
	"github.com/ferry-xmpp/ferry/internal/backoff"
	"github.com/ferry-xmpp/ferry/registry"
)

// outMail is the payload of a queued outgoing mail: everything needed to
// build it again identically on a retry.
type outMail struct {
	StanzaID     string    `json:"stanza_id"`
	Sender       string    `json:"sender,omitempty"` // full JID to report to
	WantsReceipt bool      `json:"receipt,omitempty"`
	Peer         string    `json:"peer"`
	From         string    `json:"from"`
	Via          string    `json:"via,omitempty"` // relay address: send through the smarthost
	To           string    `json:"to"`
	Subject      string    `json:"subject"`
	Body         string    `json:"body"`
	MessageID    string    `json:"message_id"`
	InReplyTo    string    `json:"in_reply_to,omitempty"`
	References   []string  `json:"references,omitempty"`
	Date         time.Time `json:"date"`
}

func decodeOut(p []byte) (outMail, error) {
	var o outMail
	err := json.Unmarshal(p, &o)
	return o, err
}

// msgRef is the job reference a sent mail is found by when it bounces.
func msgRef(messageID string) string { return "msgid:" + strings.ToLower(messageID) }

// Send queues a chat message as a mail; the delivery loop hands it to the
// submission server and reports back on the stanza.
func (s *session) Send(ctx context.Context, m bridges.Message) error {
	to, err := mailaddr.Address(m.Peer)
	if err != nil || strings.HasSuffix(to, ".invalid") {
		return bridges.Errorf(bridges.JIDMalformed, "not an email address: chat with alice\\40example.net@%s to mail alice@example.net", s.b.domain)
	}
	body := strings.TrimSpace(m.Body)
	for _, u := range m.MediaURLs {
		if !strings.Contains(body, u) {
			body = strings.TrimSpace(body + "\n" + u)
		}
	}
	if m.Action {
		body = "* " + body
	}
	if body == "" {
		return nil // a chat state or an empty correction: nothing to mail
	}
	if err := s.checkLimits(ctx); err != nil {
		return err
	}
	c, found, err := s.outboundConv(ctx, m.Peer, m.Thread)
	if err != nil {
		return internal("could not read the conversation", err)
	}
	from, via, err := s.fromAddress(ctx, c, to)
	if err != nil {
		return err
	}
	o := outMail{StanzaID: m.ID, Sender: m.Sender, WantsReceipt: m.WantsReceipt, Peer: m.Peer, From: from, Via: via,
		To: to, Body: body, Date: time.Now().UTC().Truncate(time.Second)}
	jobID := newJobID()
	// The id is made once and stored with the job, so retries keep it;
	// the job id keeps it unique even when a client reuses stanza ids.
	o.MessageID = compose.NewMessageID(m.ID+"/"+jobID, s.jid, from[strings.LastIndexByte(from, '@')+1:])
	o.Subject = strings.TrimSpace(m.Subject)
	if found {
		if o.Subject == "" {
			o.Subject = compose.ReplySubject(c.Subject)
		}
		o.InReplyTo = c.Last
		o.References = append([]string(nil), c.References...)
		if c.ReplyTo != "" && m.Thread != "" {
			// Answering in the thread, as a mail client does: where the
			// sender asked. A chat without a thread goes to the puppet
			// itself, never to a list the person happened to write to.
			o.To = c.ReplyTo
		}
	}
	if via != "" {
		// Mail through the operator's smarthost, from the relay domain,
		// goes only to whoever wrote to that relay address (Reply-To
		// included: it names someone else).
		if err := s.b.mayRelayTo(ctx, s.jid, via, o.To); err != nil {
			return err
		}
	}
	if o.Subject == "" {
		o.Subject = firstLine(body, 70)
	}
	newThread := !found
	if newThread {
		c = conv{Thread: m.Thread, Via: via}
	}
	c.Subject = o.Subject
	c.add(o.MessageID)
	if c.Thread == "" {
		c.Thread = o.MessageID
	}
	payload, _ := json.Marshal(o)
	job := registry.Job{ID: jobID, Transport: s.b.domain, JID: s.jid, Kind: kindOut, Payload: payload,
		State: statePending, Ref: msgRef(o.MessageID)}
	if err := s.b.store.PutJob(ctx, job); err != nil {
		return internal("could not queue the mail", err)
	}
	if err := s.saveOutbound(ctx, m.Peer, c, newThread); err != nil {
		s.log.Error("saving the conversation", "error", err) // the mail still goes out
	}
	backoff.Kick(s.b.wakeOut)
	return nil
}

// fromAddress picks the sender: the relay address the conversation came
// through, else the user's mailbox, else the first relay address to has
// written to (or, when the operator lets relay addresses mail anyone,
// their first relay address).
func (s *session) fromAddress(ctx context.Context, c conv, to string) (from, via string, err error) {
	if c.Via != "" {
		if _, ok, err := s.b.aliasOwnedBy(ctx, c.Via, s.jid); err == nil && ok {
			return c.Via, c.Via, nil
		}
	}
	if s.acct.Email != "" {
		return s.acct.Email, "", nil
	}
	aliases, err := s.b.listAliases(ctx, s.jid)
	if err != nil {
		return "", "", internal("could not read your relay addresses", err)
	}
	if len(aliases) == 0 || s.b.opts.Relay == nil || s.b.opts.Relay.Smarthost == "" {
		return "", "", bridges.Errorf(bridges.NotAllowed, "you have no mailbox registered to send from")
	}
	alias, err := s.b.aliasFor(ctx, s.jid, to, aliases)
	if err != nil {
		return "", "", internal("could not check who wrote to your relay addresses", err)
	}
	if alias == "" && s.b.opts.Relay.SendToAnyone {
		alias = aliases[0].Address
	}
	if alias == "" {
		return "", "", bridges.Errorf(bridges.NotAllowed, "%s has never written to your relay addresses: without a mailbox you can only answer people who wrote to you", to)
	}
	return alias, alias, nil
}

func firstLine(s string, n int) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	line = strings.TrimSpace(line)
	if utf8.RuneCountInString(line) <= n {
		return line
	}
	r := []rune(line)
	return strings.TrimSpace(string(r[:n])) + "…"
}

// checkLimits applies the per-user hour and day caps on sent mail.
func (s *session) checkLimits(ctx context.Context) error {
	hour, day, err := s.b.sentCounts(ctx, s.jid)
	if err != nil {
		return internal("could not check your limits", err)
	}
	if hour >= s.b.opts.PerHour {
		return bridges.Errorf(bridges.PolicyViolation, "limit reached: %d mails in the last hour (at most %d)", hour, s.b.opts.PerHour)
	}
	if day >= s.b.opts.PerDay {
		return bridges.Errorf(bridges.PolicyViolation, "daily limit reached: %d mails in 24 hours (at most %d)", day, s.b.opts.PerDay)
	}
	return nil
}

// sentCounts is how many mails a user queued in the last hour and day.
func (b *Bridge) sentCounts(ctx context.Context, jid string) (hour, day int, err error) {
	now := time.Now()
	if hour, err = b.store.CountJobs(ctx, b.domain, jid, kindOut, now.Add(-time.Hour)); err != nil {
		return 0, 0, err
	}
	day, err = b.store.CountJobs(ctx, b.domain, jid, kindOut, now.Add(-24*time.Hour))
	return hour, day, err
}

func newJobID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// AccountReport gives administrators a user's mail volume and queue, for
// the show-user command.
func (b *Bridge) AccountReport(ctx context.Context, jid string) (string, error) {
	hour, day, err := b.sentCounts(ctx, jid)
	if err != nil {
		return "", err
	}
	aliases, err := b.listAliases(ctx, jid)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("mail sent: %d in the last hour, %d in the last 24 hours (limits %d/hour, %d/day); relay addresses: %d",
		hour, day, b.opts.PerHour, b.opts.PerDay, len(aliases)), nil
}

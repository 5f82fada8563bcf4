package sms

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/sms/numbers"
	"github.com/ferry-xmpp/ferry/bridges/sms/segments"
	"github.com/ferry-xmpp/ferry/registry"
)

const (
	kindOut    = "sms-out"
	kindAuto   = "sms-auto" // Ferry's own replies (STOP/HELP): not counted against the user
	kindOptOut = "sms-optout"

	statePending   = "pending"
	stateSent      = "sent"
	stateDelivered = "delivered"
	stateFailed    = "failed"
)

// outJob is the payload of a queued text.
type outJob struct {
	StanzaID     string   `json:"stanza_id"`
	Peer         string   `json:"peer"` // puppet local part
	From         string   `json:"from"`
	To           string   `json:"to"`
	Body         string   `json:"body"`
	Media        []string `json:"media,omitempty"`
	WantsReceipt bool     `json:"receipt,omitempty"`
	Sender       string   `json:"sender,omitempty"`
}

// session is one user's number.
type session struct {
	b      *Bridge
	jid    string
	number string
	region string
	sink   bridges.Events
}

// Send checks a text against the limits and persists it before returning;
// the delivery loop hands it to the provider and reports back.
func (s *session) Send(ctx context.Context, m bridges.Message) error {
	to, err := numbers.FromLocalPart(m.Peer)
	if err != nil || to.E164 == "" && to.Short == "" {
		return bridges.Errorf(bridges.JIDMalformed, "expected a phone number like +12015550123@%s", s.b.domain)
	}
	body := m.Body
	if m.Action {
		body = "* " + body
	}
	if body == "" && len(m.MediaURLs) == 0 {
		return nil
	}
	if s.b.provider.Name() != "twilio" && len(m.MediaURLs) > 0 {
		// No MMS through this provider: the links travel in the text.
		for _, u := range m.MediaURLs {
			if !strings.Contains(body, u) {
				body = strings.TrimSpace(body + "\n" + u)
			}
		}
	}
	if c := segments.Measure(body); c.Parts > s.b.opts.MaxParts {
		return bridges.Errorf(bridges.PolicyViolation, "this text needs %d SMS parts (%s, %d characters per part); the limit is %d",
			c.Parts, encodingName(c.Encoding), c.PerPart, s.b.opts.MaxParts)
	}
	if err := s.checkLimits(ctx, to.String()); err != nil {
		return err
	}
	payload, _ := json.Marshal(outJob{StanzaID: m.ID, Peer: m.Peer, From: s.number, To: to.String(), Body: body,
		Media: m.MediaURLs, WantsReceipt: m.WantsReceipt, Sender: m.Sender})
	now := time.Now()
	job := registry.Job{ID: newJobID(), Transport: s.b.domain, JID: s.jid, Kind: kindOut,
		Payload: payload, State: statePending, NextAt: now}
	if err := s.b.store.PutJob(ctx, job); err != nil {
		return &bridges.Error{Condition: bridges.InternalServer, Text: "could not queue the text", Cause: err}
	}
	s.b.kick()
	return nil
}

func encodingName(e segments.Encoding) string {
	if e == segments.UCS2 {
		return "Unicode"
	}
	return "GSM-7"
}

// checkLimits applies the per-user minute and day caps and opt-outs.
func (s *session) checkLimits(ctx context.Context, to string) error {
	if _, err := s.b.store.GetJob(ctx, s.b.domain, optOutID(s.number, to)); err == nil {
		return bridges.Errorf(bridges.Forbidden, "%s replied STOP: they must text START to %s before you can text them", to, s.number)
	}
	now := time.Now()
	perMin, err := s.b.store.CountJobs(ctx, s.b.domain, s.jid, kindOut, now.Add(-time.Minute))
	if err != nil {
		return &bridges.Error{Condition: bridges.InternalServer, Text: "could not check your limits", Cause: err}
	}
	if perMin >= s.b.opts.PerMinute {
		return bridges.Errorf(bridges.PolicyViolation, "limit reached: %d texts in the last minute (at most %d); wait a moment", perMin, s.b.opts.PerMinute)
	}
	perDay, err := s.b.store.CountJobs(ctx, s.b.domain, s.jid, kindOut, now.Add(-24*time.Hour))
	if err != nil {
		return &bridges.Error{Condition: bridges.InternalServer, Text: "could not check your limits", Cause: err}
	}
	if perDay >= s.b.opts.PerDay {
		return bridges.Errorf(bridges.PolicyViolation, "daily limit reached: %d texts in 24 hours (at most %d)", perDay, s.b.opts.PerDay)
	}
	return nil
}

func optOutID(ours, theirs string) string { return "optout:" + ours + ":" + theirs }

func newJobID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Close forgets the session; queued texts stay queued for the next one.
func (s *session) Close(context.Context, string) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.b.byJID[s.jid] == s {
		delete(s.b.byJID, s.jid)
	}
	if s.b.byNumber[s.number] == s {
		delete(s.b.byNumber, s.number)
	}
	return nil
}

// delivery reports a text's fate to its sender.
func (s *session) delivery() bridges.DeliveryEvents {
	d, _ := s.sink.(bridges.DeliveryEvents)
	return d
}

var errNoSession = errors.New("sms: no session for this account")

func (b *Bridge) deliveryFor(jid string) (bridges.DeliveryEvents, error) {
	s := b.sessionFor(jid)
	if s == nil || s.delivery() == nil {
		return nil, fmt.Errorf("%w %s", errNoSession, jid)
	}
	return s.delivery(), nil
}

// AccountReport gives administrators a user's texting volume and what is
// still queued, for the show-user command.
func (b *Bridge) AccountReport(ctx context.Context, jid string) (string, error) {
	now := time.Now()
	hour, err := b.store.CountJobs(ctx, b.domain, jid, kindOut, now.Add(-time.Hour))
	if err != nil {
		return "", err
	}
	day, err := b.store.CountJobs(ctx, b.domain, jid, kindOut, now.Add(-24*time.Hour))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("texts: %d in the last hour, %d in the last 24 hours (limits %d/minute, %d/day)",
		hour, day, b.opts.PerMinute, b.opts.PerDay), nil
}

package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/sms/numbers"
	"github.com/ferry-xmpp/ferry/registry"
)

// Inbound implements Sink: a text from a phone. It returns nil only once
// the text is stored (in the user's outbox, or as a dead letter).
func (b *Bridge) Inbound(ctx context.Context, m Inbound) error {
	to, err := numbers.ParseProvider(m.To, b.opts.Region)
	s := (*session)(nil)
	if err == nil {
		s = b.sessionForNumber(to.String())
	}
	if s == nil {
		return b.deadLetter(ctx, m, "no account for number "+m.To)
	}
	from, err := numbers.ParseProvider(m.From, s.region)
	if err != nil {
		return b.deadLetter(ctx, m, "unreadable sender "+m.From)
	}
	if handled, err := b.keyword(ctx, s, from.String(), m.Body); handled || err != nil {
		if err != nil {
			return err
		}
	}
	return s.sink.Receive(ctx, bridges.Message{
		ID:   m.Provider + ":" + m.ProviderID,
		Peer: from.LocalPart(), Body: m.Body, MediaURLs: m.MediaURLs, Time: m.Time,
	})
}

func (b *Bridge) deadLetter(ctx context.Context, m Inbound, reason string) error {
	payload, _ := json.Marshal(m)
	if _, err := b.store.PutDeadLetter(ctx, registry.DeadLetter{Transport: b.domain, Reason: reason, Payload: payload}); err != nil {
		return err
	}
	b.log.Warn("inbound text kept as a dead letter", "reason", reason, "provider_id", m.ProviderID)
	return nil
}

// keyword handles STOP/START/HELP from a phone (carriers require it when
// the provider does not do it): the contact's choice is recorded and
// confirmed to the phone; the user still sees the text.
func (b *Bridge) keyword(ctx context.Context, s *session, from, body string) (bool, error) {
	word := strings.ToUpper(strings.TrimSpace(body))
	var reply string
	switch word {
	case "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT":
		err := b.store.PutJob(ctx, registry.Job{ID: optOutID(s.number, from), Transport: b.domain, JID: s.jid,
			Kind: kindOptOut, State: "active", NextAt: time.Now().Add(100 * 365 * 24 * time.Hour)})
		if err != nil && !errors.Is(err, registry.ErrConflict) {
			return true, err
		}
		reply = "You will get no more texts from this number. Reply START to undo."
	case "START", "UNSTOP", "YES":
		err := b.store.DeleteJob(ctx, b.domain, optOutID(s.number, from))
		if errors.Is(err, registry.ErrNotFound) {
			return false, nil // not opted out: an ordinary word
		}
		if err != nil {
			return true, err
		}
		reply = "You will get texts from this number again. Reply STOP to stop."
	case "HELP", "INFO":
		reply = fmt.Sprintf("This number (%s) relays texts to a chat user. Reply STOP to stop, START to resume.", s.number)
	default:
		return false, nil
	}
	payload, _ := json.Marshal(outJob{Peer: "", From: s.number, To: from, Body: reply})
	err := b.store.PutJob(ctx, registry.Job{ID: newJobID(), Transport: b.domain, JID: s.jid, Kind: kindAuto,
		Payload: payload, State: statePending, NextAt: time.Now()})
	b.kick()
	return true, err
}

// Report implements Sink: a delivery report for a text Ferry sent.
func (b *Bridge) Report(ctx context.Context, r Report) error {
	var j registry.Job
	var err error
	if r.ID != "" {
		j, err = b.store.GetJob(ctx, b.domain, r.ID)
	} else {
		j, err = b.store.JobByRef(ctx, b.domain, r.ProviderID)
	}
	if errors.Is(err, registry.ErrNotFound) {
		b.log.Warn("delivery report for an unknown text", "id", r.ID, "provider_id", r.ProviderID)
		return nil // nothing to update; retrying would not help
	}
	if err != nil {
		return err
	}
	var o outJob
	_ = json.Unmarshal(j.Payload, &o)
	switch r.State {
	case Accepted:
		return nil // the SMSC took it: state only
	case Delivered:
		if j.State == stateDelivered {
			return nil // a duplicate report
		}
		j.State = stateDelivered
		if err := b.store.UpdateJob(ctx, j); err != nil {
			return err
		}
		if o.WantsReceipt && o.StanzaID != "" {
			d, err := b.deliveryFor(j.JID)
			if err != nil {
				return nil
			}
			return d.Delivered(ctx, o.Peer, o.StanzaID, o.Sender)
		}
	case Failed:
		if j.State == stateFailed {
			return nil
		}
		j.State, j.LastError = stateFailed, r.Text
		if err := b.store.UpdateJob(ctx, j); err != nil {
			return err
		}
		if o.StanzaID != "" {
			b.fail(ctx, j.JID, o, bridges.RecipientUnavailable, "not delivered: "+nonEmpty(r.Text, "the phone network refused it"))
		}
	}
	return nil
}

func nonEmpty(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

package email

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ferry-xmpp/ferry/bridges/email/relay"
	"github.com/ferry-xmpp/ferry/internal/backoff"
	"github.com/ferry-xmpp/ferry/registry"
)

// relayMail is a mail received for a relay address, kept until shown and
// then for a week so its attachment links work.
type relayMail struct {
	From string `json:"from"` // envelope sender
	To   string `json:"to"`   // the relay address
	Data []byte `json:"data"`
}

// directory answers the relay server's RCPT lookups from the store.
type directory struct{ b *Bridge }

func (d directory) Lookup(ctx context.Context, address string) (relay.Recipient, bool, error) {
	a, jid, ok, err := d.b.alias(ctx, address)
	if err != nil || !ok {
		return relay.Recipient{}, false, err
	}
	return relay.Recipient{Address: a.Address, Owner: jid, Senders: a.Senders}, true, nil
}

// storeRelayMail is the relay server's Deliver: the mail is in the store
// before the SMTP client hears 250, so a crash cannot lose it.
func (b *Bridge) storeRelayMail(ctx context.Context, e relay.Envelope) error {
	payload, err := json.Marshal(relayMail{From: e.From, To: e.Recipient.Address, Data: e.Data})
	if err != nil {
		return err
	}
	if err := b.store.PutJob(ctx, registry.Job{ID: newJobID(), Transport: b.domain, JID: e.Recipient.Owner,
		Kind: kindRelayIn, Payload: payload, State: statePending}); err != nil {
		return err
	}
	backoff.Kick(b.wakeRelay)
	return nil
}

// relayDue shows stored relay mail to owners whose session is open.
func (b *Bridge) relayDue(ctx context.Context) time.Duration {
	if b.store == nil {
		return time.Minute
	}
	jobs, err := b.store.DueJobs(ctx, b.domain, kindRelayIn, statePending, time.Now(), 20)
	if err != nil {
		b.log.Error("reading relay mail", "error", err)
		return b.opts.RetryMin
	}
	for _, j := range jobs {
		b.showRelayMail(ctx, j)
	}
	if len(jobs) >= 20 {
		return 0
	}
	return b.opts.RetryMin
}

func (b *Bridge) showRelayMail(ctx context.Context, j registry.Job) {
	s := b.sessionFor(j.JID)
	var rm relayMail
	if err := json.Unmarshal(j.Payload, &rm); err != nil {
		j.State, j.LastError = stateFailed, "unreadable relay mail"
		b.update(ctx, j)
		return
	}
	if s == nil {
		j.NextAt = time.Now().Add(b.opts.RetryMin) // shown when the owner's session opens
		b.update(ctx, j)
		return
	}
	if err := s.deliverMail(ctx, rm.Data, false, origin{RelayJob: j.ID, Via: rm.To}); err != nil {
		j.Attempts++
		j.LastError = err.Error()
		j.NextAt = time.Now().Add(b.backoff(j.Attempts))
		b.update(ctx, j)
		return
	}
	j.State = stateDelivered
	b.update(ctx, j)
}

package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/backoff"
	"github.com/ferry-xmpp/ferry/registry"
)

// Listen binds the webhook listener (bridges.Listener).
func (b *Bridge) Listen() error {
	ln, err := net.Listen("tcp", b.opts.Listen)
	if err != nil {
		return fmt.Errorf("sms webhooks on %s: %w", b.opts.Listen, err)
	}
	b.ln = ln
	return nil
}

// Run serves the provider's webhooks and delivers queued texts until ctx
// ends. Texts queued before a restart are picked up here. A panic in a
// delivery pass restarts the queue loop (the supervisor reports it).
func (b *Bridge) Run(ctx context.Context) error {
	if b.ln == nil {
		if err := b.Listen(); err != nil {
			return err
		}
	}
	ln := b.ln
	b.ln = nil // a restarted Run binds again
	mux := http.NewServeMux()
	// The provider's handler serves its own paths (which the operator may
	// set) and answers 404 to anything else.
	mux.Handle("/", b.provider.Handler(b))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	b.log.Info("sms webhooks listening", "addr", ln.Addr().String(), "provider", b.provider.Name())
	// Due texts go to the provider, oldest first, when a new one is
	// queued or the next retry is due.
	b.sup.Loop(ctx, "sms queue "+b.domain, func(ctx context.Context) error {
		backoff.Run(ctx, b.wake, b.deliverDue)
		return nil
	})
	return nil
}

// deliverDue sends every due text and returns how long to sleep.
func (b *Bridge) deliverDue(ctx context.Context) time.Duration {
	if b.store == nil {
		return time.Minute
	}
	jobs, err := b.store.DueJobs(ctx, b.domain, kindOut, statePending, time.Now(), 50)
	if err == nil {
		var auto []registry.Job
		auto, err = b.store.DueJobs(ctx, b.domain, kindAuto, statePending, time.Now(), 50)
		jobs = append(jobs, auto...)
	}
	if err != nil {
		b.log.Error("reading the sms queue", "error", err)
		return b.opts.RetryMin
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			return 0
		}
		b.deliver(ctx, j)
	}
	if len(jobs) >= 50 {
		return 0
	}
	return b.opts.RetryMin
}

func (b *Bridge) deliver(ctx context.Context, j registry.Job) {
	var o outJob
	if err := json.Unmarshal(j.Payload, &o); err != nil {
		j.State, j.LastError = stateFailed, "unreadable queue entry"
		_ = b.store.UpdateJob(ctx, j)
		return
	}
	if err := b.limits.wait(ctx, o.From); err != nil {
		return
	}
	res, err := b.provider.Send(ctx, Outbound{ID: j.ID, From: o.From, To: o.To, Body: o.Body, MediaURLs: o.Media})
	var se *SendError
	switch {
	case err == nil:
		j.State, j.Ref = stateSent, res.ProviderID
	case errors.As(err, &se) && !se.Temporary:
		j.State, j.LastError = stateFailed, se.Text
		cond := bridges.Condition(bridges.NotAcceptable)
		if se.OptOut {
			cond = bridges.Forbidden
		}
		b.fail(ctx, j.JID, o, cond, se.Text)
	default:
		j.Attempts++
		j.LastError = err.Error()
		if j.Attempts >= b.opts.Attempts {
			j.State = stateFailed
			b.fail(ctx, j.JID, o, bridges.RemoteServerTmout, "the SMS provider did not take the text after several tries")
		} else {
			j.NextAt = time.Now().Add(b.backoff(j.Attempts))
		}
	}
	if err := b.store.UpdateJob(ctx, j); err != nil {
		b.log.Error("updating the sms queue", "job", j.ID, "error", err)
	}
}

func (b *Bridge) backoff(attempt int) time.Duration {
	return backoff.Delay(b.opts.RetryMin, b.opts.RetryMax, attempt-1)
}

// fail bounces a text back to its sender as an error on the stanza.
func (b *Bridge) fail(ctx context.Context, jid string, o outJob, cond bridges.Condition, text string) {
	if o.StanzaID == "" {
		// Ferry's own texts (keyword confirmations) have no sender to tell.
		b.log.Warn("automatic text not delivered", "to", o.To, "error", text)
		return
	}
	d, err := b.deliveryFor(jid)
	if err != nil {
		b.log.Warn("text failed while its sender has no session", "user", jid, "error", text)
		return
	}
	if err := d.Failed(ctx, o.Peer, o.StanzaID, o.Sender, cond, text); err != nil {
		b.log.Error("reporting a failed text", "user", jid, "error", err)
	}
}

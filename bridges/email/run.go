package email

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/email/compose"
	"github.com/ferry-xmpp/ferry/bridges/email/imapwatch"
	"github.com/ferry-xmpp/ferry/bridges/email/relay"
	"github.com/ferry-xmpp/ferry/bridges/email/submit"
	"github.com/ferry-xmpp/ferry/internal/backoff"
	"github.com/ferry-xmpp/ferry/registry"
)

// How long finished work stays in the store: sent mail so a late bounce
// still finds its stanza, relay mail so its attachment links keep working.
const keepFinished = 7 * 24 * time.Hour

// Listen binds the attachment links' listener and the relay domain's
// SMTP listener (bridges.Listener).
func (b *Bridge) Listen() error {
	ln, err := net.Listen("tcp", b.opts.Listen)
	if err != nil {
		return fmt.Errorf("email attachment links on %s: %w", b.opts.Listen, err)
	}
	b.links = ln
	if r := b.opts.Relay; r != nil {
		rl, err := net.Listen("tcp", r.Listen)
		if err != nil {
			ln.Close()
			b.links = nil
			return fmt.Errorf("email relay domain %s on %s: %w", r.Domain, r.Listen, err)
		}
		b.relayLn = rl
	}
	return nil
}

// Run serves attachment links and the relay domain, and delivers queued
// mail, until ctx ends. A panic in a queue pass restarts that loop.
func (b *Bridge) Run(ctx context.Context) error {
	if b.links == nil {
		if err := b.Listen(); err != nil {
			return err
		}
	}
	ln, relayLn := b.links, b.relayLn
	b.links, b.relayLn = nil, nil // a restarted Run binds again
	srv := &http.Server{Handler: b.httpHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	b.log.Info("email attachment links listening", "addr", ln.Addr().String())
	if relayLn != nil {
		stop, err := b.serveRelay(relayLn)
		if err != nil {
			relayLn.Close()
			return err
		}
		defer stop()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.sup.Loop(ctx, "email relay queue "+b.domain, func(ctx context.Context) error {
			backoff.Run(ctx, b.wakeRelay, b.relayDue)
			return nil
		})
	}()
	b.sup.Loop(ctx, "email queue "+b.domain, func(ctx context.Context) error {
		backoff.Run(ctx, b.wakeOut, b.deliverDue)
		return nil
	})
	<-done
	return nil
}

// serveRelay starts the relay domain's SMTP server on ln.
func (b *Bridge) serveRelay(ln net.Listener) (stop func(), err error) {
	r := b.opts.Relay
	srv, err := relay.New(relay.Config{Domains: []string{r.Domain}, Hostname: b.domain, MaxSize: r.MaxSize,
		PerAddressPerHour: r.PerAddressPerHour, Logger: b.log}, directory{b}, b.storeRelayMail)
	if err != nil {
		return nil, err
	}
	go func() { _ = srv.Serve(ln) }()
	b.log.Info("email relay domain listening", "domain", r.Domain, "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// deliverDue sends every due mail and returns how long to sleep.
func (b *Bridge) deliverDue(ctx context.Context) time.Duration {
	if b.store == nil {
		return time.Minute
	}
	b.prune(ctx)
	jobs, err := b.store.DueJobs(ctx, b.domain, kindOut, statePending, time.Now(), 50)
	if err != nil {
		b.log.Error("reading the mail queue", "error", err)
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

// prune deletes finished work older than keepFinished, at most hourly:
// the queue pass runs on every mail sent.
func (b *Bridge) prune(ctx context.Context) {
	if time.Since(b.pruned) < time.Hour {
		return
	}
	b.pruned = time.Now()
	for _, state := range []string{stateSent, stateFailed, stateBounced, stateDelivered} {
		if _, err := b.store.DeleteJobsBefore(ctx, b.domain, state, time.Now().Add(-keepFinished)); err != nil {
			b.log.Error("pruning the mail queue", "error", err)
		}
	}
}

// deliver hands one mail to the submission server (or the smarthost for
// relay addresses) and reports the outcome on its stanza.
func (b *Bridge) deliver(ctx context.Context, j registry.Job) {
	s := b.sessionFor(j.JID)
	if s == nil {
		// Sending needs the account and reporting needs its sink: wait
		// for the session (it opens when the user or Ferry comes back).
		j.NextAt = time.Now().Add(b.opts.RetryMin)
		b.update(ctx, j)
		return
	}
	o, err := decodeOut(j.Payload)
	if err != nil {
		j.State, j.LastError = stateFailed, "unreadable queue entry"
		b.update(ctx, j)
		return
	}
	raw, err := compose.Build(compose.Mail{From: compose.Address{Name: s.acct.Name, Addr: o.From},
		To: []compose.Address{{Addr: o.To}}, Subject: o.Subject, Date: o.Date, MessageID: o.MessageID,
		InReplyTo: o.InReplyTo, References: o.References, Body: o.Body, Signature: s.prefsNow().Signature})
	if err != nil {
		j.State, j.LastError = stateFailed, err.Error()
		b.update(ctx, j)
		s.report(ctx, o, bridges.NotAcceptable, "the mail could not be built: "+err.Error())
		return
	}
	server := s.acct.smtpServer()
	if o.Via != "" {
		server = b.smarthost()
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err = submit.Send(sctx, server, o.From, []string{o.To}, raw)
	cancel()
	var se *submit.Error
	switch {
	case err == nil:
		j.State = stateSent
		if o.WantsReceipt {
			s.delivered(ctx, o)
		}
		s.keepSentCopy(ctx, o, raw)
	case errors.As(err, &se) && se.Permanent:
		j.State, j.LastError = stateFailed, errorText(err)
		s.report(ctx, o, permanentCondition(se), j.LastError)
	default:
		if isUnreachable(err) {
			s.log.Warn("mail server not reached", "server", server.Addr, "error", err)
		}
		j.Attempts++
		j.LastError = errorText(err)
		if j.Attempts >= b.opts.Attempts {
			j.State = stateFailed
			s.report(ctx, o, bridges.RemoteServerTmout, "the mail server did not take the mail after several tries: "+j.LastError)
		} else {
			j.NextAt = time.Now().Add(b.backoff(j.Attempts))
		}
	}
	b.update(ctx, j)
}

func permanentCondition(se *submit.Error) bridges.Condition {
	switch {
	case se.Auth:
		return bridges.NotAuthorized
	case se.Recipient != "":
		return bridges.ItemNotFound
	default:
		return bridges.NotAcceptable
	}
}

func (b *Bridge) smarthost() submit.Server {
	r := b.opts.Relay
	return submit.Server{Addr: r.Smarthost, Security: submit.Security(r.SmarthostSecurity),
		Username: r.SmarthostUser, Password: r.SmarthostPassword, HeloName: b.domain, TLSConfig: b.tls}
}

func (b *Bridge) update(ctx context.Context, j registry.Job) {
	if err := b.store.UpdateJob(ctx, j); err != nil {
		b.log.Error("updating the mail queue", "job", j.ID, "error", err)
	}
}

func (b *Bridge) backoff(attempt int) time.Duration {
	return backoff.Delay(b.opts.RetryMin, b.opts.RetryMax, attempt-1)
}

func (s *session) prefsNow() prefs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prefs
}

// report bounces a mail back to its sender as an error on the stanza.
func (s *session) report(ctx context.Context, o outMail, cond bridges.Condition, text string) {
	d := s.delivery()
	if d == nil || o.StanzaID == "" {
		s.log.Warn("mail not delivered", "to", o.To, "error", text)
		return
	}
	if err := d.Failed(ctx, o.Peer, o.StanzaID, o.Sender, cond, text); err != nil {
		s.log.Error("reporting a failed mail", "error", err)
	}
}

// delivered acknowledges a mail the server took (XEP-0184).
func (s *session) delivered(ctx context.Context, o outMail) {
	if d := s.delivery(); d != nil && o.StanzaID != "" {
		if err := d.Delivered(ctx, o.Peer, o.StanzaID, o.Sender); err != nil {
			s.log.Error("sending a receipt", "error", err)
		}
	}
}

// keepSentCopy stores what the user sent in their mailbox's Sent folder,
// as a mail client does. A failure does not undo the sending: it is logged.
func (s *session) keepSentCopy(ctx context.Context, o outMail, raw []byte) {
	p := s.prefsNow()
	if o.Via != "" || s.acct.Email == "" || !p.SaveSent {
		return
	}
	actx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := imapwatch.AppendSent(actx, s.acct.imapServer(), p.SentBox, raw, o.Date); err != nil {
		s.log.Warn("could not keep a copy of a sent mail", "error", errorText(err))
	}
}

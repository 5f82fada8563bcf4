package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/email/mailaddr"
	"github.com/ferry-xmpp/ferry/internal/backoff"
	"github.com/ferry-xmpp/ferry/internal/ratelimit"
	"github.com/ferry-xmpp/ferry/internal/supervise"
	"github.com/ferry-xmpp/ferry/registry"
)

// Kind is the config kind of this bridge.
const Kind = "email"

// Bridge is the email bridge of one transport.
type Bridge struct {
	domain string
	opts   Options
	store  registry.Store
	log    *slog.Logger
	sup    *supervise.Supervisor
	// Bound by Listen, served by Run.
	links, relayLn net.Listener
	tls            *tls.Config        // trusts the system's roots and ca_file's; nil: the system's
	logins         *ratelimit.Limiter // registration logins, per user and per server

	mu    sync.Mutex
	byJID map[string]*session

	wakeOut   chan struct{} // an outgoing mail was queued
	wakeRelay chan struct{} // a relay mail was stored
	pruned    time.Time     // last prune of finished work; only the delivery loop uses it
}

// Factory builds the bridge from [transport.options].
func Factory(domain string, raw map[string]any, deps bridges.Deps) (bridges.Bridge, error) {
	opts, err := parseOptions(raw)
	if err != nil {
		return nil, err
	}
	b := &Bridge{domain: domain, opts: opts, store: deps.Store, log: deps.LoggerOr(), sup: deps.Supervisor,
		byJID: map[string]*session{}, logins: ratelimit.New(ratelimit.Real),
		wakeOut: make(chan struct{}, 1), wakeRelay: make(chan struct{}, 1)}
	if opts.CAFile != "" {
		if b.tls, err = loadRoots(opts.CAFile); err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
	}
	return b, nil
}

// BindingField makes a mailbox belong to one XMPP account only.
func (b *Bridge) BindingField() string { return fieldEmail }

// Describe declares the registration form and settings.
func (b *Bridge) Describe() bridges.Descriptor {
	instr := "Give your email address and password; server names are guessed from the address " +
		"(imap.DOMAIN and smtp.DOMAIN) when left empty. Then chat with alice\\40example.net@" + b.domain + " to mail alice@example.net."
	if b.opts.Relay != nil {
		instr += " Without a mailbox you can still receive mail at addresses of " + b.opts.Relay.Domain +
			": leave the address empty and send \"alias add NAME\" after registering."
	}
	return bridges.Descriptor{
		Kind: Kind, Name: "Email", IdentityType: "smtp",
		Instructions:  instr,
		Fields:        b.fields(),
		Settings:      b.settingsFields(),
		GatewayDesc:   "Enter an email address",
		GatewayPrompt: "Email address",
		// Mail arrives whenever; the watcher must be there to take it.
		StayConnected: true,
		Receipts:      true,
		QuickFields:   []string{fieldEmail},
	}
}

// MapPrompt turns a typed address into its JID local part (XEP-0100).
func (b *Bridge) MapPrompt(_ context.Context, prompt string) (string, error) {
	lp, err := mailaddr.LocalPart(strings.TrimSpace(prompt))
	if err != nil {
		return "", bridges.Errorf(bridges.JIDMalformed, "%v", err)
	}
	return lp, nil
}

// Open starts the account's folder watchers (if it has a mailbox) and
// makes it reachable for relay mail and queued outgoing mail.
func (b *Bridge) Open(_ context.Context, acct bridges.Account, sink bridges.Events) (bridges.Session, error) {
	a, err := b.accountFrom(acct.Values)
	if err != nil {
		return nil, &bridges.Error{Condition: bridges.NotAcceptable, Text: "your registration is incomplete: register again", Cause: err}
	}
	s := newSession(b, acct.JID, a, acct.Settings, sink)
	b.mu.Lock()
	b.byJID[s.jid] = s
	b.mu.Unlock()
	s.start()
	backoff.Kick(b.wakeOut) // mail queued before a restart goes out now
	backoff.Kick(b.wakeRelay)
	return s, nil
}

func (b *Bridge) sessionFor(jid string) *session {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.byJID[jid]
}

func (b *Bridge) forget(s *session) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.byJID[s.jid] == s {
		delete(b.byJID, s.jid)
	}
}

// internal wraps a store failure as a user-safe error.
func internal(text string, err error) error {
	return &bridges.Error{Condition: bridges.InternalServer, Text: text, Cause: err}
}

// loadRoots trusts the system's roots and the certificates of a PEM file
// (a private CA of the operator's mail servers).
func loadRoots(file string) (*tls.Config, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

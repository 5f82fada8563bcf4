package sms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/sms/kannel"
	"github.com/ferry-xmpp/ferry/bridges/sms/numbers"
	"github.com/ferry-xmpp/ferry/bridges/sms/twilio"
	"github.com/ferry-xmpp/ferry/internal/backoff"
	"github.com/ferry-xmpp/ferry/internal/supervise"
	"github.com/ferry-xmpp/ferry/registry"
)

// Kind is the config kind of this bridge.
const Kind = "sms"

// Bridge is the SMS bridge of one transport.
type Bridge struct {
	domain   string
	opts     Options
	provider Provider
	store    registry.Store
	log      *slog.Logger
	sup      *supervise.Supervisor
	ln       net.Listener // bound by Listen, served by Run

	mu       sync.Mutex
	byJID    map[string]*session
	byNumber map[string]*session // E.164 -> session
	wake     chan struct{}
	limits   *limiters
}

// Factory builds the bridge from [transport.options].
func Factory(domain string, raw map[string]any, deps bridges.Deps) (bridges.Bridge, error) {
	opts, err := parseOptions(raw)
	if err != nil {
		return nil, err
	}
	b := &Bridge{domain: domain, opts: opts, store: deps.Store, log: deps.LoggerOr(), sup: deps.Supervisor,
		byJID: map[string]*session{}, byNumber: map[string]*session{},
		wake: make(chan struct{}, 1), limits: newLimiters(opts.PerNumber)}
	switch opts.Provider {
	case "kannel":
		k := opts.Kannel
		b.provider, err = kannel.New(kannel.Config{SendSMSURL: k["sendsms_url"], Username: k["username"],
			Password: k["password"], PublicURL: opts.PublicURL, Secret: k["secret"], Path: k["path"]})
	case "twilio":
		tw := opts.Twilio
		b.provider, err = twilio.New(twilio.Config{BaseURL: tw["base_url"], AccountSID: tw["account_sid"],
			AuthToken: tw["auth_token"], PublicURL: opts.PublicURL})
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Provider, err)
	}
	return b, nil
}

// BindingField makes a phone number belong to one account only.
func (b *Bridge) BindingField() string { return "number" }

// Describe declares the registration.
func (b *Bridge) Describe() bridges.Descriptor {
	number := bridges.Field{Var: "number", Label: "Your phone number", Type: bridges.TextSingle, Required: true, Legacy: "phone",
		Desc: "The number your texts come from, in international format: +12015550123."}
	instructions := "Text any phone: chat with +12015550123@" + b.domain + ". Give the number your texts come from."
	if len(b.opts.Pool) > 0 {
		number.Required = false
		number.Desc = "Leave empty to be given one of this gateway's numbers."
		instructions = "Text any phone: chat with +12015550123@" + b.domain + ". Give your number, or leave it empty to get one."
	}
	return bridges.Descriptor{
		Kind: Kind, Name: "SMS", IdentityType: "sms",
		Instructions: instructions,
		Fields: []bridges.Field{number,
			{Var: "region", Label: "Your country (for numbers typed without +)", Type: bridges.TextSingle, Default: b.opts.Region,
				Desc: "Two letters, e.g. US, GB, DE.", Advanced: true}},
		GatewayDesc:   "Enter a phone number",
		GatewayPrompt: "Phone number",
		// Texts arrive whenever; the session must always be there to take them.
		StayConnected: true,
		Receipts:      true,
		QuickFields:   []string{"number"},
	}
}

// CheckField checks the number (read with the region given, or the
// gateway's) and the region as they are typed in the chat registration.
func (b *Bridge) CheckField(_ context.Context, field, value string, values map[string]string) (string, error) {
	switch field {
	case "region":
		region := strings.ToUpper(value)
		if region != "" && !numbers.ValidRegion(region) {
			return "", bridges.Errorf(bridges.NotAcceptable, "%q is not a country code like US, GB or DE", value)
		}
		return region, nil
	case "number":
		if value == "" {
			if len(b.opts.Pool) == 0 {
				return "", bridges.Errorf(bridges.NotAcceptable, "your phone number is required, like +12015550123")
			}
			return "", nil
		}
		region := strings.ToUpper(values["region"])
		if region == "" {
			region = b.opts.Region
		}
		return b.checkNumber(value, region)
	}
	return value, nil
}

// Validate normalises the number and region and assigns a pool number.
func (b *Bridge) Validate(ctx context.Context, r bridges.Registration) (map[string]string, error) {
	v := map[string]string{}
	region := strings.ToUpper(strings.TrimSpace(r.Values["region"]))
	if region == "" {
		region = b.opts.Region
	}
	if !numbers.ValidRegion(region) {
		return nil, bridges.Errorf(bridges.NotAcceptable, "%q is not a country code like US, GB or DE", region)
	}
	v["region"] = region
	typed := strings.TrimSpace(r.Values["number"])
	if typed == "" {
		n, err := b.freePoolNumber(ctx, r.JID)
		if err != nil {
			return nil, err
		}
		v["number"] = n
		return v, nil
	}
	n, err := b.checkNumber(typed, region)
	if err != nil {
		return nil, err
	}
	v["number"] = n
	return v, nil
}

// checkNumber reads a number the user typed and returns it in E.164; with
// a pool it must be one of the pool's.
func (b *Bridge) checkNumber(typed, region string) (string, error) {
	n, err := numbers.Parse(typed, region)
	if err != nil || n.E164 == "" {
		return "", bridges.Errorf(bridges.NotAcceptable, "%s", numberError(err))
	}
	if len(b.opts.Pool) > 0 && !contains(b.opts.Pool, n.E164) {
		return "", bridges.Errorf(bridges.NotAllowed, "%s is not one of this gateway's numbers", n.E164)
	}
	return n.E164, nil
}

func numberError(err error) string {
	var ne *numbers.Error
	if errors.As(err, &ne) {
		return ne.Text
	}
	return "expected a phone number like +12015550123"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// freePoolNumber picks the first pool number no other account holds (the
// store's unique binding settles races between two registrations).
func (b *Bridge) freePoolNumber(ctx context.Context, jid string) (string, error) {
	if len(b.opts.Pool) == 0 {
		return "", bridges.Errorf(bridges.NotAcceptable, "your phone number is required, like +12015550123")
	}
	accts, err := b.store.ListAccounts(ctx, b.domain)
	if err != nil {
		return "", &bridges.Error{Condition: bridges.InternalServer, Text: "could not check the number pool", Cause: err}
	}
	taken := map[string]bool{}
	for _, a := range accts {
		if a.JID == jid {
			return a.Fields["number"], nil // keep the number already assigned
		}
		taken[a.Fields["number"]] = true
	}
	for _, n := range b.opts.Pool {
		if !taken[n] {
			return n, nil
		}
	}
	return "", bridges.Errorf("resource-constraint", "all of this gateway's numbers are taken")
}

// MapPrompt turns a typed number into its JID local part (XEP-0100).
func (b *Bridge) MapPrompt(_ context.Context, prompt string) (string, error) {
	n, err := numbers.Parse(prompt, b.opts.Region)
	if err != nil {
		return "", bridges.Errorf(bridges.JIDMalformed, "%s", numberError(err))
	}
	return n.LocalPart(), nil
}

// Open registers the account's number for inbound texts.
func (b *Bridge) Open(_ context.Context, acct bridges.Account, sink bridges.Events) (bridges.Session, error) {
	s := &session{b: b, jid: acct.JID, number: acct.Values["number"], region: acct.Values["region"], sink: sink}
	if s.region == "" {
		s.region = b.opts.Region
	}
	b.mu.Lock()
	b.byJID[s.jid] = s
	b.byNumber[s.number] = s
	b.mu.Unlock()
	sink.Status(bridges.Connected, "Texting as "+s.number)
	b.kick() // texts queued before a restart go out now
	return s, nil
}

func (b *Bridge) sessionFor(jid string) *session {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.byJID[jid]
}

func (b *Bridge) sessionForNumber(e164 string) *session {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.byNumber[e164]
}

func (b *Bridge) kick() { backoff.Kick(b.wake) }

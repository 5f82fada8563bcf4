// Package testbridge is a bridge that exists only for tests (and the demo
// build): a fake legacy network that echoes what it is sent. It lets the
// transport core be exercised end to end before real bridges exist.
package testbridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ferry-xmpp/ferry/bridges"
)

// Kind is the config kind this bridge registers under.
const Kind = "echo"

// Network is the fake legacy network: tests reach live sessions through it.
type Network struct {
	// VolatileInbound makes the bridge describe itself as a network that
	// cannot send a message again (bridges.Descriptor), as IRC does. Set
	// it before the bridge is made.
	VolatileInbound bool
	// PublicHistory is the bridge's bridges.Descriptor.PublicHistory: the
	// rooms whose whole history every registered user may read. Set it
	// before the bridge is made.
	PublicHistory func(room string) bool

	mu       sync.Mutex
	sessions map[string]*Session
	opened   chan string
	closed   chan string
}

// NewNetwork returns an empty fake network.
func NewNetwork() *Network {
	return &Network{sessions: map[string]*Session{}, opened: make(chan string, 100), closed: make(chan string, 100)}
}

// Factory returns a bridges.Factory bound to this network.
func (n *Network) Factory() bridges.Factory {
	return func(domain string, opts map[string]any, _ bridges.Deps) (bridges.Bridge, error) {
		b := &Bridge{net: n, stayConnected: true}
		if v, ok := opts["stay_connected"]; ok {
			stay, isBool := v.(bool)
			if !isBool {
				return nil, fmt.Errorf("stay_connected must be true or false")
			}
			b.stayConnected = stay
		}
		return b, nil
	}
}

// Session returns the live session of a user, or nil.
func (n *Network) Session(jid string) *Session {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sessions[jid]
}

// Opened delivers the JID of every session opened, for tests to wait on.
func (n *Network) Opened() <-chan string { return n.opened }

// Closed delivers the JID of every session closed.
func (n *Network) Closed() <-chan string { return n.closed }

// Bridge is the echo bridge.
type Bridge struct {
	net           *Network
	stayConnected bool
}

// Describe declares an account with a username, a password and a nick.
func (b *Bridge) Describe() bridges.Descriptor {
	return bridges.Descriptor{
		Kind: Kind, Name: "Echo", IdentityType: "echo",
		Instructions: "Enter any username and password; the password \"wrong\" is refused.",
		Fields: []bridges.Field{
			{Var: "username", Label: "Username", Type: bridges.TextSingle, Required: true, Legacy: "username"},
			{Var: "password", Label: "Password", Type: bridges.TextPrivate, Required: true, Legacy: "password"},
			{Var: "nick", Label: "Nickname", Type: bridges.TextSingle, Legacy: "nick", Advanced: true},
		},
		QuickFields:   []string{"username"},
		GatewayDesc:   "Enter the name of an echo peer",
		GatewayPrompt: "Peer name",
		// Configurable so tests cover both session policies.
		StayConnected:   b.stayConnected,
		VolatileInbound: b.net.VolatileInbound,
		PublicHistory:   b.net.PublicHistory,
		HistoryLines:    20,
	}
}

// Validate plays the part of a legacy login.
func (b *Bridge) Validate(_ context.Context, r bridges.Registration) (map[string]string, error) {
	if r.Values["password"] == "wrong" {
		return nil, bridges.Errorf(bridges.NotAuthorized, "login failed: wrong password")
	}
	if strings.ContainsAny(r.Values["username"], " \t@") {
		return nil, bridges.Errorf(bridges.NotAcceptable, "username may not contain spaces or @")
	}
	return r.Values, nil
}

// CheckField refuses, as it is typed, a username Validate would refuse.
func (b *Bridge) CheckField(_ context.Context, field, value string, _ map[string]string) (string, error) {
	if field == "username" && strings.ContainsAny(value, " \t@") {
		return "", bridges.Errorf(bridges.NotAcceptable, "username may not contain spaces or @")
	}
	return value, nil
}

// MapPrompt lower-cases a peer name.
func (b *Bridge) MapPrompt(_ context.Context, prompt string) (string, error) {
	p := strings.ToLower(strings.TrimSpace(prompt))
	if p == "" || strings.ContainsAny(p, " @/") {
		return "", bridges.Errorf(bridges.JIDMalformed, "a peer name is one word without @ or /")
	}
	return p, nil
}

// Open starts a session that is connected at once.
func (b *Bridge) Open(_ context.Context, acct bridges.Account, sink bridges.Events) (bridges.Session, error) {
	s := &Session{net: b.net, jid: acct.JID, Account: acct, sink: sink}
	b.net.mu.Lock()
	b.net.sessions[acct.JID] = s
	b.net.mu.Unlock()
	sink.Status(bridges.Connected, "Connected as "+acct.Values["username"])
	select {
	case b.net.opened <- acct.JID:
	default:
	}
	return s, nil
}

// Session is one user's fake legacy connection.
type Session struct {
	net     *Network
	jid     string
	Account bridges.Account
	sink    bridges.Events

	mu          sync.Mutex
	sent        []bridges.Message
	seen        map[string]bool
	nicks       map[string]string // room -> our nick
	undelivered []Undelivered
	// Joins and Leaves count what reached the fake network.
	Joins, Leaves int
}

// Counts returns how many joins and leaves reached the network.
func (s *Session) Counts() (joins, leaves int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Joins, s.Leaves
}

// Send records the message and echoes it back from the same peer.
func (s *Session) Send(ctx context.Context, m bridges.Message) error {
	if m.Peer == "unreachable" {
		return bridges.Errorf(bridges.RemoteServerNotFnd, "peer %s does not exist", m.Peer)
	}
	s.mu.Lock()
	s.sent = append(s.sent, m)
	first := !s.seen[m.Peer]
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[m.Peer] = true
	s.mu.Unlock()
	if first {
		// An echo peer "comes online" when first spoken to, so presence
		// mapping shows in the demo and tests.
		s.sink.PeerPresence(m.Peer, true, "echoing")
	}
	return s.sink.Receive(ctx, bridges.Message{ID: "echo-" + m.ID, Peer: m.Peer, Body: "echo: " + m.Body})
}

// Inject delivers a message from the fake network to the user.
func (s *Session) Inject(ctx context.Context, m bridges.Message) error { return s.sink.Receive(ctx, m) }

// InjectSent reports a message the user sent to a peer from elsewhere (as
// a mail client's Sent folder would), through the sink's optional
// bridges.SentElsewhereEvents.
func (s *Session) InjectSent(ctx context.Context, m bridges.Message) error {
	se, ok := s.sink.(bridges.SentElsewhereEvents)
	if !ok {
		return errors.New("testbridge: the sink cannot show messages sent elsewhere")
	}
	return se.SentElsewhere(ctx, m)
}

// Presence shows a peer online or offline.
func (s *Session) Presence(peer string, available bool) { s.sink.PeerPresence(peer, available, "") }

// Sent returns what the user sent so far.
func (s *Session) Sent() []bridges.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bridges.Message(nil), s.sent...)
}

// Close forgets the session.
func (s *Session) Close(context.Context, string) error {
	s.net.mu.Lock()
	if s.net.sessions[s.jid] == s {
		delete(s.net.sessions, s.jid)
	}
	s.net.mu.Unlock()
	select {
	case s.net.closed <- s.jid:
	default:
	}
	return nil
}

// ReportUndelivered implements bridges.UndeliveredReporter: the report is
// kept for the test to read.
func (s *Session) ReportUndelivered(_ context.Context, m bridges.Message, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.undelivered = append(s.undelivered, Undelivered{Peer: m.Peer, Body: m.Body, Reason: reason})
	return nil
}

// Undelivered is one report of a message the user's server refused.
type Undelivered struct{ Peer, Body, Reason string }

// UndeliveredReports returns the reports so far.
func (s *Session) UndeliveredReports() []Undelivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Undelivered(nil), s.undelivered...)
}

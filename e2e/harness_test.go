// Package e2e drives Ferry end to end: a real XMPP server on loopback
// (Prosody; the core and IRC flows also on ejabberd), Ferry attached as a
// component, and real XMPP clients logged in over c2s.
package e2e

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/email"
	"github.com/ferry-xmpp/ferry/bridges/irc"
	"github.com/ferry-xmpp/ferry/bridges/sms"
	"github.com/ferry-xmpp/ferry/config"
	"github.com/ferry-xmpp/ferry/internal/daemon"
	"github.com/ferry-xmpp/ferry/internal/testbridge"
	"github.com/ferry-xmpp/ferry/internal/testenv"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

const (
	transportDomain = "echo.localhost"
	secret          = "s3cret-component"
	wait            = 10 * time.Second
)

// ferry is one in-process Ferry instance.
type ferry struct {
	cfg    config.Config
	net    *testbridge.Network
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

type setup struct {
	xmpp  testenv.XMPPServer
	ferry *ferry
}

// passwords of the users every server is started with.
var passwords = map[string]string{"alice": "alicepw", "bob": "bobpw", "admin": "adminpw"}

// start brings up Prosody with users alice, bob and admin, and Ferry with
// the echo transport. mutate may adjust Ferry's config before it starts.
func start(t *testing.T, mutate func(*config.Config)) *setup {
	t.Helper()
	return startOn(t, "prosody", serverOptions{}, mutate)
}

// serverOptions are what a test asks of the XMPP server beyond the users
// and the components every setup has.
type serverOptions struct {
	// privileged: the transports get XEP-0356 roster and message permissions.
	privileged bool
}

// components every setup's server knows, with their secrets.
var components = map[string]string{transportDomain: secret, "broken.localhost": "right-secret", "irc.localhost": secret, "sms.localhost": secret, "mail.localhost": secret}

// forEachServer runs a test's flows against each XMPP server Ferry
// supports (Prosody and ejabberd), as subtests named after the server.
func forEachServer(t *testing.T, flow func(t *testing.T, server string)) {
	for _, server := range testenv.XMPPServers {
		t.Run(server, func(t *testing.T) { flow(t, server) })
	}
}

// startOn is start on the named XMPP server.
func startOn(t *testing.T, server string, so serverOptions, mutate func(*config.Config)) *setup {
	t.Helper()
	o := testenv.ServerOptions{Components: components, Users: passwords}
	if so.privileged {
		o.Privileged = slices.Sorted(maps.Keys(components))
	}
	p := testenv.StartServer(t, server, o)
	cfg := config.Defaults()
	dir := t.TempDir()
	cfg.Database = filepath.Join(dir, "ferry.db")
	cfg.SecretsKeyFile = filepath.Join(dir, "ferry.key")
	cfg.Admins = []string{"admin@localhost"}
	cfg.XMPP.Address = p.ComponentAddress()
	cfg.XMPP.ServerDomain = "localhost"
	cfg.XMPP.PingInterval = 2 * time.Second
	cfg.XMPP.PingTimeout = time.Second
	cfg.XMPP.ReconnectMin = 50 * time.Millisecond
	cfg.XMPP.ReconnectMax = 500 * time.Millisecond
	cfg.Registration.AllowedDomains = []string{"localhost"}
	cfg.Transports = []config.Transport{{Kind: testbridge.Kind, Domain: transportDomain, Secret: secret, Name: "Echo"}}
	if mutate != nil {
		mutate(&cfg)
	}
	s := &setup{xmpp: p}
	s.ferry = runFerry(t, cfg)
	return s
}

func runFerry(t *testing.T, cfg config.Config) *ferry {
	t.Helper()
	f := &ferry{cfg: cfg, net: testbridge.NewNetwork(), done: make(chan error, 1), logs: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	log := slog.New(slog.NewTextHandler(io.MultiWriter(f.logs, testWriter(t)), &slog.HandlerOptions{Level: slog.LevelDebug}))
	ready := make(chan struct{})
	go func() {
		f.done <- daemon.Run(ctx, daemon.Options{Config: cfg, Logger: log, Version: "test", Ready: ready,
			Bridges: map[string]bridges.Factory{testbridge.Kind: f.net.Factory(), irc.Kind: irc.Factory, sms.Kind: sms.Factory, email.Kind: email.Factory}})
	}()
	select {
	case <-ready:
	case err := <-f.done:
		t.Fatalf("ferry did not start: %v", err)
	case <-time.After(wait):
		t.Fatal("ferry did not start in time")
	}
	t.Cleanup(func() { f.stop(t) })
	return f
}

// stop shuts Ferry down gracefully and waits for it.
func (f *ferry) stop(t *testing.T) {
	if f.cancel == nil {
		return
	}
	f.cancel()
	f.cancel = nil
	select {
	case err := <-f.done:
		if err != nil {
			t.Errorf("ferry exited with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("ferry did not stop within 20s")
	}
}

// login logs a user in and waits until the transport answers a ping, so
// the component link is known to be up (a protocol round trip, no sleep).
func (s *setup) login(t *testing.T, user, resource string) *testenv.Client {
	t.Helper()
	c := s.xmpp.Login(t, user, passwords[user], resource)
	waitLinkUp(t, c)
	return c
}

func waitLinkUp(t *testing.T, c *testenv.Client) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		r := c.IQ(t, wait, `<iq type="get" to="`+transportDomain+`"><ping xmlns="urn:xmpp:ping"/></iq>`)
		if r.Attr["type"] == "result" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("transport never answered a ping: %s", r.XML)
		}
	}
}

// node parses a stanza the client received.
func node(t *testing.T, s *testenv.Stanza) *xmlnode.Node {
	t.Helper()
	n, err := xmlnode.Parse([]byte(s.XML))
	if err != nil {
		t.Fatalf("parse %q: %v", s.XML, err)
	}
	return n
}

// from matches stanzas of a kind from a given address with a given type.
func from(kind, addr, typ string) func(*testenv.Stanza) bool {
	return func(s *testenv.Stanza) bool {
		return s.Name == kind && strings.SplitN(s.Attr["from"], "/", 2)[0] == addr && s.Attr["type"] == typ
	}
}

// chatFrom matches a chat message from addr whose body contains text.
func chatFrom(addr, text string) func(*testenv.Stanza) bool {
	return func(s *testenv.Stanza) bool {
		return s.Name == "message" && strings.SplitN(s.Attr["from"], "/", 2)[0] == addr && strings.Contains(s.XML, text)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// testWriter sends Ferry's logs to the test log only when FERRY_TEST_LOG is set.
func testWriter(t *testing.T) io.Writer {
	if os.Getenv("FERRY_TEST_LOG") == "" {
		return io.Discard
	}
	return tWriter{t}
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

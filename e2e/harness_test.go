// Package e2e drives Ferry end to end: a real Prosody on loopback, Ferry
// attached as a component, and real XMPP clients logged in over c2s.
package e2e

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
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
	prosody *testenv.Prosody
	ferry   *ferry
}

// start brings up Prosody with users alice, bob and admin, and Ferry with
// the echo transport. mutate may adjust Ferry's config before it starts.
func start(t *testing.T, mutate func(*config.Config)) *setup {
	t.Helper()
	testenv.Need(t, "prosody")
	p := testenv.StartProsody(t, testenv.ProsodyOptions{
		Components: map[string]string{transportDomain: secret, "broken.localhost": "right-secret", "irc.localhost": secret, "sms.localhost": secret, "mail.localhost": secret},
		Users:      map[string]string{"alice": "alicepw", "bob": "bobpw", "admin": "adminpw"},
	})
	cfg := config.Defaults()
	dir := t.TempDir()
	cfg.Database = filepath.Join(dir, "ferry.db")
	cfg.SecretsKeyFile = filepath.Join(dir, "ferry.key")
	cfg.Admins = []string{"admin@localhost"}
	cfg.XMPP.Address = p.ComponentAddr
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
	s := &setup{prosody: p}
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
	c := s.prosody.Login(t, user, map[string]string{"alice": "alicepw", "bob": "bobpw", "admin": "adminpw"}[user], resource)
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

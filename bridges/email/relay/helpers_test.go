package relay

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain checks that Close leaves no goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testDomain = "relay.example.org"

// memDir is an in-memory Directory that records its calls.
type memDir struct {
	mu    sync.Mutex
	addrs map[string]Recipient
	err   error
	calls []string
}

func newDir(rs ...Recipient) *memDir {
	d := &memDir{addrs: make(map[string]Recipient)}
	for _, r := range rs {
		d.addrs[r.Address] = r
	}
	return d
}

func (d *memDir) Lookup(_ context.Context, address string) (Recipient, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, address)
	if d.err != nil {
		return Recipient{}, false, d.err
	}
	r, ok := d.addrs[address]
	return r, ok, nil
}

func (d *memDir) lookups() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...)
}

// recorder is a Deliver that records envelopes, or fails with err.
type recorder struct {
	mu   sync.Mutex
	envs []Envelope
	// failFor, if set, makes Deliver fail for the recipient address it
	// names ("*" for all).
	failFor string
}

func (r *recorder) deliver(_ context.Context, e Envelope) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failFor == "*" || r.failFor == e.Recipient.Address {
		return errors.New("disk full")
	}
	e.Data = append([]byte(nil), e.Data...)
	r.envs = append(r.envs, e)
	return nil
}

func (r *recorder) got() []Envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Envelope(nil), r.envs...)
}

var (
	alice = Recipient{Address: "alice@" + testDomain, Owner: "alice@xmpp.example"}
	bob   = Recipient{Address: "bob@" + testDomain, Owner: "bob@xmpp.example"}
	// guarded accepts mail only from boss@x.org and the domain y.org.
	guarded = Recipient{
		Address: "guarded@" + testDomain,
		Owner:   "carol@xmpp.example",
		Senders: []string{"boss@x.org", "@y.org"},
	}
)

// start runs a server on a loopback port for the duration of the test.
func start(t *testing.T, cfg Config, dir Directory, deliver Deliver) (*Server, string) {
	t.Helper()
	if cfg.Domains == nil {
		cfg.Domains = []string{testDomain}
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "mx.relay.test"
	}
	s, err := New(cfg, dir, deliver)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, ln.Addr().String()
}

// client is a raw SMTP client, so that tests control every byte and see
// every reply.
type client struct {
	t    *testing.T
	conn net.Conn
	tp   *textproto.Conn
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := &client{t: t, conn: conn, tp: textproto.NewConn(conn)}
	t.Cleanup(func() { c.tp.Close() })
	if code, msg, err := c.tp.ReadResponse(220); err != nil {
		t.Fatalf("greeting: %d %q %v", code, msg, err)
	}
	return c
}

// hello dials and says EHLO.
func hello(t *testing.T, addr string) *client {
	t.Helper()
	c := dial(t, addr)
	c.expect("EHLO client.example", 250, "")
	return c
}

// cmd sends one line and returns the reply.
func (c *client) cmd(line string) (int, string) {
	c.t.Helper()
	if err := c.tp.PrintfLine("%s", line); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
	return c.read()
}

func (c *client) read() (int, string) {
	c.t.Helper()
	code, msg, err := c.tp.ReadResponse(0)
	if err != nil && code == 0 {
		c.t.Fatalf("read reply: %v", err)
	}
	return code, msg
}

// expect sends line and checks the reply code and that the text starts
// with prefix (an enhanced status code, typically).
func (c *client) expect(line string, code int, prefix string) string {
	c.t.Helper()
	got, msg := c.cmd(line)
	if got != code || !strings.HasPrefix(msg, prefix) {
		c.t.Fatalf("%q: got %d %q, want %d %s...", line, got, msg, code, prefix)
	}
	return msg
}

// data sends DATA and the message and returns the final reply.
func (c *client) data(msg string) (int, string) {
	c.t.Helper()
	c.expect("DATA", 354, "")
	w := c.tp.DotWriter()
	if _, err := w.Write([]byte(msg)); err != nil {
		c.t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		c.t.Fatal(err)
	}
	return c.read()
}

// send runs a whole transaction that must succeed.
func (c *client) send(from string, to []string, msg string) {
	c.t.Helper()
	c.expect("MAIL FROM:<"+from+">", 250, "2.")
	for _, a := range to {
		c.expect("RCPT TO:<"+a+">", 250, "2.")
	}
	if code, text := c.data(msg); code != 250 {
		c.t.Fatalf("DATA: %d %s", code, text)
	}
}

func message(body string) string {
	return "From: sender@x.org\r\nTo: alice@relay.example.org\r\nSubject: test\r\n" +
		"Message-ID: <test@x.org>\r\n\r\n" + body + "\r\n"
}

// lockedBuffer is a log destination safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

func addrs(envs []Envelope) []string {
	var s []string
	for _, e := range envs {
		s = append(s, e.Recipient.Address)
	}
	return s
}

func mustEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

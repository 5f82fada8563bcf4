package ircconn

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
	"go.uber.org/goleak"

	"github.com/ferry-xmpp/ferry/internal/netpoll"
)

// serveFlag runs the tests with a goroutine reading each connection
// (Serve, where there is no poller) instead of the poller (Watch).
var serveFlag = flag.Bool("serve", false, "read connections with Serve instead of Watch")

// testPoller watches the tests' connections (unless -serve).
var testPoller *netpoll.Poller

func TestMain(m *testing.M) {
	p, err := netpoll.Open()
	if err != nil {
		fmt.Fprintln(os.Stderr, "no poller, connections are served by goroutines:", err)
	}
	testPoller = p
	code := m.Run()
	if p != nil {
		p.Close()
	}
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreAnyFunction("github.com/ferry-xmpp/ferry/internal/serial.(*pool).work")); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// step bounds every wait of the tests; nothing waits that long unless the
// code under test is broken.
const step = 5 * time.Second

// fakeServer is a scripted IRC server: the test goroutine accepts one
// connection at a time and plays the server's side line by line.
type fakeServer struct {
	t   *testing.T
	ln  net.Listener // tcp, or TLS over tcp
	tcp *net.TCPListener
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &fakeServer{t: t, ln: ln, tcp: ln.(*net.TCPListener)}
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

func (s *fakeServer) accept() *peer {
	s.t.Helper()
	s.tcp.SetDeadline(time.Now().Add(step))
	c, err := s.ln.Accept()
	if err != nil {
		s.t.Fatalf("accept: %v", err)
	}
	s.t.Cleanup(func() { c.Close() })
	return &peer{t: s.t, conn: c, r: bufio.NewReader(c)}
}

// peer is the server's end of one client connection.
type peer struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// readLine returns the next line the client wrote, without CR LF.
func (p *peer) readLine() string {
	p.t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(step))
	line, err := p.r.ReadString('\n')
	if err != nil {
		p.t.Fatalf("server: reading a line from the client: %v (partial %q)", err, line)
	}
	if !strings.HasSuffix(line, "\r\n") {
		p.t.Fatalf("server: line %q not terminated by CR LF", line)
	}
	return strings.TrimSuffix(line, "\r\n")
}

func (p *peer) expect(want ...string) {
	p.t.Helper()
	for _, w := range want {
		if got := p.readLine(); got != w {
			p.t.Fatalf("server: got %q, want %q", got, w)
		}
	}
}

func (p *peer) send(lines ...string) {
	p.t.Helper()
	for _, l := range lines {
		if _, err := io.WriteString(p.conn, l+"\r\n"); err != nil {
			p.t.Fatalf("server: writing %q: %v", l, err)
		}
	}
}

// expectEOF reads until the client hangs up and returns the lines read.
func (p *peer) expectEOF() []string {
	p.t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(step))
	var lines []string
	for {
		line, err := p.r.ReadString('\n')
		if errors.Is(err, io.EOF) {
			return lines
		}
		if err != nil {
			p.t.Fatalf("server: waiting for the client to hang up: %v (got %q)", err, lines)
		}
		lines = append(lines, strings.TrimSuffix(line, "\r\n"))
	}
}

// expectHello reads PASS (if any), CAP LS 302, NICK and USER.
func (p *peer) expectHello(pass, nick string) {
	p.t.Helper()
	if pass != "" {
		p.expect("PASS " + pass)
	}
	p.expect("CAP LS 302", "NICK "+nick, "USER "+nick+" 0 * "+nick)
}

// welcome sends the welcome burst ending with the end of MOTD.
func (p *peer) welcome(nick string) {
	p.send(
		":srv 001 "+nick+" :Welcome to the test network "+nick,
		":srv 002 "+nick+" :Your host is srv",
		":srv 005 "+nick+" CHANTYPES=# PREFIX=(qaohv)~&@%+ NICKLEN=30 :are supported by this server",
		":srv 005 "+nick+" NETWORK=Test\\x20Net CASEMAPPING=ascii CHANNELLEN=64 TOPICLEN=307 :are supported by this server",
		":srv 375 "+nick+" :- srv Message of the day -",
		":srv 372 "+nick+" :- hello",
		":srv 376 "+nick+" :End of /MOTD command.",
	)
}

// registerPlain plays a server whose CAP LS offers nothing.
func (p *peer) registerPlain(nick string) {
	p.t.Helper()
	p.expectHello("", nick)
	p.send(":srv CAP * LS :")
	p.expect("CAP END")
	p.welcome(nick)
}

type dialResult struct {
	c   *Conn
	err error
}

func dialAsync(cfg Config) <-chan dialResult {
	ch := make(chan dialResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*step)
		defer cancel()
		c, err := Dial(ctx, cfg)
		ch <- dialResult{c, err}
	}()
	return ch
}

func waitDial(t *testing.T, ch <-chan dialResult) (*Conn, error) {
	t.Helper()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-time.After(2 * step):
		t.Fatal("Dial did not return")
		return nil, nil
	}
}

func mustDial(t *testing.T, ch <-chan dialResult) *Conn {
	t.Helper()
	return mustDialBuffered(t, ch, 1024)
}

// mustDialBuffered dials and serves the connection into a channel of
// buffer messages: a consumer that stops reading it blocks the handler.
func mustDialBuffered(t *testing.T, ch <-chan dialResult, buffer int) *Conn {
	t.Helper()
	c, err := waitDial(t, ch)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	serveForTest(t, c, buffer)
	return c
}

// serveForTest runs c's Serve into a channel of buffer messages (see
// messages) until the test ends.
func serveForTest(t *testing.T, c *Conn, buffer int) {
	msgs := make(chan ircmsg.Message, buffer)
	served.Store(c, msgs)
	handle := func(m ircmsg.Message) { msgs <- m }
	watched := false
	if !*serveFlag && testPoller != nil {
		err := c.Watch(testPoller, handle, func(error) { close(msgs) })
		if err != nil && !errors.Is(err, ErrNotWatchable) {
			t.Fatalf("Watch: %v", err)
		}
		watched = err == nil
	}
	if !watched {
		go func() {
			_ = c.Serve(handle)
			close(msgs)
		}()
	}
	t.Cleanup(func() {
		closeQuick(c)
		for range msgs { // let the handler finish
		}
	})
}

// served maps each connection of the tests to the channel its handler
// feeds.
var served sync.Map

// messages is what c's handler received, in order; it is closed once
// Serve has returned.
func messages(c *Conn) <-chan ircmsg.Message {
	ch, _ := served.Load(c)
	return ch.(chan ircmsg.Message)
}

// closeQuick closes c without waiting for a scripted server to answer the
// QUIT (it ends Close's linger early).
func closeQuick(c *Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c.Close(ctx, "")
}

// wantErrKind checks that err is an *Error of kind k (and code, if set).
func wantErrKind(t *testing.T, err error, k ErrorKind, code string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if e.Kind != k || (code != "" && e.Code != code) {
		t.Fatalf("error %q: kind %v code %q, want kind %v code %q", e, e.Kind, e.Code, k, code)
	}
	return e
}

// next returns the next message from c, failing after step.
func next(t *testing.T, c *Conn) ircmsg.Message {
	t.Helper()
	select {
	case m, ok := <-messages(c):
		if !ok {
			t.Fatalf("Serve returned: %v", c.Err())
		}
		return m
	case <-time.After(step):
		t.Fatal("no message")
	}
	return ircmsg.Message{}
}

// skipBurst consumes the welcome burst sent by peer.welcome.
func skipBurst(t *testing.T, c *Conn) {
	t.Helper()
	for {
		if m := next(t, c); m.Command == "376" {
			return
		}
	}
}

// waitClosed waits for Serve to return, discarding what is left.
func waitClosed(t *testing.T, c *Conn) {
	t.Helper()
	timeout := time.After(step)
	for {
		select {
		case _, ok := <-messages(c):
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("Serve did not return")
		}
	}
}

// fakeClock is a manual Clock: time moves only by Advance.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	changed chan struct{} // closed and replaced when timers change
}

type fakeTimer struct {
	clk  *fakeClock
	when time.Time
	c    chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), changed: make(chan struct{})}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{clk: f, when: f.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- f.now
		return t
	}
	f.timers = append(f.timers, t)
	f.notify()
	return t
}

func (f *fakeClock) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	f := t.clk
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, x := range f.timers {
		if x == t {
			f.timers = append(f.timers[:i], f.timers[i+1:]...)
			f.notify()
			return true
		}
	}
	return false
}

// Advance moves the clock and fires the timers that are due.
func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	sort.Slice(f.timers, func(i, j int) bool { return f.timers[i].when.Before(f.timers[j].when) })
	kept := f.timers[:0]
	for _, t := range f.timers {
		if !t.when.After(f.now) {
			t.c <- f.now
		} else {
			kept = append(kept, t)
		}
	}
	f.timers = kept
	f.notify()
}

// waitTimers waits until n timers are pending and returns how long until
// the earliest fires.
func (f *fakeClock) waitTimers(t *testing.T, n int) time.Duration {
	t.Helper()
	deadline := time.After(step)
	for {
		f.mu.Lock()
		if len(f.timers) >= n {
			earliest := f.timers[0].when
			for _, x := range f.timers {
				if x.when.Before(earliest) {
					earliest = x.when
				}
			}
			d := earliest.Sub(f.now)
			f.mu.Unlock()
			return d
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("fake clock: %d timers never pending", n)
		}
	}
}

type msg = ircmsg.Message

// waitFor returns the first message from c that satisfies pred.
func waitFor(t *testing.T, c *Conn, pred func(m msg) bool) msg {
	t.Helper()
	for {
		if m := next(t, c); pred(m) {
			return m
		}
	}
}

// sendRaw writes s as it is: part of a line, or several.
func (p *peer) sendRaw(s string) {
	p.t.Helper()
	if _, err := io.WriteString(p.conn, s); err != nil {
		p.t.Fatalf("server: writing %q: %v", s, err)
	}
}

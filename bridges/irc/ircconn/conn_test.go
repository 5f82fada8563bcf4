package ircconn

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
)

// registered dials s with cfg and plays a plain registration; the welcome
// burst is consumed.
func registered(t *testing.T, s *fakeServer, cfg Config) (*Conn, *peer) {
	t.Helper()
	ch := dialAsync(cfg)
	p := s.accept()
	p.registerPlain(cfg.Nick)
	c := mustDial(t, ch)
	skipBurst(t, c)
	return c, p
}

func privmsg(target, text string) ircmsg.Message {
	return ircmsg.MakeMessage(nil, "", "PRIVMSG", target, text)
}

func TestPingAnswered(t *testing.T) {
	s := newFakeServer(t)
	c, p := registered(t, s, baseConfig(s.addr()))
	p.send("PING :irc.example.net", ":bob!b@h NOTICE alice :after the ping")
	p.expect("PONG irc.example.net")
	// The PING is not delivered.
	if m := next(t, c); m.Command != "NOTICE" {
		t.Fatalf("got %s %v, want the NOTICE", m.Command, m.Params)
	}
	// Tags survive parsing.
	p.send("@time=2025-01-01T00:00:00.000Z;+draft/reply=x :bob!b@h PRIVMSG #c :tagged")
	m := next(t, c)
	if ok, v := m.GetTag("time"); !ok || v != "2025-01-01T00:00:00.000Z" {
		t.Errorf("time tag = %q %v", v, ok)
	}
}

func TestNickTracking(t *testing.T) {
	s := newFakeServer(t)
	c, p := registered(t, s, baseConfig(s.addr()))
	p.send(":bob!b@h NICK robert", ":ALICE!a@h NICK alice2", ":x!x@x NOTICE alice2 :sync")
	for next(t, c).Command != "NOTICE" {
	}
	if c.Nick() != "alice2" {
		t.Fatalf("Nick() = %q, want alice2", c.Nick())
	}
}

func TestCapNewDel(t *testing.T) {
	s := newFakeServer(t)
	c, p := registered(t, s, baseConfig(s.addr()))
	p.send(":srv CAP alice NEW :away-notify draft/unknown")
	p.expect("CAP REQ away-notify")
	p.send(":srv CAP alice ACK :away-notify")
	for next(t, c).Params[1] != "ACK" {
	}
	if !c.Caps()["away-notify"] {
		t.Fatalf("Caps() = %v", c.Caps())
	}
	p.send(":srv CAP alice DEL :away-notify")
	for next(t, c).Params[1] != "DEL" {
	}
	if c.Caps()["away-notify"] {
		t.Fatalf("Caps() = %v after DEL", c.Caps())
	}
}

func TestKeepaliveTimeout(t *testing.T) {
	s := newFakeServer(t)
	cfg := baseConfig(s.addr())
	cfg.PingInterval, cfg.PingTimeout = 100*time.Millisecond, 100*time.Millisecond
	c, p := registered(t, s, cfg)

	// Silence for the interval: a PING goes out.
	p.expect("PING ferry-keepalive-1")
	// The server answers; the PONG is not delivered, the next line is.
	p.send(":srv PONG srv :ferry-keepalive-1", ":srv NOTICE alice :still here")
	if m := next(t, c); m.Command != "NOTICE" {
		t.Fatalf("got %s, want the NOTICE", m.Command)
	}
	// Quiet again: another PING, which nobody answers this time.
	p.expect("PING ferry-keepalive-2")
	waitClosed(t, c)
	e := wantErrKind(t, c.Err(), KindPingTimeout, "")
	if !strings.Contains(e.Error(), "ping timeout") {
		t.Errorf("Err() = %q", e)
	}
	p.expectEOF()
}

func TestKeepaliveRealClock(t *testing.T) {
	// The same with the real clock and short intervals.
	s := newFakeServer(t)
	cfg := baseConfig(s.addr())
	cfg.PingInterval, cfg.PingTimeout = 50*time.Millisecond, 50*time.Millisecond
	c, p := registered(t, s, cfg)
	p.expect("PING ferry-keepalive-1")
	waitClosed(t, c)
	wantErrKind(t, c.Err(), KindPingTimeout, "")
}

func TestRateLimit(t *testing.T) {
	s := newFakeServer(t)
	clk := newFakeClock()
	cfg := baseConfig(s.addr())
	cfg.Clock, cfg.Burst, cfg.Rate = clk, 3, 0.5 // 3 at once, then one per 2s
	c, p := registered(t, s, cfg)

	ctx := context.Background()
	for i := range 10 {
		if err := c.Send(ctx, privmsg("#chan", fmt.Sprintf("line %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	// The burst goes out without the clock moving.
	for i := range 3 {
		p.expect(fmt.Sprintf("PRIVMSG #chan :line %d", i))
	}
	// The writer now waits 2s on the clock for the 4th line: the time is
	// frozen, so nothing else can have been written.
	for i := 3; i < 10; i++ {
		if d := clk.waitTimers(t, 1); d != 2*time.Second {
			t.Fatalf("line %d: writer waits %s, want 2s", i, d)
		}
		clk.Advance(2 * time.Second)
		p.expect(fmt.Sprintf("PRIVMSG #chan :line %d", i))
	}
	// The bucket refills: after 6s of quiet, 3 lines go out at once.
	clk.Advance(6 * time.Second)
	for i := range 3 {
		c.Send(ctx, privmsg("#chan", fmt.Sprintf("again %d", i)))
	}
	for i := range 3 {
		p.expect(fmt.Sprintf("PRIVMSG #chan :again %d", i))
	}
}

func TestSendInvalid(t *testing.T) {
	s := newFakeServer(t)
	c, p := registered(t, s, baseConfig(s.addr()))
	ctx := context.Background()
	bad := []ircmsg.Message{
		privmsg("#chan", "two\r\nQUIT :injected"),
		privmsg("#chan", "line\nfeed"),
		privmsg("#chan", "nul\x00"),
		privmsg("#chan", strings.Repeat("x", 600)),
		ircmsg.MakeMessage(nil, "", "PRIVMSG", "#a b", "space in a middle param"),
		ircmsg.MakeMessage(nil, "", ""),
	}
	for _, m := range bad {
		if err := c.Send(ctx, m); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("Send(%q) = %v, want ErrInvalidMessage", m.Params, err)
		}
	}
	for _, raw := range []string{"PRIVMSG #chan :a\rb", "PRIVMSG #chan :a\nQUIT", "", "PRIVMSG #chan :a\x00"} {
		if err := c.SendRaw(ctx, raw); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("SendRaw(%q) = %v, want ErrInvalidMessage", raw, err)
		}
	}
	// Nothing was written: the next line the server sees is this one.
	if err := c.SendRaw(ctx, "PRIVMSG #chan :fine"); err != nil {
		t.Fatal(err)
	}
	p.expect("PRIVMSG #chan fine")
}

func TestCloseFlushesQueue(t *testing.T) {
	s := newFakeServer(t)
	clk := newFakeClock()
	cfg := baseConfig(s.addr())
	cfg.Clock, cfg.Burst, cfg.Rate = clk, 1, 1
	c, p := registered(t, s, cfg)
	ctx := context.Background()
	for i := range 4 {
		if err := c.Send(ctx, privmsg("#chan", fmt.Sprintf("queued %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- c.Close(ctx, "bye now") }()
	p.expect("PRIVMSG #chan :queued 0")
	for i := 1; i < 4; i++ {
		clk.waitTimers(t, 1)
		clk.Advance(time.Second)
		p.expect(fmt.Sprintf("PRIVMSG #chan :queued %d", i))
	}
	clk.waitTimers(t, 1)
	clk.Advance(time.Second)
	p.expect("QUIT :bye now")
	if err := c.Send(ctx, privmsg("#chan", "too late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	p.send("ERROR :Closing link (Quit: bye now)")
	p.conn.Close()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The ERROR answering our QUIT was delivered before the end.
	var last ircmsg.Message
	for m := range messages(c) {
		last = m
	}
	if last.Command != "ERROR" {
		t.Errorf("last message %v, want the ERROR", last)
	}
	wantErrKind(t, c.Err(), KindClosed, "")
}

func TestCloseTimeout(t *testing.T) {
	// The queue cannot drain (the clock never moves): Close gives up at
	// its context's deadline and still ends everything.
	s := newFakeServer(t)
	clk := newFakeClock()
	cfg := baseConfig(s.addr())
	cfg.Clock, cfg.Burst, cfg.Rate = clk, 1, 0.001
	c, p := registered(t, s, cfg)
	ctx := context.Background()
	c.Send(ctx, privmsg("#chan", "one"))
	c.Send(ctx, privmsg("#chan", "two"))
	p.expect("PRIVMSG #chan one")
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err := c.Close(cctx, "")
	wantErrKind(t, err, KindTimeout, "")
	waitClosed(t, c)
	wantErrKind(t, c.Err(), KindClosed, "")
	if rest := p.expectEOF(); len(rest) != 0 {
		t.Errorf("written after the deadline: %q", rest)
	}
}

func TestSendBlocksWhenQueueFull(t *testing.T) {
	s := newFakeServer(t)
	clk := newFakeClock()
	cfg := baseConfig(s.addr())
	cfg.Clock, cfg.Burst, cfg.Rate, cfg.QueueSize = clk, 1, 1, 2
	c, p := registered(t, s, cfg)
	ctx := context.Background()
	c.Send(ctx, privmsg("#c", "0"))
	p.expect("PRIVMSG #c 0")
	c.Send(ctx, privmsg("#c", "1"))
	clk.waitTimers(t, 1) // the writer holds "1" and waits for a token
	c.Send(ctx, privmsg("#c", "2"))
	c.Send(ctx, privmsg("#c", "3"))
	// The queue is full: Send blocks until its context ends.
	sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := c.Send(sctx, privmsg("#c", "4")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send on a full queue = %v, want DeadlineExceeded", err)
	}
	// Everything accepted arrives, in order; the refused line does not.
	for i := 1; i <= 3; i++ {
		clk.waitTimers(t, 1)
		clk.Advance(time.Second)
		p.expect(fmt.Sprintf("PRIVMSG #c %d", i))
	}
	c.Send(ctx, privmsg("#c", "5"))
	clk.waitTimers(t, 1)
	clk.Advance(time.Second)
	p.expect("PRIVMSG #c 5")
}

func TestServerHangsUp(t *testing.T) {
	s := newFakeServer(t)
	c, p := registered(t, s, baseConfig(s.addr()))
	p.conn.Close()
	waitClosed(t, c)
	wantErrKind(t, c.Err(), KindServer, "")
	if err := c.Send(context.Background(), privmsg("#c", "x")); err == nil || !errors.Is(err, &Error{Kind: KindServer}) {
		t.Errorf("Send on a dead conn = %v", err)
	}
	if err := c.Close(context.Background(), ""); err != nil {
		t.Errorf("Close of a dead conn = %v", err)
	}
	wantErrKind(t, c.Err(), KindServer, "") // Close does not hide why it died
}

func TestServerERROR(t *testing.T) {
	s := newFakeServer(t)
	c, p := registered(t, s, baseConfig(s.addr()))
	p.send("ERROR :Closing Link: alice[127.0.0.1] (Killed (oper (spam)))")
	if m := next(t, c); m.Command != "ERROR" {
		t.Fatalf("got %v", m)
	}
	waitClosed(t, c)
	e := wantErrKind(t, c.Err(), KindServer, "")
	if !strings.Contains(e.Error(), "Killed (oper (spam))") {
		t.Errorf("Err() = %q", e)
	}
}

func TestSlowConsumer(t *testing.T) {
	// The consumer reads nothing: the handler blocks, the connection is
	// not read, the keepalive does not blame the server, and Close still
	// ends it all.
	s := newFakeServer(t)
	cfg := baseConfig(s.addr())
	cfg.PingInterval, cfg.PingTimeout = 20*time.Millisecond, 20*time.Millisecond
	ch := dialAsync(cfg)
	p := s.accept()
	p.registerPlain("alice")
	c := mustDialBuffered(t, ch, 2)
	for i := range 20 {
		p.send(fmt.Sprintf(":bob!b@h PRIVMSG alice :%d", i))
	}
	// Many keepalive intervals pass while the handler is held.
	select {
	case <-c.Done():
		t.Fatalf("connection ended while its consumer was slow: %v", c.Err())
	case <-time.After(200 * time.Millisecond):
	}
	// The consumer catches up: everything arrives in order.
	skipBurst(t, c)
	for i := range 20 {
		if m := next(t, c); m.Params[1] != fmt.Sprint(i) {
			t.Fatalf("got %v, want %d", m.Params, i)
		}
	}
	closeQuick(c)
	waitClosed(t, c)
	// No keepalive PING was sent while the handler was held; one may have
	// been sent once the reader was idle again.
	for _, line := range p.expectEOF() {
		if line != "QUIT" && !strings.HasPrefix(line, "PING ferry-keepalive-") {
			t.Errorf("client wrote %q", line)
		}
	}
}

func TestCloseWhileStalled(t *testing.T) {
	s := newFakeServer(t)
	cfg := baseConfig(s.addr())
	ch := dialAsync(cfg)
	p := s.accept()
	p.registerPlain("alice")
	c := mustDialBuffered(t, ch, 1)
	for i := range 10 {
		p.send(fmt.Sprintf(":bob!b@h PRIVMSG alice :%d", i))
	}
	closeQuick(c)
	if c.Err() == nil {
		t.Fatal("Err() nil after Close")
	}
	waitClosed(t, c)
}

func TestPanicRecovered(t *testing.T) {
	s := newFakeServer(t)
	c, _ := registered(t, s, baseConfig(s.addr()))
	var err error
	func() {
		defer c.recoverPanic("test", &err)
		panic("boom")
	}()
	if err == nil {
		t.Fatal("no error returned after the panic")
	}
	waitClosed(t, c)
	e := wantErrKind(t, c.Err(), KindInternal, "")
	if !strings.Contains(e.Error(), "panic in test: boom") {
		t.Errorf("Err() = %q", e)
	}
}

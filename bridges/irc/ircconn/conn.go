package ircconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
	"golang.org/x/time/rate"

	"github.com/ferry-xmpp/ferry/internal/netpoll"
	"github.com/ferry-xmpp/ferry/internal/serial"
	"github.com/ferry-xmpp/ferry/internal/smallmap"
)

// ErrInvalidMessage is wrapped by Send's and SendRaw's errors for a message
// that cannot be put on the wire (CR, LF or NUL, a bad parameter, a line
// over 512 bytes, tags over 4094 bytes). Nothing is written then.
var ErrInvalidMessage = errors.New("ircconn: invalid message")

const (
	// keepaliveToken starts the parameter of keepalive PINGs; the
	// matching PONGs are not delivered to the handler.
	keepaliveToken = "ferry-keepalive-"
	// writeTimeout bounds one socket write, so a server that stops
	// reading cannot wedge the writer.
	writeTimeout = 2 * time.Minute
	// quitLinger is how long Close waits, after QUIT is written, for the
	// server to hang up before closing the socket itself.
	quitLinger = 2 * time.Second
)

// Conn is a registered IRC connection. Serve reads it on the caller's
// goroutine; lines sent wait in a bounded queue that a goroutine of the
// connection writes, at the configured pace, only while lines wait. An
// idle connection thus costs its reader's goroutine and a small buffer.
// All methods are safe for concurrent use.
type Conn struct {
	cfg     settings
	nc      net.Conn
	reader  lineReader
	clock   Clock
	limiter *rate.Limiter // nil: unpaced
	burst   []ircmsg.Message

	out     *serial.Queue[outLine]
	wmu     sync.Mutex    // one write at a time on nc
	done    chan struct{} // closed by fail
	closing chan struct{} // closed by the first Close
	// Made by the first Close: a connection needs them only once it is
	// closing, and every puppeted user holds one.
	closed   chan struct{} // closed when the first Close returns
	quitSent chan struct{} // closed by the writer after writing Close's QUIT

	sendMu    sync.RWMutex // Sends hold it shared; Close takes it once as a barrier
	closeOnce sync.Once
	failOnce  sync.Once
	err       *Error // set before done is closed

	serving atomic.Bool // Serve or Watch is reading

	// Set by Watch (watch.go); pc is set by Dial for a connection with a
	// socket of its own.
	pc       *netpoll.Conn
	watch    *netpoll.Watch
	watching atomic.Bool  // watch is set
	kicks    atomic.Int32 // reads asked for; a read job runs while > 0
	handler  func(ircmsg.Message)
	ended    func(error)
	endOnce  sync.Once
	alive    *time.Timer // the keepalive, running while Ferry waits for the server
	pinged   atomic.Bool // a keepalive PING is unanswered

	mu       sync.RWMutex // guards the fields below; written by the reader (and Dial)
	nick     string
	isupport ISupport
	caps     smallmap.Map[bool]   // acknowledged capabilities (the value is unused)
	capVals  smallmap.Map[string] // the CAP LS values of acknowledged caps (CapValue)
	pingSeq  uint64
}

// settings are what a registered connection keeps of its Config: every
// puppeted user holds a connection, and the whole Config (256 bytes, with
// the credentials) is needed only while registering.
type settings struct {
	addr                      string
	pingInterval, pingTimeout time.Duration
	queueSize                 int
	caps                      []string // the capabilities Ferry asks for
}

// wants reports whether Ferry asks for the capability.
func (s *settings) wants(name string) bool { return wantsCap(s.caps, name) }

type outLine struct {
	line []byte
	quit bool
}

func newConn(cfg Config, nc net.Conn) *Conn {
	c := &Conn{
		cfg:      settings{addr: cfg.Addr, pingInterval: cfg.PingInterval, pingTimeout: cfg.PingTimeout, queueSize: cfg.QueueSize, caps: cfg.Caps},
		nc:       nc,
		reader:   lineReader{r: nc},
		clock:    cfg.Clock,
		done:     make(chan struct{}),
		closing:  make(chan struct{}),
		nick:     cfg.Nick,
		isupport: DefaultISupport(),
	}
	c.out = serial.New("irc writer "+cfg.Addr, cfg.QueueSize, nil, c.writeQueued)
	if cfg.Rate > 0 && !math.IsInf(cfg.Rate, 1) {
		c.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst)
	}
	return c
}

// Nick returns the current nick: the one the server welcomed us with,
// updated by NICK changes of our own.
func (c *Conn) Nick() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.nick
}

// ISupport returns the server's advertised features (immutable: a 005
// line replaces the value, never changes it).
func (c *Conn) ISupport() ISupport {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.isupport
}

// Caps returns a copy of the acknowledged capabilities (CAP ACK, minus CAP
// DEL).
func (c *Conn) Caps() map[string]bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	caps := make(map[string]bool, c.caps.Len())
	for name := range c.caps.All() {
		caps[name] = true
	}
	return caps
}

// Err returns why the connection ended, or nil while it is alive.
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Done is closed when the connection has ended; Err then says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Serve reads the connection until it ends and calls handle, on the
// caller's goroutine, for every line from 001 on (the welcome burst Dial
// read first) except server PINGs, which it answers, and the PONGs
// answering its keepalive. It returns why the connection ended, an
// *Error. Call it once.
//
// handle may block: the connection is then not read (back-pressure that
// reaches the server through TCP), and the keepalive does not count that
// silence against the server. After PingInterval without a line, Serve
// sends a PING; PingTimeout later without any line, the connection is
// declared dead.
func (c *Conn) Serve(handle func(ircmsg.Message)) (err error) {
	c.serving.Store(true)
	defer c.recoverPanic("reader", &err)
	for i := range c.burst {
		handle(c.burst[i])
	}
	c.burst = nil
	pinged := false
	for {
		// The loop keeps its frame small: an idle connection's goroutine
		// waits here, and the runtime shrinks its stack to what is in use
		// (one goroutine per puppeted connection, so this is per user).
		line, err := c.readWithKeepalive(pinged)
		if err != nil {
			if c.readFailed(err, pinged) {
				pinged = true
				continue
			}
			return c.err
		}
		pinged = false
		if c.dispatch(line, handle) {
			return c.err
		}
	}
}

// readWithKeepalive reads the next line, giving up after the ping
// interval (or, once a ping went out, its timeout).
func (c *Conn) readWithKeepalive(pinged bool) ([]byte, error) {
	if c.cfg.pingInterval > 0 {
		wait := c.cfg.pingInterval
		if pinged {
			wait = c.cfg.pingTimeout
		}
		_ = c.nc.SetReadDeadline(time.Now().Add(wait))
	}
	return c.reader.readLine()
}

// readFailed handles a failed read: true after a quiet interval, when a
// keepalive ping went out and reading goes on; false when the connection
// failed (c.err says why).
func (c *Conn) readFailed(err error, pinged bool) bool {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout() && !pinged && c.Err() == nil:
		c.keepalive()
		return true
	case errors.As(err, &ne) && ne.Timeout() && c.Err() == nil:
		c.fail(&Error{Kind: KindPingTimeout, Text: fmt.Sprintf("no reply from the server for %s", c.cfg.pingInterval+c.cfg.pingTimeout)})
	case errors.Is(err, io.EOF):
		c.fail(&Error{Kind: KindServer, Err: err})
	case errors.Is(err, errLineTooLong):
		c.fail(&Error{Kind: KindProtocol, Text: "line too long", Err: err})
	default:
		c.fail(&Error{Kind: KindIO, Text: "reading", Err: err})
	}
	return false
}

// dispatch parses and handles one line; true when the server ended the
// connection with ERROR.
//
//go:noinline
func (c *Conn) dispatch(line []byte, handle func(ircmsg.Message)) bool {
	msg, err := ircmsg.ParseLineStrict(string(line), false, 0)
	if err != nil {
		return false // empty or malformed line: nothing to deliver
	}
	if c.handle(msg) {
		handle(msg)
	}
	if msg.Command == "ERROR" {
		c.fail(&Error{Kind: KindServer, Text: lastParam(msg)})
		return true
	}
	return false
}

// keepalive sends a PING after a quiet interval.
func (c *Conn) keepalive() {
	c.mu.Lock()
	c.pingSeq++
	seq := c.pingSeq
	c.mu.Unlock()
	ping := ircmsg.MakeMessage(nil, "", "PING", fmt.Sprintf("%s%d", keepaliveToken, seq))
	line, _ := ping.LineBytesStrict(true, maxLineLen)
	c.writeNow(line)
}

// Send queues m for writing. It serializes m at once with the strict
// client-side serializer, so a message that could not go on the wire
// (CR/LF/NUL, a bad parameter, a body over 512 bytes) is refused with an
// error wrapping ErrInvalidMessage and nothing is queued. Send blocks while
// the queue is full, until ctx is done. Queued lines are written in order
// at the configured rate; none is dropped while the connection lives.
func (c *Conn) Send(ctx context.Context, m ircmsg.Message) error {
	line, err := m.LineBytesStrict(true, maxLineLen)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidMessage, m.Command, err)
	}
	return c.enqueue(ctx, outLine{line: line})
}

// SendRaw parses line strictly (a client's line: no CR, LF or NUL inside,
// tags within the client limit) and sends it; for raw commands typed by
// users.
func (c *Conn) SendRaw(ctx context.Context, line string) error {
	m, err := ircmsg.ParseLineStrict(line, true, 0)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	return c.Send(ctx, m)
}

func (c *Conn) enqueue(ctx context.Context, l outLine) error {
	c.sendMu.RLock()
	defer c.sendMu.RUnlock()
	select {
	case <-c.closing:
		return ErrClosed
	case <-c.done:
		return c.err
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// With nothing queued and the pace allowing, the line is written on
	// this goroutine at once (never waiting for the pace here).
	put := c.out.TryPut
	if c.limiter == nil || c.limiter.TokensAt(c.clock.Now()) >= 1 {
		put = c.out.RunOrPut
	}
	if put(l, c.cfg.queueSize) {
		return nil
	}
	// Full: wait for room, for ctx, or for the connection to end.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.done:
		case <-c.closing:
		case <-wctx.Done():
		}
		cancel()
	}()
	if err := c.out.Put(wctx, l); err != nil {
		select {
		case <-c.closing:
			return ErrClosed
		case <-c.done:
			return c.err
		default:
			return ctx.Err()
		}
	}
	return nil
}

// Close sends QUIT (with quitMsg, if not empty) after everything already
// queued, waits until it is written and the server hangs up (at most a
// couple of seconds), then closes the socket. If ctx ends before the queue
// is flushed the socket is closed at once and an *Error of KindTimeout or
// KindCanceled is returned. Sends after Close return ErrClosed; Err() is
// then an *Error of KindClosed. Close is idempotent: later calls wait for
// the first one and return nil. Serve returns soon after.
func (c *Conn) Close(ctx context.Context, quitMsg string) error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		c.closed, c.quitSent = make(chan struct{}), make(chan struct{})
		close(c.closing)
	})
	if !first {
		select {
		case <-c.closed:
		case <-ctx.Done():
		}
		return nil
	}
	defer close(c.closed)
	// Barrier: every Send in flight has either queued its line before the
	// QUIT or returned ErrClosed.
	c.sendMu.Lock()
	//lint:ignore SA2001 the empty critical section is the barrier
	c.sendMu.Unlock()

	var result error
	select {
	case <-c.done:
	default:
		result = c.quit(ctx, quitMsg)
	}
	c.fail(&Error{Kind: KindClosed, Err: ErrClosed})
	wctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = c.out.WaitIdle(wctx) // the writer skips what is left once done is closed
	return result
}

func (c *Conn) quit(ctx context.Context, quitMsg string) error {
	quit := ircmsg.MakeMessage(nil, "", "QUIT")
	if quitMsg != "" {
		quit.Params = []string{strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == 0 {
				return ' '
			}
			return r
		}, quitMsg)}
	}
	line, err := quit.LineBytesStrict(true, maxLineLen)
	if err != nil && !errors.Is(err, ircmsg.ErrorBodyTooLong) {
		line = []byte("QUIT\r\n")
	}
	if err := c.out.Put(ctx, outLine{line: line, quit: true}); err != nil {
		return ctxErr(ctx.Err(), "flushing the queue before QUIT")
	}
	select {
	case <-c.quitSent:
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctxErr(ctx.Err(), "flushing the queue before QUIT")
	}
	// The QUIT is out: let the server hang up first, so that it reads the
	// QUIT rather than a reset. Without Serve running (a login check),
	// read the hang-up here.
	if !c.serving.Load() {
		_ = c.nc.SetReadDeadline(time.Now().Add(quitLinger))
		_, _ = io.Copy(io.Discard, c.nc)
		return nil
	}
	linger := time.NewTimer(quitLinger)
	defer linger.Stop()
	select {
	case <-c.done:
	case <-linger.C:
	case <-ctx.Done():
	}
	return nil
}

// fail ends the connection with e; only the first call counts.
func (c *Conn) fail(e *Error) {
	c.failOnce.Do(func() {
		select {
		case <-c.closing:
			if e.Kind != KindInternal {
				e = &Error{Kind: KindClosed, Err: ErrClosed}
			}
		default:
		}
		c.err = e
		close(c.done)
		c.nc.Close()
		if c.watching.Load() {
			c.kick() // the read job sees the end and tells the owner
		}
	})
}

// recoverPanic is deferred by the reader: a panic ends the connection
// with an internal error.
func (c *Conn) recoverPanic(where string, err *error) {
	if r := recover(); r != nil {
		c.fail(&Error{Kind: KindInternal, Text: fmt.Sprintf("panic in %s: %v", where, r), Err: fmt.Errorf("%s", debug.Stack())})
		*err = c.err
	}
}

// handle updates the reader-owned state for msg and reports whether msg is
// to be delivered.
func (c *Conn) handle(msg ircmsg.Message) bool {
	switch msg.Command {
	case "PING":
		pong := ircmsg.MakeMessage(nil, "", "PONG", msg.Params...)
		if line, err := pong.LineBytesStrict(true, maxLineLen); err == nil {
			c.writeNow(line)
		}
		return false
	case "PONG":
		return !strings.HasPrefix(lastParam(msg), keepaliveToken)
	case "NICK":
		if len(msg.Params) > 0 {
			c.mu.Lock()
			if c.isupport.Casefold(msg.Nick()) == c.isupport.Casefold(c.nick) {
				c.nick = msg.Params[0]
			}
			c.mu.Unlock()
		}
	case "005":
		c.applyISupport(msg)
	case "CAP":
		c.handleCAP(msg)
	}
	return true
}

func (c *Conn) applyISupport(msg ircmsg.Message) {
	if len(msg.Params) < 3 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	is := c.isupport.clone()
	is.apply(msg.Params[1 : len(msg.Params)-1])
	c.isupport = is
}

// handleCAP tracks capabilities after registration: ACK and DEL change the
// set; NEW offers are requested when wanted.
func (c *Conn) handleCAP(msg ircmsg.Message) {
	if len(msg.Params) < 3 {
		return
	}
	list := strings.Fields(lastParam(msg))
	switch strings.ToUpper(msg.Params[1]) {
	case "ACK":
		c.mu.Lock()
		for _, name := range list {
			name = strings.ToLower(strings.TrimLeft(name, "~="))
			if strings.HasPrefix(name, "-") {
				c.caps.Delete(name[1:])
			} else if c.cfg.wants(name) { // only what Ferry asks for counts
				c.caps.Set(name, true)
			}
		}
		c.mu.Unlock()
	case "DEL":
		c.mu.Lock()
		for _, name := range list {
			c.caps.Delete(strings.ToLower(name))
		}
		c.mu.Unlock()
	case "NEW":
		var req []string
		c.mu.RLock()
		for _, tok := range list {
			name, _, _ := strings.Cut(strings.ToLower(tok), "=")
			if c.cfg.wants(name) && !c.caps.Has(name) {
				req = append(req, name)
			}
		}
		c.mu.RUnlock()
		if len(req) > 0 {
			m := ircmsg.MakeMessage(nil, "", "CAP", "REQ", strings.Join(req, " "))
			if line, err := m.LineBytesStrict(true, maxLineLen); err == nil {
				c.writeNow(line)
			}
		}
	}
}

// writeNow writes a protocol line (PONG, keepalive PING, CAP REQ) at
// once, ahead of the queue and outside the pace: the server waits for it.
func (c *Conn) writeNow(line []byte) {
	c.write(line)
}

// writeQueued is the queue's handler: one line, at the configured pace.
func (c *Conn) writeQueued(l outLine) {
	select {
	case <-c.done:
		return // ended: what is left is dropped with the connection
	default:
	}
	if !c.waitToken() || !c.write(l.line) {
		return
	}
	if l.quit {
		close(c.quitSent)
	}
}

// write writes one line; a failure ends the connection.
func (c *Conn) write(line []byte) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.nc.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		c.fail(&Error{Kind: KindIO, Text: "writing", Err: err})
		return false
	}
	if _, err := c.nc.Write(line); err != nil {
		c.fail(&Error{Kind: KindIO, Text: "writing", Err: err})
		return false
	}
	return true
}

// waitToken takes one token from the bucket, waiting on the Clock for it;
// it returns false if the connection ended meanwhile.
func (c *Conn) waitToken() bool {
	if c.limiter == nil {
		return true
	}
	now := c.clock.Now()
	d := c.limiter.ReserveN(now, 1).DelayFrom(now)
	if d <= 0 {
		return true
	}
	t := c.clock.NewTimer(d)
	select {
	case <-t.C():
		return true
	case <-c.done:
		t.Stop()
		return false
	}
}

// ErrQueueFull is TrySend's answer when the queue holds QueueSize lines.
var ErrQueueFull = errors.New("ircconn: send queue full")

// TrySend is Send without waiting: a full queue refuses the line with
// ErrQueueFull. For lines the connection's reader makes by itself (CTCP
// replies), which must never stop it reading.
func (c *Conn) TrySend(m ircmsg.Message) error {
	line, err := m.LineBytesStrict(true, maxLineLen)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidMessage, m.Command, err)
	}
	c.sendMu.RLock()
	defer c.sendMu.RUnlock()
	select {
	case <-c.closing:
		return ErrClosed
	case <-c.done:
		return c.err
	default:
	}
	if !c.out.TryPut(outLine{line: line}, c.cfg.queueSize) {
		return ErrQueueFull
	}
	return nil
}

// AdoptISupport makes the connection hold is instead of its own ISupport
// when both say the same (is being what another connection to the same
// server was told), so that the connections to one server share one
// value; false when they differ.
func (c *Conn) AdoptISupport(is ISupport) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.isupport.same(is) {
		return false
	}
	c.isupport = is
	return true
}

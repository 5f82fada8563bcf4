package ircconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
	"github.com/ergochat/irc-go/ircreader"
	"golang.org/x/time/rate"
)

// ErrInvalidMessage is wrapped by Send's and SendRaw's errors for a message
// that cannot be put on the wire (CR, LF or NUL, a bad parameter, a line
// over 512 bytes, tags over 4094 bytes). Nothing is written then.
var ErrInvalidMessage = errors.New("ircconn: invalid message")

const (
	// keepaliveToken starts the parameter of keepalive PINGs; the
	// matching PONGs are not delivered on Messages().
	keepaliveToken = "ferry-keepalive-"
	// prioSize bounds the PONG/keepalive lane; it only fills up if the
	// server floods PINGs faster than the rate limit lets us answer.
	prioSize = 16
	// writeTimeout bounds one socket write, so a server that stops
	// reading cannot wedge the writer.
	writeTimeout = 2 * time.Minute
	// quitLinger is how long Close waits, after QUIT is written, for the
	// server to hang up before closing the socket itself.
	quitLinger = 2 * time.Second
)

// Conn is a registered IRC connection. All methods are safe for concurrent
// use.
type Conn struct {
	cfg     Config
	nc      net.Conn
	reader  *ircreader.Reader
	clock   Clock
	limiter *rate.Limiter // nil: unpaced

	msgs     chan ircmsg.Message
	queue    chan outLine
	prio     chan []byte
	done     chan struct{} // closed by fail
	closing  chan struct{} // closed by the first Close
	closed   chan struct{} // closed when the first Close returns
	quitSent chan struct{} // closed by the writer after writing Close's QUIT

	sendMu    sync.RWMutex // Sends hold it shared; Close takes it once as a barrier
	closeOnce sync.Once
	failOnce  sync.Once
	err       *Error // set before done is closed
	wg        sync.WaitGroup

	activity atomic.Uint64 // lines read, for the keepalive
	lastRecv atomic.Int64  // Clock time of the last line read or delivered, UnixNano
	stalled  atomic.Bool   // the reader waits for the consumer of Messages()
	pingSeq  atomic.Uint64

	mu       sync.RWMutex // guards the fields below; written by the reader (and Dial)
	nick     string
	isupport ISupport
	caps     map[string]bool
}

type outLine struct {
	line []byte
	quit bool
}

func newConn(cfg Config, nc net.Conn) *Conn {
	c := &Conn{
		cfg:      cfg,
		nc:       nc,
		reader:   ircreader.NewIRCReader(nc),
		clock:    cfg.Clock,
		queue:    make(chan outLine, cfg.QueueSize),
		prio:     make(chan []byte, prioSize),
		done:     make(chan struct{}),
		closing:  make(chan struct{}),
		closed:   make(chan struct{}),
		quitSent: make(chan struct{}),
		nick:     cfg.Nick,
		isupport: DefaultISupport(),
		caps:     map[string]bool{},
	}
	if cfg.Rate > 0 && !math.IsInf(cfg.Rate, 1) {
		c.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst)
	}
	return c
}

// start hands the registered connection to its goroutines; burst is what
// Dial read from 001 on, delivered first on Messages().
func (c *Conn) start(burst []ircmsg.Message) {
	c.msgs = make(chan ircmsg.Message, c.cfg.MessageBuffer+len(burst))
	for _, m := range burst {
		c.msgs <- m
	}
	c.lastRecv.Store(c.clock.Now().UnixNano())
	c.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
	if c.cfg.PingInterval > 0 {
		c.wg.Add(1)
		go c.keepaliveLoop()
	}
}

// Nick returns the current nick: the one the server welcomed us with,
// updated by NICK changes of our own.
func (c *Conn) Nick() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.nick
}

// ISupport returns a copy of the server's advertised features.
func (c *Conn) ISupport() ISupport {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.isupport.clone()
}

// Caps returns a copy of the acknowledged capabilities (CAP ACK, minus CAP
// DEL).
func (c *Conn) Caps() map[string]bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return maps.Clone(c.caps)
}

// Messages delivers every line read from 001 on, in order, except server
// PINGs (answered internally) and the PONGs answering the keepalive. It is
// closed when the connection ends; Err then says why.
//
// The channel has Config.MessageBuffer slots (plus the welcome burst). A
// consumer that falls further behind stops the reader: that is the
// back-pressure, and it reaches the server through TCP, which may end up
// dropping the connection (SendQ exceeded). While the reader waits the
// keepalive does not count the silence against the server, and Close ends
// the wait at any time, so the reader never blocks forever.
func (c *Conn) Messages() <-chan ircmsg.Message { return c.msgs }

// Err returns why the connection ended, or nil while it is alive. It is
// set before Messages() is closed.
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
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
	select {
	case c.queue <- l:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return c.err
	case <-c.closing:
		return ErrClosed
	}
}

// Close sends QUIT (with quitMsg, if not empty) after everything already
// queued, waits until it is written and the server hangs up (at most a
// couple of seconds), then closes the socket and waits for the goroutines
// to end. If ctx ends before the queue is flushed the socket is closed at
// once and an *Error of KindTimeout or KindCanceled is returned. Sends
// after Close return ErrClosed; Err() is then an *Error of KindClosed.
// Close is idempotent: later calls wait for the first one and return nil.
func (c *Conn) Close(ctx context.Context, quitMsg string) error {
	first := false
	c.closeOnce.Do(func() {
		first = true
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
	c.wg.Wait()
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
	select {
	case c.queue <- outLine{line: line, quit: true}:
	case <-c.done:
		return nil
	case <-ctx.Done():
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
	// QUIT rather than a reset.
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
	})
}

// recoverPanic is deferred by every goroutine root.
func (c *Conn) recoverPanic(where string) {
	if r := recover(); r != nil {
		c.fail(&Error{Kind: KindInternal, Text: fmt.Sprintf("panic in %s: %v", where, r), Err: fmt.Errorf("%s", debug.Stack())})
	}
}

func (c *Conn) readLoop() {
	defer c.wg.Done()
	defer close(c.msgs)
	defer c.recoverPanic("reader")
	for {
		line, err := c.reader.ReadLine()
		if err != nil {
			switch {
			case errors.Is(err, io.EOF):
				c.fail(&Error{Kind: KindServer, Err: err})
			case errors.Is(err, ircreader.ErrReadQ):
				c.fail(&Error{Kind: KindProtocol, Text: "line too long", Err: err})
			default:
				c.fail(&Error{Kind: KindIO, Text: "reading", Err: err})
			}
			return
		}
		c.activity.Add(1)
		c.lastRecv.Store(c.clock.Now().UnixNano())
		msg, err := ircmsg.ParseLineStrict(string(line), false, 0)
		if err != nil {
			continue // empty or malformed line: nothing to deliver
		}
		if c.handle(msg) && !c.deliver(msg) {
			return
		}
		if msg.Command == "ERROR" {
			c.fail(&Error{Kind: KindServer, Text: lastParam(msg)})
			return
		}
	}
}

// handle updates the reader-owned state for msg and reports whether msg is
// to be delivered.
func (c *Conn) handle(msg ircmsg.Message) bool {
	switch msg.Command {
	case "PING":
		pong := ircmsg.MakeMessage(nil, "", "PONG", msg.Params...)
		if line, err := pong.LineBytesStrict(true, maxLineLen); err == nil {
			c.sendPriority(line)
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
				delete(c.caps, name[1:])
			} else {
				c.caps[name] = true
			}
		}
		c.mu.Unlock()
	case "DEL":
		c.mu.Lock()
		for _, name := range list {
			delete(c.caps, strings.ToLower(name))
		}
		c.mu.Unlock()
	case "NEW":
		var req []string
		c.mu.RLock()
		for _, tok := range list {
			name, _, _ := strings.Cut(strings.ToLower(tok), "=")
			if containsFold(wantedCaps, name) && !c.caps[name] {
				req = append(req, name)
			}
		}
		c.mu.RUnlock()
		if len(req) > 0 {
			m := ircmsg.MakeMessage(nil, "", "CAP", "REQ", strings.Join(req, " "))
			if line, err := m.LineBytesStrict(true, maxLineLen); err == nil {
				c.sendPriority(line)
			}
		}
	}
}

// sendPriority queues a protocol line (PONG, keepalive PING, CAP REQ)
// ahead of the normal queue, without blocking the caller. The lane only
// overflows if the server floods PINGs faster than the rate limit allows
// answers; the overflowing line is dropped then, which the server's own
// ping timeout tolerates.
func (c *Conn) sendPriority(line []byte) {
	select {
	case c.prio <- line:
	default:
	}
}

// deliver hands msg to Messages(), waiting for the consumer if the buffer
// is full; it returns false when the connection ended meanwhile.
func (c *Conn) deliver(msg ircmsg.Message) bool {
	select {
	case c.msgs <- msg:
		return true
	default:
	}
	c.stalled.Store(true)
	defer c.stalled.Store(false)
	select {
	case c.msgs <- msg:
		c.lastRecv.Store(c.clock.Now().UnixNano())
		return true
	case <-c.done:
		return false
	}
}

func (c *Conn) writeLoop() {
	defer c.wg.Done()
	defer c.recoverPanic("writer")
	for {
		var out outLine
		select {
		case line := <-c.prio:
			out.line = line
		default:
			select {
			case line := <-c.prio:
				out.line = line
			case out = <-c.queue:
			case <-c.done:
				return
			}
		}
		if !c.waitToken() {
			return
		}
		if err := c.nc.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
			c.fail(&Error{Kind: KindIO, Text: "writing", Err: err})
			return
		}
		if _, err := c.nc.Write(out.line); err != nil {
			c.fail(&Error{Kind: KindIO, Text: "writing", Err: err})
			return
		}
		if out.quit {
			close(c.quitSent)
			return
		}
	}
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

func (c *Conn) keepaliveLoop() {
	defer c.wg.Done()
	defer c.recoverPanic("keepalive")
	interval, timeout := c.cfg.PingInterval, c.cfg.PingTimeout
	var (
		pinged     bool
		pingSentAt time.Time
		activityAt uint64 // c.activity when the PING was sent
	)
	for {
		now := c.clock.Now()
		var wait time.Duration
		switch {
		case c.stalled.Load():
			// We are not reading, so silence proves nothing.
			pinged = false
			wait = interval
		case pinged && c.activity.Load() != activityAt:
			pinged = false
			continue
		case pinged:
			elapsed := now.Sub(pingSentAt)
			if elapsed >= timeout {
				c.fail(&Error{Kind: KindPingTimeout, Text: fmt.Sprintf("no reply from the server for %s", interval+timeout)})
				return
			}
			wait = timeout - elapsed
		default:
			idle := now.Sub(time.Unix(0, c.lastRecv.Load()))
			if idle < interval {
				wait = interval - idle
				break
			}
			ping := ircmsg.MakeMessage(nil, "", "PING", fmt.Sprintf("%s%d", keepaliveToken, c.pingSeq.Add(1)))
			line, _ := ping.LineBytesStrict(true, maxLineLen)
			activityAt = c.activity.Load()
			c.sendPriority(line)
			pinged, pingSentAt = true, now
			wait = timeout
		}
		t := c.clock.NewTimer(wait)
		select {
		case <-t.C():
		case <-c.done:
			t.Stop()
			return
		}
	}
}

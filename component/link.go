package component

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/xmpp"
	mcomp "mellium.im/xmpp/component"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stream"

	"github.com/ferry-xmpp/ferry/internal/backoff"
	"github.com/ferry-xmpp/ferry/internal/quickack"
	"github.com/ferry-xmpp/ferry/internal/supervise"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
)

// LinkConfig configures one XEP-0114 connection.
type LinkConfig struct {
	Domain       string // component JID
	Secret       string
	Address      string // server component port, host:port
	PingTo       string // the server's domain, target of the watchdog ping
	PingInterval time.Duration
	PingTimeout  time.Duration
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// LaneSize bounds the stanzas waiting for one user; a producer waits
	// while its user's lane is full.
	LaneSize   int
	Outbox     Outbox
	Logger     *slog.Logger
	Metrics    *Metrics
	Supervisor *supervise.Supervisor
	// Handle receives every inbound stanza on the reader goroutine. It may
	// wait for room in the outbound queue (the reader then stops reading,
	// and the watchdog knows why), but must not wait for anything else.
	Handle func(*xmlnode.Node)
	// OnUp runs (on its own goroutine) after each successful handshake.
	OnUp func()
	// Late receives what the server still sends after Shutdown wrote the
	// closing tag: stanzas that can no longer be answered on this stream
	// (the transport stores "try again" errors for the next one).
	Late func(*xmlnode.Node)
	Dial func(ctx context.Context, addr string) (net.Conn, error)
}

// Link keeps one component stream up: it dials, authenticates, reads,
// writes, watches the stream with pings and reconnects with backoff.
//
// Outbound stanzas wait in per-user lanes (lanes.go) or, when a person
// must not lose them, in the durable outbox (durable.go). One writer
// goroutine per stream takes everything waiting, renders it into one
// buffer and writes it with one system call; it never touches the
// database unless durable stanzas must be read back after a reconnect.
type Link struct {
	cfg     LinkConfig
	log     *slog.Logger
	wake    chan struct{} // buffered(1): something to write
	lanes   *lanes
	durable *durable

	up      atomic.Bool
	session atomic.Pointer[stream1]
	// carry holds stanzas the last stream did not get confirmed; the next
	// stream's writer sends them first. Only a writer touches it, and a
	// stream's writer has ended before the next stream's starts.
	carry []*xmlnode.Node

	failures failureLog
}

// stream1 is one live stream: its connection and the state its
// goroutines share.
type stream1 struct {
	conn net.Conn
	sess *xmpp.Session // kept for the closing tag

	mu      sync.Mutex
	pending map[string]func(*xmlnode.Node) // IQ id -> who waits for the answer
	confirm confirmer                      // what awaits the server's confirmation

	lastRead atomic.Int64 // unix nanos of the last stanza read
	stalled  atomic.Bool  // the reader waits for Handle (our own queue)
	closed   atomic.Bool  // our closing tag is written: stanzas now are late
	readDone chan struct{}

	stopWriter func()
	writerDone chan struct{}
}

const (
	// writeTimeout bounds one write; a server that stops reading fails
	// the stream (and its stanzas are written again on the next one).
	writeTimeout = 30 * time.Second
	// handshakeTimeout bounds the XEP-0114 stream setup.
	handshakeTimeout = 15 * time.Second
	// writeBatch bounds the stanzas rendered into one write.
	writeBatch = 512
)

// errHandshake marks a rejected handshake: only a config change fixes it.
var errHandshake = errors.New("component: handshake rejected")

// errLinkDown is returned to requests while no stream is up.
var errLinkDown = errors.New("component: link down")

// NewLink builds a link; Run starts it.
func NewLink(cfg LinkConfig) *Link {
	if cfg.Dial == nil {
		d := net.Dialer{Timeout: 10 * time.Second}
		cfg.Dial = func(ctx context.Context, addr string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.LaneSize <= 0 {
		cfg.LaneSize = 256
	}
	wake := make(chan struct{}, 1)
	l := &Link{cfg: cfg, log: cfg.Logger, wake: wake}
	l.lanes = newLanes(cfg.LaneSize, wake, cfg.Domain)
	l.durable = newDurable(cfg.Outbox, cfg.Domain, cfg.Supervisor, wake)
	return l
}

// Up reports whether the stream is authenticated and serving.
func (l *Link) Up() bool { return l.up.Load() }

// QueueDepth is the number of stanzas waiting in memory.
func (l *Link) QueueDepth() int { return l.lanes.len() }

// Send queues a stanza for user (a bare JID; "" for the transport's own
// traffic), waiting while that user's lane is full. It fails only when
// ctx ends first. Stanzas of one user are written in the order sent.
func (l *Link) Send(ctx context.Context, user string, n *xmlnode.Node) error {
	if err := l.lanes.put(ctx, user, n); err != nil {
		return fmt.Errorf("component: %s %s to %s not queued: %w", n.Local, n.Attr("type"), n.Attr("to"), err)
	}
	return nil
}

// SendDurable stores a stanza before it is written, so it survives a
// lost stream or a restart, and returns once it is stored. With a
// mapping, the stanza's legacy id is stored with it: dup then reports a
// legacy message stored before, and nothing is sent again.
func (l *Link) SendDurable(ctx context.Context, n *xmlnode.Node, mapping *registry.MessageID) (dup bool, err error) {
	if n.Attr("id") == "" {
		n.SetAttr("id", newID())
	}
	res, err := l.durable.commit(ctx, registry.OutboxEntry{Stanza: n.AppendXML(nil), Mapping: mapping})
	if err != nil {
		return false, err
	}
	return res.Dup, res.Err
}

// Request sends an IQ and waits for its result or error.
func (l *Link) Request(ctx context.Context, iq *xmlnode.Node) (*xmlnode.Node, error) {
	ch := make(chan *xmlnode.Node, 1)
	s, cancel, err := l.expect(iq, func(n *xmlnode.Node) { ch <- n })
	if err != nil {
		return nil, err
	}
	defer cancel()
	if err := l.Send(ctx, "", iq); err != nil {
		return nil, err
	}
	select {
	case resp := <-ch:
		return resp, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.writerDone:
		return nil, errLinkDown
	}
}

// expect registers answer for the IQ's id on the current stream; cancel
// forgets it.
func (l *Link) expect(iq *xmlnode.Node, answer func(*xmlnode.Node)) (*stream1, func(), error) {
	s := l.session.Load()
	if s == nil {
		return nil, nil, errLinkDown
	}
	id := iq.Attr("id")
	if id == "" {
		id = newID()
		iq.SetAttr("id", id)
	}
	s.mu.Lock()
	s.pending[id] = answer
	s.mu.Unlock()
	return s, func() {
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
	}, nil
}

// Run keeps the link up until ctx is cancelled.
func (l *Link) Run(ctx context.Context) {
	attempt := 0
	for ctx.Err() == nil {
		started := time.Now()
		err := l.connectAndServe(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > 2*l.cfg.PingInterval {
			attempt = 0 // it was healthy for a while: start over
		}
		delay := backoff.Delay(l.cfg.ReconnectMin, l.cfg.ReconnectMax, attempt)
		attempt++
		if errors.Is(err, errHandshake) {
			delay = l.cfg.ReconnectMax // only an operator fixes it: retry slowly
		}
		l.failures.report(l.log, err, delay)
		l.cfg.Metrics.reconnect(l.cfg.Domain)
		if !sleep(ctx, delay) {
			return
		}
	}
}

func (l *Link) connectAndServe(ctx context.Context) error {
	conn, err := l.cfg.Dial(ctx, l.cfg.Address)
	if err != nil {
		return &dialError{addr: l.cfg.Address, err: err}
	}
	// The server may keep Nagle's algorithm on (Prosody does): without
	// prompt ACKs from us, its next stanza would wait up to 40 ms.
	conn = quickack.Wrap(conn)
	defer conn.Close()
	sess, err := l.handshake(conn)
	if err != nil {
		return err
	}
	connCtx, stop := context.WithCancel(ctx)
	defer stop()
	wctx, stopWriter := context.WithCancel(connCtx)
	defer stopWriter()
	s := &stream1{conn: conn, sess: sess, pending: map[string]func(*xmlnode.Node){},
		stopWriter: stopWriter, writerDone: make(chan struct{}), readDone: make(chan struct{})}
	s.lastRead.Store(time.Now().UnixNano())
	l.durable.restart()
	l.session.Store(s)
	l.up.Store(true)
	l.cfg.Metrics.setLinkUp(l.cfg.Domain, true)
	l.failures.recovered(l.log, l.cfg.Address)
	defer func() {
		l.cfg.Metrics.setLinkUp(l.cfg.Domain, false)
		l.up.Store(false)
		l.session.Store(nil)
	}()

	errc := make(chan error, 3)
	l.cfg.Supervisor.Go("xmpp reader "+l.cfg.Domain, func() {
		defer close(s.readDone)
		errc <- l.read(s, sess.TokenReader())
	})
	l.cfg.Supervisor.Go("xmpp writer "+l.cfg.Domain, func() {
		err := l.write(wctx, s)
		close(s.writerDone)
		if connCtx.Err() != nil || wctx.Err() == nil {
			errc <- err // stopped by Shutdown: not a link failure
		}
	})
	l.cfg.Supervisor.Go("xmpp watchdog "+l.cfg.Domain, func() { errc <- l.watch(connCtx, s) })
	if l.cfg.OnUp != nil {
		l.cfg.Supervisor.Go("xmpp link up "+l.cfg.Domain, l.cfg.OnUp)
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
		err = ctx.Err()
	}
	stop()
	// Closing the conn unblocks the reader and a stuck write; the others
	// watch connCtx. The writer must be gone before the next stream's
	// writer starts, as both use carry.
	conn.Close()
	<-s.writerDone
	l.carry = append(l.carry, s.confirm.leftover()...)
	return err
}

// handshake authenticates as the component. Deadlines are set on the
// conn, never through a cancelled context: mellium v0.22 arms a goroutine
// per call that, when the context ends after the call returned, may push
// the deadline into the past and fail a later read or write.
func (l *Link) handshake(conn net.Conn) (*xmpp.Session, error) {
	addr, err := jid.Parse(l.cfg.Domain)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(handshakeTimeout))
	sess, err := mcomp.NewSession(context.Background(), addr, []byte(l.cfg.Secret), conn)
	_ = conn.SetDeadline(time.Time{})
	if err == nil {
		return sess, nil
	}
	var se stream.Error
	if errors.As(err, &se) {
		switch se.Err {
		case "not-authorized":
			return nil, fmt.Errorf("%w: the server refused the secret for %s", errHandshake, l.cfg.Domain)
		case "host-unknown", "improper-addressing":
			return nil, fmt.Errorf("%w: the server does not know the component %s", errHandshake, l.cfg.Domain)
		case "conflict":
			return nil, fmt.Errorf("the server still holds the previous stream of %s (conflict); it will let go", l.cfg.Domain)
		}
		return nil, fmt.Errorf("the server refused the stream: %s", se.Err)
	}
	return nil, describeStreamEnd("handshake", err)
}

// Shutdown writes the last stanzas, confirms everything written with a
// ping (so a graceful restart does not send stored stanzas again), and
// closes the stream politely.
func (l *Link) Shutdown(ctx context.Context, last []*xmlnode.Node) {
	s := l.session.Load()
	if s == nil {
		return
	}
	s.stopWriter()
	select {
	case <-s.writerDone:
	case <-ctx.Done():
		return
	}
	// What users' lanes still hold (puppets going offline) goes first.
	batch := append(l.carry, l.lanes.take(nil, l.lanes.len())...)
	l.carry = nil
	batch = append(batch, last...)
	s.confirm.wrote(batch, 0)
	answered := make(chan bool, 1)
	iq := pingIQ(l.cfg.Domain, l.cfg.PingTo)
	_, durable := s.confirm.ping(time.Now())
	s.mu.Lock()
	s.pending[iq.Attr("id")] = func(n *xmlnode.Node) { answered <- n.Attr("type") == "result" }
	s.mu.Unlock()
	buf := make([]byte, 0, 4096)
	for _, n := range batch {
		buf = n.AppendXML(buf)
	}
	buf = iq.AppendXML(buf)
	_ = s.conn.SetWriteDeadline(deadlineOf(ctx))
	if _, err := s.conn.Write(buf); err != nil {
		l.log.Warn("last stanzas not written", "error", err)
		return
	}
	select {
	case ok := <-answered:
		if ok && durable > 0 {
			if err := l.durable.ackNow(durable); err != nil {
				l.log.Warn("acknowledging the last messages", "error", err)
			}
		}
	case <-ctx.Done():
		l.log.Warn("the XMPP server did not confirm the last stanzas before the stream closed")
	}
	// Close our side, then read until the server closes its own: what it
	// routed to us meanwhile is handed to Late, not lost in the socket.
	s.closed.Store(true)
	_ = s.sess.Close()
	select {
	case <-s.readDone:
	case <-ctx.Done():
	}
}

func deadlineOf(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(writeTimeout)
}

func pingIQ(from, to string) *xmlnode.Node {
	return xmlnode.New("", "iq").SetAttr("type", "get").SetAttr("id", newID()).
		SetAttr("from", from).SetAttr("to", to).Add(xmlnode.New(nsPing, "ping"))
}

func (l *Link) read(s *stream1, r xml.TokenReader) error {
	for {
		tok, err := r.Token()
		if err != nil {
			return describeStreamEnd("reading", err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return errServerClosed
		case xml.StartElement:
			if t.Name.Space == stream.NS && t.Name.Local == "error" {
				var se stream.Error
				if err := xml.NewTokenDecoder(r).DecodeElement(&se, &t); err != nil {
					return describeStreamEnd("reading a stream error", err)
				}
				return fmt.Errorf("the XMPP server ended the stream with an error: %s", se.Err)
			}
			n, err := xmlnode.Decode(r, t, xmlnode.DefaultLimits)
			s.lastRead.Store(time.Now().UnixNano())
			if errors.Is(err, xmlnode.ErrTooLarge) || errors.Is(err, xmlnode.ErrBadName) {
				l.log.Warn("stanza refused", "from", n.Attr("from"), "stanza", n.Local, "error", err)
				l.refuse(s, n, err)
				continue
			}
			if err != nil {
				return describeStreamEnd("reading", err)
			}
			l.cfg.Metrics.stanzaIn(l.cfg.Domain, n.Local)
			if s.answer(n) {
				continue
			}
			if s.closed.Load() {
				if l.cfg.Late != nil {
					l.cfg.Late(n)
				}
				continue
			}
			s.stalled.Store(true)
			l.cfg.Handle(n)
			s.stalled.Store(false)
		}
	}
}

// refuse answers an oversized or malformed stanza so the sender is not
// left waiting.
func (l *Link) refuse(s *stream1, n *xmlnode.Node, why error) {
	t := n.Attr("type")
	if t == "error" || t == "result" || n.Local == "presence" || refusedUnaddressable(n) {
		return
	}
	reply := ErrorReply(n, Modify, "bad-request", "malformed stanza")
	if errors.Is(why, xmlnode.ErrTooLarge) {
		reply = ErrorReply(n, Modify, "policy-violation", "stanza too large")
	}
	s.stalled.Store(true)
	_ = l.Send(context.Background(), "", reply)
	s.stalled.Store(false)
}

// answer hands an IQ result or error to whoever waits for it.
func (s *stream1) answer(n *xmlnode.Node) bool {
	if n.Local != "iq" {
		return false
	}
	if t := n.Attr("type"); t != "result" && t != "error" {
		return false
	}
	s.mu.Lock()
	fn, ok := s.pending[n.Attr("id")]
	delete(s.pending, n.Attr("id"))
	s.mu.Unlock()
	if ok {
		fn(n)
	}
	return ok
}

// watch pings the server when the stream has been quiet; a ping that
// gets no answer while nothing else arrives either means a dead stream.
// Silence while the reader waits on Ferry's own queue proves nothing.
func (l *Link) watch(ctx context.Context, s *stream1) error {
	for {
		quiet := time.Since(time.Unix(0, s.lastRead.Load()))
		wait := l.cfg.PingInterval - quiet
		if wait > 0 {
			if !sleep(ctx, wait) {
				return ctx.Err()
			}
			continue
		}
		if s.stalled.Load() {
			if !sleep(ctx, l.cfg.PingInterval) {
				return ctx.Err()
			}
			continue
		}
		before := s.lastRead.Load()
		pctx, cancel := context.WithTimeout(ctx, l.cfg.PingTimeout)
		_, err := l.Request(pctx, pingIQ(l.cfg.Domain, l.cfg.PingTo))
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil, s.lastRead.Load() != before, s.stalled.Load():
			continue // answered, or the stream is demonstrably alive
		default:
			return fmt.Errorf("the XMPP server did not answer a ping within %s: %w", l.cfg.PingTimeout, err)
		}
	}
}

// failureLog reports a failing link once, then a summary, not every try.
type failureLog struct {
	first  time.Time
	tries  int
	last   string
	silent int // tries not logged since the last line
}

func (f *failureLog) report(log *slog.Logger, err error, retry time.Duration) {
	text := "unknown error"
	if err != nil {
		text = err.Error()
	}
	f.tries++
	if f.tries == 1 {
		f.first = time.Now()
	}
	switch {
	case errors.Is(err, errHandshake):
		log.Error("configuration error: "+text+"; check the transport's domain and secret against the XMPP server's configuration",
			"retry_in", retry.Round(time.Second))
	case f.tries == 1 || text != f.last || f.tries%20 == 0:
		args := []any{"error", text, "retry_in", retry.Round(time.Millisecond)}
		if f.tries > 1 {
			args = append(args, "failing_for", time.Since(f.first).Round(time.Second), "attempts", f.tries)
		}
		log.Warn("XMPP server link down", args...)
		f.silent = 0
	default:
		f.silent++
	}
	f.last = text
}

func (f *failureLog) recovered(log *slog.Logger, addr string) {
	if f.tries > 0 {
		log.Info("XMPP server link up again", "server", addr, "after", time.Since(f.first).Round(time.Second), "attempts", f.tries)
	} else {
		log.Info("XMPP server link up", "server", addr)
	}
	*f = failureLog{}
}

// errServerClosed is how a stream the server closed reads.
var errServerClosed = errors.New("the XMPP server closed the connection")

// describeStreamEnd turns a read error into what an operator can act on.
func describeStreamEnd(doing string, err error) error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return errServerClosed
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) && (se.Msg == "unexpected EOF" || errors.Is(err, io.ErrUnexpectedEOF)) {
		return errServerClosed
	}
	return fmt.Errorf("%s the XMPP stream: %w", doing, err)
}

// dialError names the address once (net's own errors also say "dial").
type dialError struct {
	addr string
	err  error
}

func (e *dialError) Error() string {
	var oe *net.OpError
	if errors.As(e.err, &oe) && oe.Err != nil {
		return fmt.Sprintf("cannot connect to the XMPP server at %s: %v", e.addr, oe.Err)
	}
	return fmt.Sprintf("cannot connect to the XMPP server at %s: %v", e.addr, e.err)
}

func (e *dialError) Unwrap() error { return e.err }

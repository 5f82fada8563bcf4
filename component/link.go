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

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	mcomp "mellium.im/xmpp/component"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stream"
)

// Outbox persists stanzas that carry user content while the link is down.
// registry.Store satisfies it.
type Outbox interface {
	Enqueue(ctx context.Context, transport string, stanza []byte) (int64, error)
	Pending(ctx context.Context, transport string, limit int) ([]OutboxItem, error)
	Ack(ctx context.Context, id int64) error
}

// OutboxItem is one stored stanza.
type OutboxItem struct {
	ID     int64
	Stanza []byte
}

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
	QueueSize    int
	Outbox       Outbox
	Logger       *slog.Logger
	Metrics      *Metrics
	// Handle receives every inbound stanza on the reader goroutine; it must
	// not block (hand work to other goroutines).
	Handle func(*xmlnode.Node)
	// OnUp runs (on its own goroutine) after each successful handshake.
	OnUp func()
	Dial func(ctx context.Context, addr string) (net.Conn, error)
}

// Link keeps one component stream up: it dials, authenticates, reads,
// writes through a bounded queue, watches the stream with pings and
// reconnects with backoff. Durable stanzas go through the Outbox so that
// nothing a bridge handed over is lost while the server is away.
type Link struct {
	cfg   LinkConfig
	log   *slog.Logger
	queue chan *xmlnode.Node
	kick  chan struct{}

	up      atomic.Bool
	carry   *xmlnode.Node // a stanza whose write failed, retried first
	mu      sync.Mutex
	pending map[string]chan *xmlnode.Node
	session atomic.Pointer[liveSession]
}

type liveSession struct {
	send  func(ctx context.Context, n *xmlnode.Node) error
	close func() error
	// stopWriter halts the writer goroutine; writerDone closes when it has.
	// Shutdown uses them so nothing is written after the stream end tag.
	stopWriter func()
	writerDone chan struct{}
}

// sendTimeout bounds one stanza write; a stuck peer fails the link.
const sendTimeout = 30 * time.Second

// handshakeTimeout bounds the XEP-0114 stream setup.
const handshakeTimeout = 15 * time.Second

// ErrQueueFull is returned by Send when the bounded queue is full.
var ErrQueueFull = errors.New("component: outbound queue full")

// errHandshake marks a rejected handshake: only a config change fixes it.
var errHandshake = errors.New("component: handshake rejected")

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
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1000
	}
	return &Link{
		cfg:     cfg,
		log:     cfg.Logger,
		queue:   make(chan *xmlnode.Node, cfg.QueueSize),
		kick:    make(chan struct{}, 1),
		pending: map[string]chan *xmlnode.Node{},
	}
}

// Up reports whether the stream is authenticated and serving.
func (l *Link) Up() bool { return l.up.Load() }

// QueueDepth is the number of stanzas waiting in memory.
func (l *Link) QueueDepth() int { return len(l.queue) }

// Send queues a stanza that carries no user content (IQ replies, presence).
// It never blocks; a full queue is reported, counted and logged.
func (l *Link) Send(n *xmlnode.Node) error {
	select {
	case l.queue <- n:
		l.cfg.Metrics.queueDepth(l.cfg.Domain, len(l.queue))
		return nil
	default:
		l.cfg.Metrics.dropped(l.cfg.Domain)
		l.log.Warn("outbound queue full, stanza not sent", "stanza", n.Local, "to", n.Attr("to"))
		return ErrQueueFull
	}
}

// SendDurable stores a stanza before it is written, so a message survives a
// lost stream or a restart. It returns once the stanza is persisted.
func (l *Link) SendDurable(ctx context.Context, n *xmlnode.Node) error {
	if n.Attr("id") == "" {
		n.SetAttr("id", newID())
	}
	b, err := xmlnode.Marshal(n)
	if err != nil {
		return fmt.Errorf("component: marshal stanza: %w", err)
	}
	if _, err := l.cfg.Outbox.Enqueue(ctx, l.cfg.Domain, b); err != nil {
		return fmt.Errorf("component: persist stanza: %w", err)
	}
	l.Flush()
	return nil
}

// Flush wakes the writer to send what the outbox holds, for callers that
// stored a stanza themselves (together with other rows, in one
// transaction).
func (l *Link) Flush() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Request sends an IQ and waits for its result or error.
func (l *Link) Request(ctx context.Context, iq *xmlnode.Node) (*xmlnode.Node, error) {
	id := iq.Attr("id")
	if id == "" {
		id = newID()
		iq.SetAttr("id", id)
	}
	ch := make(chan *xmlnode.Node, 1)
	l.mu.Lock()
	l.pending[id] = ch
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.pending, id)
		l.mu.Unlock()
	}()
	s := l.session.Load()
	if s == nil {
		return nil, errors.New("component: link down")
	}
	if err := s.send(ctx, iq); err != nil {
		return nil, err
	}
	select {
	case resp := <-ch:
		return resp, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Run keeps the link up until ctx is cancelled.
func (l *Link) Run(ctx context.Context) {
	bo := newBackoff(l.cfg.ReconnectMin, l.cfg.ReconnectMax)
	for ctx.Err() == nil {
		started := time.Now()
		err := l.connectAndServe(ctx)
		if ctx.Err() != nil {
			return
		}
		delay := bo.next()
		if errors.Is(err, errHandshake) {
			// Only an operator fixes a wrong secret: retry slowly, shout once per try.
			l.log.Error("configuration error: the XMPP server rejected this transport's handshake; check its domain and secret", "error", err)
			delay = l.cfg.ReconnectMax
		} else {
			l.log.Warn("component link lost", "error", err, "retry_in", delay.Round(time.Millisecond))
		}
		if time.Since(started) > 2*l.cfg.PingInterval {
			bo.reset()
			delay = l.cfg.ReconnectMin
		}
		l.cfg.Metrics.reconnect(l.cfg.Domain)
		if !sleep(ctx, delay) {
			return
		}
	}
}

func (l *Link) connectAndServe(ctx context.Context) error {
	conn, err := l.cfg.Dial(ctx, l.cfg.Address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", l.cfg.Address, err)
	}
	defer conn.Close()
	addr, err := jid.Parse(l.cfg.Domain)
	if err != nil {
		return err
	}
	// Deadlines are set on the conn, never through a cancelled context:
	// mellium v0.22 arms a goroutine per call that, when the context ends
	// after the call returned, may still push the deadline into the past
	// and fail an unrelated later read or write.
	_ = conn.SetDeadline(time.Now().Add(handshakeTimeout))
	sess, err := mcomp.NewSession(context.Background(), addr, []byte(l.cfg.Secret), conn)
	_ = conn.SetDeadline(time.Time{})
	if err != nil {
		var se stream.Error
		if errors.As(err, &se) && (se.Err == "not-authorized" || se.Err == "host-unknown") {
			return fmt.Errorf("%w: %s", errHandshake, se.Err)
		}
		return fmt.Errorf("handshake: %w", err)
	}
	connCtx, stop := context.WithCancel(ctx)
	defer stop()
	var writeMu sync.Mutex
	wctx, stopWriter := context.WithCancel(connCtx)
	defer stopWriter()
	live := &liveSession{
		stopWriter: stopWriter,
		writerDone: make(chan struct{}),
		send: func(ctx context.Context, n *xmlnode.Node) error {
			writeMu.Lock()
			defer writeMu.Unlock()
			if err := ctx.Err(); err != nil {
				return err
			}
			deadline := time.Now().Add(sendTimeout)
			if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
				deadline = d
			}
			_ = conn.SetWriteDeadline(deadline)
			defer conn.SetWriteDeadline(time.Time{})
			l.cfg.Metrics.stanzaOut(l.cfg.Domain, n.Local)
			return sess.Send(context.Background(), n.Tokens())
		},
		close: sess.Close,
	}
	l.session.Store(live)
	l.up.Store(true)
	l.cfg.Metrics.setLinkUp(l.cfg.Domain, true)
	l.log.Info("component link up", "server", l.cfg.Address)
	defer func() {
		l.cfg.Metrics.setLinkUp(l.cfg.Domain, false)
		l.up.Store(false)
		l.session.Store(nil)
	}()

	errc := make(chan error, 3)
	go func() { errc <- l.read(sess.TokenReader()) }()
	go func() {
		err := l.write(wctx, live)
		close(live.writerDone)
		if connCtx.Err() != nil || wctx.Err() == nil {
			errc <- err // stopped by Shutdown: not a link failure
		}
	}()
	go func() { errc <- l.watch(connCtx) }()
	if l.cfg.OnUp != nil {
		go safely(l.log, "on-up", l.cfg.OnUp)
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
		err = ctx.Err()
	}
	stop()
	// Closing the conn unblocks the reader; the others watch connCtx.
	conn.Close()
	return err
}

// Shutdown writes last stanzas and closes the stream politely.
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
	// What the transport queued while stopping (puppets going offline) goes first.
	var queued []*xmlnode.Node
	for drained := false; !drained; {
		select {
		case n := <-l.queue:
			queued = append(queued, n)
		default:
			drained = true
		}
	}
	for _, n := range append(queued, last...) {
		if err := s.send(ctx, n); err != nil {
			break
		}
	}
	_ = s.close()
}

func (l *Link) read(r xml.TokenReader) error {
	for {
		tok, err := r.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return io.EOF // the server closed the stream
		case xml.StartElement:
			if t.Name.Space == stream.NS && t.Name.Local == "error" {
				var se stream.Error
				if err := xml.NewTokenDecoder(r).DecodeElement(&se, &t); err != nil {
					return err
				}
				return se
			}
			n, err := xmlnode.Decode(r, t, xmlnode.DefaultLimits)
			if errors.Is(err, xmlnode.ErrTooLarge) || errors.Is(err, xmlnode.ErrBadName) {
				l.log.Warn("stanza refused", "from", n.Attr("from"), "stanza", n.Local, "error", err)
				l.refuse(n, err)
				continue
			}
			if err != nil {
				return err
			}
			l.cfg.Metrics.stanzaIn(l.cfg.Domain, n.Local)
			if l.deliverResponse(n) {
				continue
			}
			l.cfg.Handle(n)
		}
	}
}

// refuse answers an oversized stanza so the sender is not left waiting.
func (l *Link) refuse(n *xmlnode.Node, why error) {
	t := n.Attr("type")
	if t == "error" || t == "result" || n.Local == "presence" || refusedUnaddressable(n) {
		return
	}
	if errors.Is(why, xmlnode.ErrTooLarge) {
		_ = l.Send(ErrorReply(n, Modify, "policy-violation", "stanza too large"))
		return
	}
	_ = l.Send(ErrorReply(n, Modify, "bad-request", "malformed stanza"))
}

func (l *Link) deliverResponse(n *xmlnode.Node) bool {
	if n.Local != "iq" {
		return false
	}
	if t := n.Attr("type"); t != "result" && t != "error" {
		return false
	}
	l.mu.Lock()
	ch, ok := l.pending[n.Attr("id")]
	l.mu.Unlock()
	if ok {
		select {
		case ch <- n:
		default:
		}
	}
	return ok
}

// write drains the durable outbox first (oldest first), then the queue.
func (l *Link) write(ctx context.Context, s *liveSession) error {
	// Writes use their own timeout, not ctx: cancelling mid-write would
	// leave half a stanza on the wire.
	send := func(n *xmlnode.Node) error {
		sctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		defer cancel()
		return s.send(sctx, n)
	}
	if l.carry != nil {
		if err := send(l.carry); err != nil {
			return err
		}
		l.carry = nil
	}
	for {
		if err := l.flushOutbox(ctx, send); err != nil {
			return err
		}
		select {
		case n := <-l.queue:
			l.cfg.Metrics.queueDepth(l.cfg.Domain, len(l.queue))
			if err := send(n); err != nil {
				l.carry = n
				return err
			}
		case <-l.kick:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// flushOutbox writes stored stanzas oldest first. A successful write only
// means the kernel took the bytes: they are acknowledged (deleted) only
// after a ping sent behind them is answered, which proves the server
// processed everything before it. A stream lost in between resends the
// batch (at least once; stanza ids let clients drop a repeat).
func (l *Link) flushOutbox(ctx context.Context, send func(*xmlnode.Node) error) error {
	for {
		items, err := l.cfg.Outbox.Pending(ctx, l.cfg.Domain, 100)
		if err != nil {
			return fmt.Errorf("read outbox: %w", err)
		}
		if len(items) == 0 {
			return nil
		}
		for _, it := range items {
			n, err := xmlnode.Parse(it.Stanza)
			if err != nil {
				l.log.Error("unreadable stanza in outbox, dropped", "id", it.ID, "error", err)
				continue
			}
			if err := send(n); err != nil {
				return err
			}
		}
		if err := l.ping(ctx); err != nil {
			return fmt.Errorf("confirming delivery: %w", err)
		}
		for _, it := range items {
			if err := l.cfg.Outbox.Ack(context.Background(), it.ID); err != nil {
				return fmt.Errorf("ack outbox: %w", err)
			}
		}
	}
}

// ping does one XMPP ping round trip with the server.
func (l *Link) ping(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, l.cfg.PingTimeout)
	defer cancel()
	iq := xmlnode.New("", "iq").SetAttr("type", "get").
		SetAttr("from", l.cfg.Domain).SetAttr("to", l.cfg.PingTo).
		Add(xmlnode.New(nsPing, "ping"))
	_, err := l.Request(pctx, iq)
	return err
}

// watch pings the server; a missing answer means a dead stream.
func (l *Link) watch(ctx context.Context) error {
	t := time.NewTicker(l.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if err := l.ping(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("ping watchdog: %w", err)
		}
	}
}

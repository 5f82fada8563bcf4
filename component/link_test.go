package component

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// memOutbox is an in-memory Outbox for link tests.
type memOutbox struct {
	mu    sync.Mutex
	next  int64
	items []OutboxItem
	acked chan int64 // every Ack, for tests to wait on
}

func (o *memOutbox) Enqueue(_ context.Context, _ string, b []byte) (int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.next++
	o.items = append(o.items, OutboxItem{ID: o.next, Stanza: b})
	return o.next, nil
}

func (o *memOutbox) Pending(_ context.Context, _ string, limit int) ([]OutboxItem, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.items) < limit {
		limit = len(o.items)
	}
	return append([]OutboxItem(nil), o.items[:limit]...), nil
}

func (o *memOutbox) Ack(_ context.Context, id int64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, it := range o.items {
		if it.ID == id {
			o.items = append(o.items[:i], o.items[i+1:]...)
			break
		}
	}
	select {
	case o.acked <- id:
	default:
	}
	return nil
}

func testLink(t *testing.T, addr, secret string, up chan struct{}) (*Link, *memOutbox) {
	out := &memOutbox{acked: make(chan int64, 100)}
	l := NewLink(LinkConfig{
		Domain: "gw.test", Secret: secret, Address: addr, PingTo: "server.test",
		PingInterval: 50 * time.Millisecond, PingTimeout: 40 * time.Millisecond,
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond,
		QueueSize: 10, Outbox: out, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Handle: func(*xmlnode.Node) {},
		OnUp: func() {
			if up != nil {
				up <- struct{}{}
			}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return l, out
}

func waitUp(t *testing.T, up chan struct{}) {
	t.Helper()
	select {
	case <-up:
	case <-time.After(5 * time.Second):
		t.Fatal("link did not come up")
	}
}

func expectBody(t *testing.T, s *fakeServer, want string) {
	t.Helper()
	select {
	case n := <-s.stanzas:
		if got := n.ChildText("", "body"); got != want {
			t.Fatalf("server got body %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("server never got %q", want)
	}
}

func TestLinkDeliversDurableMessagesAcrossReconnects(t *testing.T) {
	srv := newFakeServer(t, "pw")
	up := make(chan struct{}, 10)
	l, out := testLink(t, srv.addr(), "pw", up)
	waitUp(t, up)
	conn := <-srv.accepted
	ctx := context.Background()
	if err := l.SendDurable(ctx, message("a@gw.test", "u@x", "one")); err != nil {
		t.Fatal(err)
	}
	expectBody(t, srv, "one")
	select {
	case <-out.acked:
	case <-time.After(5 * time.Second):
		t.Fatal("first message never acknowledged")
	}

	// The server vanishes; what is handed over meanwhile waits in the outbox.
	conn.Close()
	for _, b := range []string{"two", "three"} {
		if err := l.SendDurable(ctx, message("a@gw.test", "u@x", b)); err != nil {
			t.Fatal(err)
		}
	}
	waitUp(t, up)
	expectBody(t, srv, "two")
	expectBody(t, srv, "three")
	// Acknowledged once the server answered the ping behind them.
	for {
		out.mu.Lock()
		left := len(out.items)
		out.mu.Unlock()
		if left == 0 {
			break
		}
		select {
		case <-out.acked:
		case <-time.After(5 * time.Second):
			t.Fatalf("%d stanzas left in the outbox after delivery", left)
		}
	}
}

func TestLinkPingWatchdogDetectsDeadStream(t *testing.T) {
	srv := newFakeServer(t, "pw")
	up := make(chan struct{}, 10)
	testLink(t, srv.addr(), "pw", up)
	waitUp(t, up)
	srv.setAnswerPings(false) // the stream stays open but nobody answers
	waitUp(t, up)             // the watchdog noticed and the link reconnected
	srv.setAnswerPings(true)
}

func TestLinkWrongSecretKeepsRetrying(t *testing.T) {
	srv := newFakeServer(t, "right")
	l, _ := testLink(t, srv.addr(), "wrong", nil)
	select {
	case <-srv.accepted:
		t.Fatal("handshake with a wrong secret accepted")
	case <-time.After(300 * time.Millisecond):
	}
	if l.Up() {
		t.Fatal("link up with a wrong secret")
	}
}

func TestLinkQueueIsBounded(t *testing.T) {
	l := NewLink(LinkConfig{Domain: "gw.test", QueueSize: 2, Outbox: &memOutbox{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for i := 0; i < 2; i++ {
		if err := l.Send(presence("gw.test", "u@x", "")); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Send(presence("gw.test", "u@x", "")); err != ErrQueueFull {
		t.Fatalf("third send: %v, want ErrQueueFull", err)
	}
}

func TestBackoff(t *testing.T) {
	b := newBackoff(100*time.Millisecond, time.Second)
	b.rand = func(n int64) int64 { return n - 1 } // the top of each range
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := b.next(); got != w*time.Millisecond {
			t.Errorf("attempt %d: %v, want %v", i, got, w*time.Millisecond)
		}
	}
	b.rand = func(int64) int64 { return 0 }
	b.reset()
	if got := b.next(); got != 50*time.Millisecond {
		t.Errorf("after reset with no jitter: %v, want 50ms", got)
	}
}

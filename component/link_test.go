package component

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
)

// memOutbox is an in-memory Outbox for link tests.
type memOutbox struct {
	mu      sync.Mutex
	next    int64
	items   []registry.Outbound
	batches int        // EnqueueBatch calls
	acked   chan int64 // every AckThrough, for tests to wait on
	// gate, when set, holds EnqueueBatch until it is closed (a slow
	// disk, so that writers pile up behind it); held counts the stanzas
	// of the batches held.
	gate chan struct{}
	held int
}

func (o *memOutbox) EnqueueBatch(_ context.Context, transport string, entries []registry.OutboxEntry) ([]registry.OutboxResult, error) {
	o.mu.Lock()
	gate := o.gate
	if gate != nil {
		o.held += len(entries)
	}
	o.mu.Unlock()
	if gate != nil {
		<-gate
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.batches++
	res := make([]registry.OutboxResult, len(entries))
	for i, e := range entries {
		o.next++
		o.items = append(o.items, registry.Outbound{ID: o.next, Transport: transport, Stanza: e.Stanza})
		res[i].ID = o.next
	}
	return res, nil
}

func (o *memOutbox) PendingAfter(_ context.Context, _ string, after int64, limit int) ([]registry.Outbound, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []registry.Outbound
	for _, it := range o.items {
		if it.ID > after && (limit <= 0 || len(out) < limit) {
			out = append(out, it)
		}
	}
	return out, nil
}

func (o *memOutbox) AckThrough(_ context.Context, _ string, id int64) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for len(o.items) > 0 && o.items[0].ID <= id {
		o.items = o.items[1:]
		n++
	}
	select {
	case o.acked <- id:
	default:
	}
	return n, nil
}

func (o *memOutbox) left() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.items)
}

type linkOptions struct {
	laneSize int
	handle   func(*xmlnode.Node)
	interval time.Duration
}

func testLink(t *testing.T, addr, secret string, up chan struct{}) (*Link, *memOutbox) {
	return testLinkWith(t, addr, secret, up, linkOptions{})
}

func testLinkWith(t *testing.T, addr, secret string, up chan struct{}, o linkOptions) (*Link, *memOutbox) {
	out := &memOutbox{acked: make(chan int64, 100)}
	if o.handle == nil {
		o.handle = func(*xmlnode.Node) {}
	}
	if o.interval == 0 {
		o.interval = 50 * time.Millisecond
	}
	l := NewLink(LinkConfig{
		Domain: "gw.test", Secret: secret, Address: addr, PingTo: "server.test",
		PingInterval: o.interval, PingTimeout: 40 * time.Millisecond,
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond,
		LaneSize: o.laneSize, Outbox: out, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Handle: o.handle,
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
	if _, err := l.SendDurable(ctx, message("a@gw.test", "u@x", "one"), nil); err != nil {
		t.Fatal(err)
	}
	expectBody(t, srv, "one")
	waitAcked(t, out)

	// The server vanishes; what is handed over meanwhile waits in the outbox.
	conn.Close()
	for _, b := range []string{"two", "three"} {
		if _, err := l.SendDurable(ctx, message("a@gw.test", "u@x", b), nil); err != nil {
			t.Fatal(err)
		}
	}
	waitUp(t, up)
	expectBody(t, srv, "two")
	expectBody(t, srv, "three")
	waitAcked(t, out)
}

// waitAcked waits until every stored stanza was acknowledged (deleted),
// which happens once the server answered the ping behind them.
func waitAcked(t *testing.T, out *memOutbox) {
	t.Helper()
	for out.left() > 0 {
		select {
		case <-out.acked:
		case <-time.After(5 * time.Second):
			t.Fatalf("%d stanzas left in the outbox after delivery", out.left())
		}
	}
}

// Durable stanzas that arrive while a transaction runs share the next
// one: a burst costs a few fsyncs, not one per stanza, and is confirmed
// with a few pings.
func TestLinkGroupsDurableStanzas(t *testing.T) {
	srv := newFakeServer(t, "pw")
	up := make(chan struct{}, 10)
	l, out := testLink(t, srv.addr(), "pw", up)
	waitUp(t, up)
	gate := make(chan struct{})
	out.mu.Lock()
	out.gate = gate
	out.mu.Unlock()
	const n = 200
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Go(func() {
			if _, err := l.SendDurable(context.Background(), message("a@gw.test", "u@x", fmt.Sprint("m", i)), nil); err != nil {
				t.Error(err)
			}
		})
	}
	// The first transaction is held; the others queue behind it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		waiting := l.durable.group.Waiting()
		out.mu.Lock()
		held := out.held
		out.mu.Unlock()
		if waiting+held == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d stanzas held and %d waiting, of %d", held, waiting, n)
		}
		time.Sleep(time.Millisecond) // the queue is internal: nothing to wait on
	}
	close(gate)
	wg.Wait()
	seen := map[string]bool{}
	for len(seen) < n {
		seen[srv.next(func(n *xmlnode.Node) bool { return n.Local == "message" }).ChildText("", "body")] = true
	}
	waitAcked(t, out)
	out.mu.Lock()
	batches := out.batches
	out.mu.Unlock()
	if batches > 2 {
		t.Fatalf("%d transactions for %d stanzas, want at most 2 (one held, one for the rest)", batches, n)
	}
	if pings := srv.pingCount(); pings >= n/10 {
		t.Fatalf("%d confirming pings for %d stanzas", pings, n)
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

// A reader that waits for Ferry's own queue reads nothing; the watchdog
// must not take that silence for a dead server.
func TestLinkWatchdogSparesABusyReader(t *testing.T) {
	srv := newFakeServer(t, "pw")
	up := make(chan struct{}, 10)
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	testLinkWith(t, srv.addr(), "pw", up, linkOptions{interval: 20 * time.Millisecond, handle: func(n *xmlnode.Node) {
		if n.Attr("id") == "block" {
			entered <- struct{}{}
			<-release
		}
	}})
	waitUp(t, up)
	<-srv.accepted            // the server side is ready to inject
	srv.setAnswerPings(false) // answers could not be read anyway
	srv.inject(`<message id="block" from="u@x" to="gw.test"><body>x</body></message>`)
	<-entered
	// Many watchdog periods pass while the reader is held.
	select {
	case <-up:
		t.Fatal("the watchdog tore the link down while the reader was busy")
	case <-time.After(300 * time.Millisecond):
	}
	srv.setAnswerPings(true)
	close(release)
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

// A full lane makes its producer wait (nothing is dropped), while other
// users' lanes still flow.
func TestLanesBackPressureIsPerUser(t *testing.T) {
	wake := make(chan struct{}, 1)
	q := newLanes(2, wake, "gw.test")
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := q.put(ctx, "busy@x", presence("gw.test", "busy@x", "")); err != nil {
			t.Fatal(err)
		}
	}
	full, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := q.put(full, "busy@x", presence("gw.test", "busy@x", "")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("put on a full lane = %v, want it to wait", err)
	}
	if err := q.put(ctx, "calm@x", presence("gw.test", "calm@x", "")); err != nil {
		t.Fatalf("another user's lane: %v", err)
	}
	waiting := make(chan error, 1)
	go func() { waiting <- q.put(ctx, "busy@x", message("gw.test", "busy@x", "third")) }()
	got := q.take(nil, 10)
	if len(got) != 3 {
		t.Fatalf("took %d stanzas", len(got))
	}
	if err := <-waiting; err != nil {
		t.Fatalf("the waiting producer: %v", err)
	}
	if got := q.take(nil, 10); len(got) != 1 || got[0].ChildText("", "body") != "third" {
		t.Fatalf("after room was made: %v", got)
	}
	if q.len() != 0 || q.lanesLen() != 0 {
		t.Fatalf("empty lanes kept: %d stanzas, %d lanes", q.len(), q.lanesLen())
	}
}

// The writer takes a quantum from each lane in turn: a flooded user does
// not hold the others back.
func TestLanesRoundRobin(t *testing.T) {
	q := newLanes(100, make(chan struct{}, 1), "gw.test")
	q.quantum = 2
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		_ = q.put(ctx, "flood@x", message("gw.test", "flood@x", fmt.Sprint("f", i)))
	}
	_ = q.put(ctx, "calm@x", message("gw.test", "calm@x", "c0"))
	got := q.take(nil, 4)
	var bodies []string
	for _, n := range got {
		bodies = append(bodies, n.ChildText("", "body"))
	}
	if strings.Join(bodies, ",") != "f0,f1,c0,f2" {
		t.Fatalf("order %v", bodies)
	}
}

// Stanzas whose write failed are written first on the next stream.
func TestLinkCarriesStanzasAcrossReconnect(t *testing.T) {
	srv := newFakeServer(t, "pw")
	up := make(chan struct{}, 10)
	l, _ := testLink(t, srv.addr(), "pw", up)
	waitUp(t, up)
	conn := <-srv.accepted
	conn.Close()
	// Whatever is queued while the stream is gone is written on the next.
	if err := l.Send(context.Background(), "u@x", message("gw.test", "u@x", "kept")); err != nil {
		t.Fatal(err)
	}
	expectBody(t, srv, "kept")
}

// A message that waited (an outage, a slow server) carries XEP-0203 delay
// with the time Ferry got it; one written at once does not, and the
// network's own time is never overwritten.
func TestLateMessagesAreStamped(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := now.Add(-time.Minute)
	msg := message("bob@gw.test", "u@x", "hello").AppendXML(nil)
	withTime := message("bob@gw.test", "u@x", "hi").Add(delayElem("gw.test", at.Add(-time.Hour))).AppendXML(nil)
	tests := []struct {
		name  string
		item  durableItem
		stamp string // want a delay with this stamp; "" none added
	}{
		{"written at once", durableItem{raw: msg, at: now.Add(-time.Second)}, ""},
		{"after an outage", durableItem{raw: msg, at: at}, "2026-01-02T03:03:05Z"},
		{"has the network's time", durableItem{raw: withTime, at: at}, "2026-01-02T02:03:05Z"},
		{"not a message", durableItem{raw: presence("bob@gw.test", "u@x", "").AppendXML(nil), at: at}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := xmlnode.Parse(appendStored(nil, tc.item, "gw.test", now))
			if err != nil {
				t.Fatal(err)
			}
			delays := n.ChildrenNamed(nsDelay, "delay")
			switch {
			case tc.stamp == "" && len(delays) != 0:
				t.Fatalf("stamped: %s", n)
			case tc.stamp != "" && (len(delays) != 1 || delays[0].Attr("stamp") != tc.stamp):
				t.Fatalf("want one delay stamped %s: %s", tc.stamp, n)
			}
		})
	}

	q := newLanes(10, make(chan struct{}, 1), "gw.test")
	_ = q.put(context.Background(), "u@x", message("#c@gw.test/bob", "u@x", "said a while ago"))
	_ = q.put(context.Background(), "u@x", message("#c@gw.test/bob", "u@x", "just now"))
	q.byKey["u@x"].items[0].at = time.Now().Add(-time.Minute)
	got := q.take(nil, 10)
	if got[0].Child(nsDelay, "delay") == nil || got[1].Child(nsDelay, "delay") != nil {
		t.Fatalf("lane stamps: %s / %s", got[0], got[1])
	}
}

// A small batch waits for the stanzas about to follow it, and so does a
// lone room message (the other users' copies of its line are on their
// way); any other lone stanza is written at once.
func TestGatherWaitsForCompanyOfRoomCopies(t *testing.T) {
	roomCopy := func(body string) *xmlnode.Node {
		n := message("room@gw.test/nick", "u@x", body)
		n.SetAttr("type", "groupchat")
		return n
	}
	chat := func(body string) *xmlnode.Node { return message("peer@gw.test", "u@x", body) }
	tests := []struct {
		name  string
		taken []*xmlnode.Node // what the writer took
		want  int             // stanzas it writes after gather
	}{
		{"lone chat message", []*xmlnode.Node{chat("a")}, 1},
		{"lone presence", []*xmlnode.Node{presence("peer@gw.test", "u@x", "")}, 1},
		{"lone room copy", []*xmlnode.Node{roomCopy("a")}, 2},
		{"two chat messages", []*xmlnode.Node{chat("a"), chat("b")}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := &Link{lanes: newLanes(10, make(chan struct{}, 1), "gw.test")}
			// The next copy is queued already: the wait is only what
			// lets it be, so the outcome does not depend on timing.
			if err := l.lanes.put(context.Background(), "v@x", roomCopy("next")); err != nil {
				t.Fatal(err)
			}
			got := l.gather(tc.taken)
			if len(got) != tc.want {
				t.Fatalf("gather wrote %d stanzas with the first, want %d", len(got), tc.want)
			}
			if left, want := l.lanes.len(), len(tc.taken)+1-len(got); left != want {
				t.Fatalf("%d stanzas left queued, want %d", left, want)
			}
		})
	}
}

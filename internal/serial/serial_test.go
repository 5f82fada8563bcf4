package serial

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/internal/supervise"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quietSupervisor() *supervise.Supervisor {
	return supervise.New(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)), nil)
}

func TestOrderAndOneAtATime(t *testing.T) {
	var (
		mu      sync.Mutex
		got     []int
		running atomic.Int32
		overlap atomic.Bool
	)
	done := make(chan struct{})
	const total = 1000
	q := New("order", total, quietSupervisor(), func(v int) {
		if running.Add(1) > 1 {
			overlap.Store(true)
		}
		mu.Lock()
		got = append(got, v)
		last := len(got) == total
		mu.Unlock()
		running.Add(-1)
		if last {
			close(done)
		}
	})
	for i := 0; i < total; i++ {
		if err := q.Put(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	if overlap.Load() {
		t.Fatal("two items ran at once")
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("item %d is %d: order lost", i, v)
		}
	}
}

// blocked returns a queue whose handler waits on gate, with the first
// item already taken by the handler (so Len counts only what waits).
func blocked(t *testing.T, capacity int) (q *Queue[int], gate chan struct{}, handled chan int) {
	gate = make(chan struct{})
	handled = make(chan int, 100)
	started := make(chan struct{}, 100)
	q = New("blocked", capacity, quietSupervisor(), func(v int) {
		started <- struct{}{}
		<-gate
		handled <- v
	})
	if err := q.Put(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	<-started
	t.Cleanup(func() {
		select {
		case <-gate:
		default:
			close(gate)
		}
	})
	return q, gate, handled
}

func TestPutWaitsAtCapacity(t *testing.T) {
	q, gate, handled := blocked(t, 2)
	for i := 1; i <= 2; i++ {
		if err := q.Put(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.Put(ctx, 99); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put on a full queue with a dead context = %v", err)
	}
	put := make(chan error, 1)
	go func() { put <- q.Put(context.Background(), 3) }()
	select {
	case err := <-put:
		t.Fatalf("Put returned %v while the queue was full", err)
	case <-handled:
		t.Fatal("handler ran while gated")
	default:
	}
	close(gate) // the handler drains; space frees; the waiting Put goes in
	if err := <-put; err != nil {
		t.Fatal(err)
	}
	for want := 0; want <= 3; want++ {
		if got := <-handled; got != want {
			t.Fatalf("handled %d, want %d", got, want)
		}
	}
}

func TestTryPutLimit(t *testing.T) {
	q, _, _ := blocked(t, 1)
	if !q.TryPut(1, 2) || !q.TryPut(2, 2) {
		t.Fatal("TryPut refused below its limit")
	}
	if q.TryPut(3, 2) {
		t.Fatal("TryPut admitted at its limit")
	}
	if !q.TryPut(3, 5) {
		t.Fatal("a higher limit admits more")
	}
	if q.Len() != 3 {
		t.Fatalf("Len = %d", q.Len())
	}
}

func TestPanicDoesNotStopTheQueue(t *testing.T) {
	var logs bytes.Buffer
	var panics atomic.Int32
	sup := supervise.New(slog.New(slog.NewTextHandler(&logs, nil)), func() { panics.Add(1) })
	handled := make(chan int, 3)
	q := New("panicky", 10, sup, func(v int) {
		if v == 1 {
			panic("bad item")
		}
		handled <- v
	})
	for i := 0; i < 3; i++ {
		if err := q.Put(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := <-handled, <-handled; a != 0 || b != 2 {
		t.Fatalf("handled %d, %d", a, b)
	}
	if panics.Load() != 1 || !bytes.Contains(logs.Bytes(), []byte("panicky")) {
		t.Fatalf("panic not reported: %d %s", panics.Load(), logs.String())
	}
}

func TestWaitIdle(t *testing.T) {
	q, gate, _ := blocked(t, 4)
	_ = q.Put(context.Background(), 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := q.WaitIdle(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitIdle while busy = %v", err)
	}
	close(gate)
	if err := q.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.running {
		t.Fatal("still running after WaitIdle")
	}
}

func TestIdleQueueHoldsNothing(t *testing.T) {
	stopped := make(chan struct{}, 1)
	q := New("idle", 10, quietSupervisor(), func(int) {})
	q.stopped = func() { stopped <- struct{}{} }
	if err := q.Put(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the goroutine did not stop once the queue was empty")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.running || q.buf != nil {
		t.Fatalf("idle queue: running=%v buffer=%d slots", q.running, len(q.buf))
	}
}

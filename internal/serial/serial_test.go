package serial

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/internal/supervise"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Pooled goroutines wait a while for work before they end (pool.go).
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/ferry-xmpp/ferry/internal/serial.(*pool).work"))
}

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

// Idle is false while an item runs or waits, and true once every item
// queued before has been handled.
func TestIdle(t *testing.T) {
	q := New("idle", 10, quietSupervisor(), func(int) {})
	if !q.Idle() {
		t.Fatal("a new queue is not idle")
	}
	q, gate, handled := blocked(t, 4)
	if q.Idle() {
		t.Fatal("idle while an item runs")
	}
	_ = q.Put(context.Background(), 1)
	close(gate)
	<-handled
	// Item 1 may still wait or run here; its handler has reported it
	// (sent on handled) before the queue may call itself idle.
	if q.Idle() && len(handled) == 0 {
		t.Fatal("idle before the second item was handled")
	}
	if err := q.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !q.Idle() {
		t.Fatal("not idle after WaitIdle")
	}
	if got := <-handled; got != 1 {
		t.Fatalf("handled %d, want 1", got)
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

// A goroutine that finished its work takes the next one: a busy period
// reuses a few goroutines instead of starting one per burst.
func TestPoolReusesGoroutines(t *testing.T) {
	ids := make(chan uint64, 2)
	for range 2 {
		done := make(chan struct{})
		Go(func() {
			ids <- goid()
			close(done)
		})
		<-done
		// The worker parks right after fn returns; wait until it has.
		deadline := time.Now().Add(5 * time.Second)
		for {
			workers.mu.Lock()
			parked := len(workers.idle)
			workers.mu.Unlock()
			if parked > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the worker never parked")
			}
			time.Sleep(time.Millisecond) // parking is internal: nothing to wait on
		}
	}
	if a, b := <-ids, <-ids; a != b {
		t.Fatalf("two goroutines (%d, %d) for two bursts in a row", a, b)
	}
}

// goid is the current goroutine's id, read from its stack header.
func goid() uint64 {
	var buf [64]byte
	s := strings.TrimPrefix(string(buf[:runtime.Stack(buf[:], false)]), "goroutine ")
	id, _ := strconv.ParseUint(s[:strings.IndexByte(s, ' ')], 10, 64)
	return id
}

// A lone item runs on the caller's goroutine; items arriving meanwhile
// run after it, in order, elsewhere.
func TestRunOrPut(t *testing.T) {
	var order []int
	var mu sync.Mutex
	record := func(v int) {
		mu.Lock()
		order = append(order, v)
		mu.Unlock()
	}
	caller := goid()
	var ranOn uint64
	release := make(chan struct{})
	started := make(chan struct{})
	q := New("run or put", 10, quietSupervisor(), func(v int) {
		if v == 1 {
			ranOn = goid()
			close(started)
			<-release
		}
		record(v)
	})
	done := make(chan bool)
	go func() { done <- q.RunOrPut(1, 10) }()
	<-started
	if !q.RunOrPut(2, 10) || !q.RunOrPut(3, 10) {
		t.Fatal("items refused while the first runs")
	}
	close(release)
	if !<-done {
		t.Fatal("the first item was refused")
	}
	if err := q.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ranOn == caller || ranOn == 0 {
		t.Fatalf("the lone item ran on goroutine %d", ranOn)
	}
	if fmt.Sprint(order) != "[1 2 3]" {
		t.Fatalf("order %v", order)
	}
	q2 := New("caller", 10, quietSupervisor(), func(int) { ranOn = goid() })
	q2.RunOrPut(1, 10)
	if ranOn != caller {
		t.Fatal("a lone item on an idle queue did not run on the caller's goroutine")
	}
}

// Package serial runs work items one at a time, in the order they were
// queued, on a goroutine that exists only while there is work. An idle
// queue costs neither a goroutine nor a buffer, which is what lets Ferry
// keep tens of thousands of users and connections that are mostly idle.
//
// The queue is bounded two ways: Put waits (until its context ends) while
// the queue holds its capacity, which is back-pressure for producers that
// may wait; TryPut never waits and admits an item only below the limit
// the caller names, for producers that must answer "try again" instead.
package serial

import (
	"context"
	"sync"

	"github.com/ferry-xmpp/ferry/internal/supervise"
)

// Queue is a bounded FIFO drained by an on-demand goroutine.
type Queue[T any] struct {
	what     string
	capacity int
	handle   func(T)
	sup      *supervise.Supervisor
	// stopped, when set (tests), is called each time the goroutine ends.
	stopped func()

	mu      sync.Mutex
	buf     []T // ring buffer, grown on demand and dropped when empty
	head, n int
	running bool
	space   chan struct{} // closed when an item leaves; nil when nobody waits
	idle    chan struct{} // closed when the goroutine ends; nil when nobody waits
}

// New returns a queue that calls handle for each item, one at a time.
// Put blocks while capacity items are queued. A panic in handle is
// recovered through sup (logged and counted) and the next item runs.
func New[T any](what string, capacity int, sup *supervise.Supervisor, handle func(T)) *Queue[T] {
	if capacity < 1 {
		capacity = 1
	}
	return &Queue[T]{what: what, capacity: capacity, handle: handle, sup: sup}
}

// Len is the number of items waiting (not counting one being handled).
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// Idle reports that nothing waits and nothing runs: every item queued
// before the call has been handled.
func (q *Queue[T]) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.running && q.n == 0
}

// WaitIdle waits until the queue is empty and its goroutine has ended,
// or ctx ends.
func (q *Queue[T]) WaitIdle(ctx context.Context) error {
	q.mu.Lock()
	if !q.running {
		q.mu.Unlock()
		return nil
	}
	if q.idle == nil {
		q.idle = make(chan struct{})
	}
	idle := q.idle
	q.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TryPut queues v if fewer than limit items wait, without blocking, and
// reports whether it did.
func (q *Queue[T]) TryPut(v T, limit int) bool {
	q.mu.Lock()
	if q.n >= limit {
		q.mu.Unlock()
		return false
	}
	q.push(v)
	return true
}

// RunOrPut runs v at once on the caller's goroutine when the queue is
// idle (nothing waiting, nothing running): the common case of a lone item
// then costs no hand-off to another goroutine. Otherwise it queues v as
// TryPut(v, limit) does. What arrives while v runs is drained by a pooled
// goroutine, in order. Only for callers that may wait as long as the
// handler takes.
func (q *Queue[T]) RunOrPut(v T, limit int) bool {
	q.mu.Lock()
	if q.running || q.n > 0 {
		if q.n >= limit {
			q.mu.Unlock()
			return false
		}
		q.push(v)
		return true
	}
	q.running = true
	q.mu.Unlock()
	q.run(v)
	q.mu.Lock()
	if q.n == 0 {
		q.stop()
		q.mu.Unlock()
		return true
	}
	q.mu.Unlock()
	Go(q.drain)
	return true
}

// Put queues v, waiting while the queue is at capacity; it fails only
// when ctx ends first.
func (q *Queue[T]) Put(ctx context.Context, v T) error {
	for {
		q.mu.Lock()
		if q.n < q.capacity {
			q.push(v)
			return nil
		}
		if q.space == nil {
			q.space = make(chan struct{})
		}
		space := q.space
		q.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// push appends v and starts the drain goroutine if none runs; it is
// called with q.mu held and releases it.
func (q *Queue[T]) push(v T) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)%len(q.buf)] = v
	q.n++
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		Go(q.drain)
	}
}

func (q *Queue[T]) grow() {
	size := 2 * len(q.buf)
	if size == 0 {
		size = 4
	}
	buf := make([]T, size)
	for i := 0; i < q.n; i++ {
		buf[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = buf, 0
}

// pop takes the oldest item; ok is false (and the goroutine must end)
// when the queue is empty.
func (q *Queue[T]) pop() (v T, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		q.stop()
		return v, false
	}
	var zero T
	v = q.buf[q.head]
	q.buf[q.head] = zero // let the garbage collector have it
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	if q.space != nil {
		close(q.space)
		q.space = nil
	}
	return v, true
}

// stop marks the queue idle; q.mu is held and the queue empty.
func (q *Queue[T]) stop() {
	q.running = false
	q.buf, q.head = nil, 0 // an idle queue holds no memory
	if q.idle != nil {
		close(q.idle)
		q.idle = nil
	}
}

func (q *Queue[T]) drain() {
	for {
		v, ok := q.pop()
		if !ok {
			if q.stopped != nil {
				q.stopped()
			}
			return
		}
		q.run(v)
	}
}

func (q *Queue[T]) run(v T) {
	defer q.sup.Recover(q.what, nil)
	q.handle(v)
}

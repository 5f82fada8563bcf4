package serial

import (
	"sync"
	"time"
)

// Group commits items in batches (commit must recover its own panics:
// a batch that never returns holds up every later one): whoever adds an item while no batch is
// being committed commits a batch itself, at once (no hand-off to another
// goroutine on the way); items added meanwhile pile up and are committed
// together by one pooled goroutine, so a burst costs one transaction per
// batch rather than one per item. Commit is called for one batch at a
// time, in the order items were added.
//
// A lingering group (NewLingeringGroup) never commits on the caller's
// goroutine: the first item starts a pooled committer after the linger,
// so that items arriving in the meantime share its transaction. It suits
// writes nobody waits for, where a transaction per item would cost more
// than the items.
type Group[T any] struct {
	max    int
	linger time.Duration
	commit func([]T)

	mu      sync.Mutex
	pending []T  // waiting for the next batch
	running bool // a committer is running
	// lingering: the committer waits out the linger; Sync cuts it short.
	lingering bool
	added     uint64
	done      uint64     // items committed; batches commit in order
	settled   *sync.Cond // on mu: done grew
}

// NewGroup returns a group that hands commit at most max items at once.
func NewGroup[T any](max int, commit func([]T)) *Group[T] {
	return NewLingeringGroup(max, 0, commit)
}

// NewLingeringGroup returns a group that commits on a pooled goroutine
// once linger has passed since the first item of a batch was added.
func NewLingeringGroup[T any](max int, linger time.Duration, commit func([]T)) *Group[T] {
	g := &Group[T]{max: max, linger: linger, commit: commit}
	g.settled = sync.NewCond(&g.mu)
	return g
}

// Add queues item; it returns once the item is committed when this caller
// led the commit (never in a lingering group), else at once (the pooled
// committer takes it).
func (g *Group[T]) Add(item T) {
	g.mu.Lock()
	g.pending = append(g.pending, item)
	g.added++
	lead := !g.running
	g.running = true
	if lead && g.linger > 0 {
		g.lingering = true
	}
	g.mu.Unlock()
	if !lead {
		return
	}
	if g.linger > 0 {
		time.AfterFunc(g.linger, g.endLinger)
		return
	}
	g.next()
	if g.more() {
		Go(g.loop)
	}
}

// endLinger starts the committer at the end of the linger, unless Sync
// did already.
func (g *Group[T]) endLinger() {
	g.mu.Lock()
	start := g.lingering
	g.lingering = false
	g.mu.Unlock()
	if start {
		Go(g.loop)
	}
}

// loop commits batch after batch until nothing waits.
func (g *Group[T]) loop() {
	for g.next() {
	}
}

// next commits the next batch; false (with the committer marked stopped)
// when nothing was waiting.
func (g *Group[T]) next() bool {
	g.mu.Lock()
	n := min(len(g.pending), g.max)
	if n == 0 {
		g.running = false
		g.pending = nil
		g.mu.Unlock()
		return false
	}
	batch := g.pending[:n:n]
	g.pending = g.pending[n:]
	g.mu.Unlock()
	g.commit(batch)
	g.mu.Lock()
	g.done += uint64(n)
	g.settled.Broadcast()
	g.mu.Unlock()
	return true
}

// Sync waits until every item added before it was committed (a commit
// that failed counts: commit reports its own failures).
//
// In a lingering group it starts the commit at once: a reader waiting for
// what was written never waits out the linger.
func (g *Group[T]) Sync() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.lingering {
		g.lingering = false
		Go(g.loop)
	}
	for target := g.added; g.done < target; {
		g.settled.Wait()
	}
}

// more reports whether items wait for a committer, and if so keeps the
// committer marked running for the goroutine that will take them.
func (g *Group[T]) more() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) == 0 {
		g.running = false
		g.pending = nil
		return false
	}
	return true
}

// Waiting is how many items wait for a batch.
func (g *Group[T]) Waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.pending)
}

package component

import (
	"context"
	"sync"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// lanes is the link's outbound queue: one bounded FIFO per user (keyed by
// bare JID; "" for the transport's own traffic), drained round-robin by
// the writer. A producer whose lane is full waits (back-pressure that
// reaches the legacy connection feeding it), while other users' lanes keep
// flowing: one flooded channel cannot stall everyone. A lane exists only
// while it holds stanzas, so idle users cost nothing here.
type lanes struct {
	capacity int // stanzas per lane
	quantum  int // stanzas taken from one lane per round

	mu     sync.Mutex
	byKey  map[string]*lane
	active []*lane // lanes holding stanzas, in round-robin order
	total  int
	wake   chan struct{} // buffered(1): something was queued
}

type lane struct {
	key   string
	items []*xmlnode.Node // FIFO; items[0] is the oldest
	space chan struct{}   // closed when stanzas leave; nil when nobody waits
}

// newLanes returns lanes of capacity stanzas each; wake (buffered, 1)
// is signalled whenever a stanza is queued.
func newLanes(capacity int, wake chan struct{}) *lanes {
	if capacity < 1 {
		capacity = 1
	}
	return &lanes{capacity: capacity, quantum: 16, byKey: map[string]*lane{}, wake: wake}
}

// put queues n on key's lane, waiting while that lane is full; it fails
// only when ctx ends first.
func (q *lanes) put(ctx context.Context, key string, n *xmlnode.Node) error {
	for {
		q.mu.Lock()
		l := q.byKey[key]
		if l == nil {
			l = &lane{key: key}
			q.byKey[key] = l
		}
		if len(l.items) < q.capacity {
			if len(l.items) == 0 {
				q.active = append(q.active, l)
			}
			l.items = append(l.items, n)
			q.total++
			q.mu.Unlock()
			select {
			case q.wake <- struct{}{}:
			default:
			}
			return nil
		}
		if l.space == nil {
			l.space = make(chan struct{})
		}
		space := l.space
		q.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// take moves up to max stanzas into dst, a quantum per lane per round,
// oldest first within each lane, and returns dst.
func (q *lanes) take(dst []*xmlnode.Node, max int) []*xmlnode.Node {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(dst) < max && len(q.active) > 0 {
		l := q.active[0]
		k := min(q.quantum, len(l.items), max-len(dst))
		dst = append(dst, l.items[:k]...)
		clear(l.items[:k])
		l.items = l.items[k:]
		q.total -= k
		if l.space != nil {
			close(l.space)
			l.space = nil
		}
		copy(q.active, q.active[1:])
		q.active[len(q.active)-1] = nil
		q.active = q.active[:len(q.active)-1]
		if len(l.items) > 0 {
			q.active = append(q.active, l) // back of the round
		} else {
			delete(q.byKey, l.key)
		}
	}
	return dst
}

// len is the number of stanzas waiting in all lanes.
func (q *lanes) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.total
}

// lanesLen is the number of lanes holding stanzas.
func (q *lanes) lanesLen() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.active)
}

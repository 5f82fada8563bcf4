package component

import (
	"context"
	"sync"
	"time"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// lanes is the link's outbound queue: one bounded FIFO per user (keyed by
// bare JID; "" for the transport's own traffic), drained round-robin by
// the writer. A producer whose lane is full waits (back-pressure that
// reaches the legacy connection feeding it), while other users' lanes keep
// flowing: one flooded channel cannot stall everyone. A lane exists only
// while it holds stanzas, so idle users cost nothing here.
type lanes struct {
	capacity int    // stanzas per lane
	quantum  int    // stanzas taken from one lane per round
	domain   string // stamps delayed messages (XEP-0203 from)

	mu     sync.Mutex
	byKey  map[string]*lane
	active []*lane // lanes holding stanzas, in round-robin order
	total  int
	wake   chan struct{} // buffered(1): something was queued
}

type lane struct {
	key   string
	items []laneItem    // FIFO; items[0] is the oldest
	space chan struct{} // closed when stanzas leave; nil when nobody waits
}

type laneItem struct {
	n  *xmlnode.Node
	at time.Time // when it was queued
}

// newLanes returns lanes of capacity stanzas each; wake (buffered, 1)
// is signalled whenever a stanza is queued. domain stamps messages that
// waited (see take).
func newLanes(capacity int, wake chan struct{}, domain string) *lanes {
	if capacity < 1 {
		capacity = 1
	}
	return &lanes{capacity: capacity, quantum: 16, domain: domain, byKey: map[string]*lane{}, wake: wake}
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
			l.items = append(l.items, laneItem{n: n, at: time.Now()})
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
// oldest first within each lane, and returns dst. A message that waited
// longer than lateAfter gets an XEP-0203 delay with the time it was
// queued, so clients show when it was said.
func (q *lanes) take(dst []*xmlnode.Node, max int) []*xmlnode.Node {
	now := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(dst) < max && len(q.active) > 0 {
		l := q.active[0]
		k := min(q.quantum, len(l.items), max-len(dst))
		for _, it := range l.items[:k] {
			if now.Sub(it.at) > lateAfter {
				stampDelay(it.n, q.domain, it.at)
			}
			dst = append(dst, it.n)
		}
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

// lateAfter is how long a message may wait before it is stamped as
// delayed (XEP-0203): after an outage or behind a slow server.
const lateAfter = 5 * time.Second

// delayedSince is the network's time for a message when the message is late by
// it (zero otherwise): a live message stamped by the network (IRCv3
// server-time) is shown as live, not as delayed by a few milliseconds.
func (t *Transport) delayedSince(at time.Time) time.Time {
	if at.IsZero() || t.now().Sub(at) <= lateAfter {
		return time.Time{}
	}
	return at
}

// stampDelay marks a message that waited with when it was received,
// unless the network's own time is on it already.
func stampDelay(n *xmlnode.Node, domain string, at time.Time) {
	if n.Local == "message" && n.Child(nsDelay, "delay") == nil && n.Child("", "body") != nil {
		n.Add(delayElem(domain, at))
	}
}

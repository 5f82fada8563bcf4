package component

import (
	"sync"
	"time"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// XEP-0114 has no acknowledgements: a stanza written just before a stream
// dies may never reach the server. So the writer keeps what it wrote until
// a ping written after it is answered (the server handles a stream in
// order, so the answer proves everything before it arrived). When the
// stream is lost, what was not confirmed is written again on the next one
// (at least once; stanza ids let clients drop a repeat), and stored
// stanzas are deleted only once confirmed.
//
// One ping is in flight at a time and pings are at least confirmGap
// apart, so a burst of thousands of stanzas costs a handful of pings.

const (
	// confirmGap spaces confirming pings; it bounds how much unconfirmed
	// traffic a lost stream makes the next one repeat (a quarter second's
	// worth). A ping costs a write and a read on both ends of the stream:
	// at 20 ms apart, a room with a message every few dozen milliseconds
	// paid a ping round trip per message, a fifth of Ferry's CPU in the
	// load tool's paced scenario.
	confirmGap = 250 * time.Millisecond
	// maxUnconfirmed bounds the stanzas kept for repetition: beyond it the
	// writer waits for a confirmation before writing more.
	maxUnconfirmed = 20000
)

// confirmer is one stream's record of what awaits confirmation.
type confirmer struct {
	mu          sync.Mutex
	unconfirmed []*xmlnode.Node // written, in order, not yet confirmed
	durable     int64           // highest stored id written
	durableDone int64           // highest stored id confirmed
	inFlight    bool            // a confirming ping awaits its answer
	sentAt      time.Time       // when that ping was written
	lastPing    time.Time
}

// wrote records stanzas about to be written and the highest stored id
// among them (0: none).
func (c *confirmer) wrote(nodes []*xmlnode.Node, durable int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unconfirmed = append(c.unconfirmed, nodes...)
	if durable > c.durable {
		c.durable = durable
	}
}

// due reports whether a confirming ping should go out now, and if not but
// one will be needed, how long until it may.
func (c *confirmer) due(now time.Time) (ready bool, wait time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inFlight || len(c.unconfirmed) == 0 && c.durable == c.durableDone {
		return false, 0
	}
	if gap := now.Sub(c.lastPing); gap < confirmGap {
		return false, confirmGap - gap
	}
	return true, 0
}

// ping returns the mark a confirming ping written now covers: how many
// unconfirmed stanzas and which stored id.
func (c *confirmer) ping(now time.Time) (count int, durable int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight, c.sentAt, c.lastPing = true, now, now
	return len(c.unconfirmed), c.durable
}

// confirmed drops the first count stanzas and records stored ids up to
// durable: the server has them. An answer read while the stream ends may
// come after leftover took the stanzas for the next stream: those are
// then written again (at least once), and nothing is left here to drop.
func (c *confirmer) confirmed(count int, durable int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.durableDone = max(c.durableDone, durable)
	count = min(count, len(c.unconfirmed))
	clear(c.unconfirmed[:count])
	c.unconfirmed = c.unconfirmed[count:]
	if len(c.unconfirmed) == 0 {
		c.unconfirmed = nil
	}
	c.inFlight = false
}

// failed ends a ping that was answered with an error: nothing confirmed.
func (c *confirmer) failed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight = false
}

// stuck reports a confirming ping unanswered for longer than timeout.
func (c *confirmer) stuck(now time.Time, timeout time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inFlight && now.Sub(c.sentAt) > timeout
}

// full reports that the writer must wait for a confirmation.
func (c *confirmer) full() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.unconfirmed) >= maxUnconfirmed
}

// leftover is what the next stream must write again.
func (c *confirmer) leftover() []*xmlnode.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.unconfirmed
	c.unconfirmed = nil
	return out
}

// Package ratelimit limits how often something may happen per key (a
// user, a network): a token bucket per key, kept as the time its bucket
// is next full (GCRA), so a key that has been quiet costs nothing and is
// forgotten. Several keys can be charged at once, all or none, so a login
// refused for the network does not use up the user's allowance.
//
// Time comes from a Clock the caller passes, so tests are exact.
package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Limit allows Burst events at once, then one every Every.
type Limit struct {
	Burst int
	Every time.Duration
}

func (l Limit) String() string { return fmt.Sprintf("%d, then one every %v", l.Burst, l.Every) }

// Key is a bucket: a name and the limit that applies to it. The same name
// always needs the same limit.
type Key struct {
	Name  string
	Limit Limit
}

// Clock is the time source. Real is the wall clock.
type Clock interface {
	Now() time.Time
	// After delivers once d has passed (Wait only).
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Real is the wall clock.
var Real Clock = realClock{}

// Limiter holds the buckets. Its methods are safe for concurrent use.
type Limiter struct {
	clock Clock

	mu sync.Mutex
	// full maps a key's name to the time its bucket holds no token less
	// than Burst, i.e. when the last event taken is forgiven. A time not
	// after now means a full bucket, which needs no entry.
	full    map[string]time.Time
	takes   int // since the last sweep of full buckets
	maxSeen int // entries at the last sweep
}

// New returns a limiter on clock.
func New(clock Clock) *Limiter {
	return &Limiter{clock: clock, full: map[string]time.Time{}}
}

// Denied says why Take refused: the key that is out of tokens (the one
// that needs the longest wait) and how long until it has one.
type Denied struct {
	Key        Key
	RetryAfter time.Duration
}

func (d *Denied) Error() string {
	return fmt.Sprintf("rate limit %q (%v): retry after %v", d.Key.Name, d.Key.Limit, d.RetryAfter)
}

// Seconds is RetryAfter in whole seconds, rounded up: what to tell a
// person ("try again in N s").
func (d *Denied) Seconds() int { return int((d.RetryAfter + time.Second - 1) / time.Second) }

// Take charges one event to every key, or to none of them: it returns nil
// when each key had a token, and otherwise a *Denied for the key whose
// token comes last. A key with a zero Limit.Every is unlimited.
func (l *Limiter) Take(keys ...Key) *Denied {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var worst *Denied
	next := make([]time.Time, len(keys))
	for i, k := range keys {
		if k.Limit.Every <= 0 {
			continue
		}
		full := l.full[k.Name]
		if full.Before(now) {
			full = now
		}
		// Burst tokens span (Burst-1)*Every beyond the one being taken.
		window := time.Duration(max(k.Limit.Burst, 1)-1) * k.Limit.Every
		if wait := full.Sub(now) - window; wait > 0 && (worst == nil || wait > worst.RetryAfter) {
			worst = &Denied{Key: k, RetryAfter: wait}
		}
		next[i] = full.Add(k.Limit.Every)
	}
	if worst != nil {
		return worst
	}
	for i, k := range keys {
		if k.Limit.Every > 0 {
			l.full[k.Name] = next[i]
		}
	}
	l.sweep(now)
	return nil
}

// sweep forgets full buckets once the map has doubled since the last
// sweep, so memory follows the keys active within their limit's span and
// the cost stays constant per Take on average.
func (l *Limiter) sweep(now time.Time) {
	l.takes++
	if len(l.full) < 2*l.maxSeen || l.takes < 64 {
		return
	}
	for name, full := range l.full {
		if !full.After(now) {
			delete(l.full, name)
		}
	}
	l.takes, l.maxSeen = 0, len(l.full)
}

// Wait takes an event for keys as soon as they all have a token, or
// returns ctx's error: for loops that retry on their own (reconnects).
func (l *Limiter) Wait(ctx context.Context, keys ...Key) error {
	for {
		d := l.Take(keys...)
		if d == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.clock.After(d.RetryAfter):
		}
	}
}

// Len is how many keys the limiter remembers (for tests and metrics).
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.full)
}

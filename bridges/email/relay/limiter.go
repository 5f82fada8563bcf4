package relay

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// pruneInterval is how often, at most, the limiter drops idle buckets.
const pruneInterval = time.Minute

// limiter is a token bucket per recipient address: perHour mails per hour,
// in bursts of up to perHour.
//
// A bucket that has refilled completely behaves exactly like a new one, so
// it is deleted (at most every pruneInterval, during a call to allow): the
// map holds only addresses that received mail within about the last hour,
// and only addresses the Directory knows are ever added.
type limiter struct {
	now   func() time.Time // time.Now; replaced in tests
	limit rate.Limit
	burst int

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastPrune time.Time
}

func newLimiter(perHour int) *limiter {
	return &limiter{
		now:     time.Now,
		limit:   rate.Limit(float64(perHour) / time.Hour.Seconds()),
		burst:   perHour,
		buckets: make(map[string]*rate.Limiter),
	}
}

// allow takes a token from address's bucket and reports whether there was
// one.
func (l *limiter) allow(address string) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastPrune) >= pruneInterval {
		l.prune(now)
	}
	b := l.buckets[address]
	if b == nil {
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[address] = b
	}
	return b.AllowN(now, 1)
}

// prune deletes the buckets that are full at now. l.mu must be held.
func (l *limiter) prune(now time.Time) {
	for a, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, a)
		}
	}
	l.lastPrune = now
}

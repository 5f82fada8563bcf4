// Package backoff is the one retry policy every Ferry loop uses: capped
// exponential delays, half fixed and half random, so that many clients
// failing together (a server restart) neither retry instantly nor all at
// once; and a queue loop that works when woken or when its next item is due.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Delay is the wait before retry number n (0 for the first retry):
// lo doubled n times, at most hi; half of it fixed, half random.
func Delay(lo, hi time.Duration, n int) time.Duration {
	return delay(lo, hi, n, rand.Int64N)
}

func delay(lo, hi time.Duration, n int, random func(int64) int64) time.Duration {
	d := lo << min(max(n, 0), 30)
	if d <= 0 || d > hi {
		d = hi
	}
	half := int64(d / 2)
	return time.Duration(half + random(half+1))
}

// Run calls work until ctx ends: at once, then whenever wake fires or the
// delay work returned has passed (work returns how long until it has
// something due again).
func Run(ctx context.Context, wake <-chan struct{}, work func(context.Context) time.Duration) {
	for {
		next := work(ctx)
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// Kick wakes a loop waiting on wake without blocking (wake must have a
// buffer of one: a wake-up already pending is enough).
func Kick(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}

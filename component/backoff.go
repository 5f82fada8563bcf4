package component

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff yields capped exponential delays with full jitter, so many Ferry
// instances (or transports) restarting together do not stampede the server.
type backoff struct {
	min, max time.Duration
	attempt  int
	rand     func(int64) int64 // injectable for tests
}

func newBackoff(min, max time.Duration) *backoff {
	return &backoff{min: min, max: max, rand: rand.Int64N}
}

// next returns the delay before the next attempt and advances the counter.
func (b *backoff) next() time.Duration {
	ceil := b.min << min(b.attempt, 30)
	if ceil <= 0 || ceil > b.max {
		ceil = b.max
	}
	b.attempt++
	// Half fixed, half random: never retry instantly, never all at once.
	half := int64(ceil / 2)
	return time.Duration(half + b.rand(half+1))
}

// reset is called after a connection proved healthy.
func (b *backoff) reset() { b.attempt = 0 }

// sleep waits d or until ctx is done, reporting whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

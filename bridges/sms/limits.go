package sms

import (
	"context"
	"sync"

	"golang.org/x/time/rate"
)

// limiters pace texts per sending number: carriers throttle or block a
// number that sends faster than a person could.
type limiters struct {
	mu    sync.Mutex
	rate  rate.Limit
	byNum map[string]*rate.Limiter
}

func newLimiters(perSecond float64) *limiters {
	return &limiters{rate: rate.Limit(perSecond), byNum: map[string]*rate.Limiter{}}
}

func (l *limiters) wait(ctx context.Context, number string) error {
	l.mu.Lock()
	lim := l.byNum[number]
	if lim == nil {
		lim = rate.NewLimiter(l.rate, 1)
		l.byNum[number] = lim
	}
	l.mu.Unlock()
	return lim.Wait(ctx)
}

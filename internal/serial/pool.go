package serial

import (
	"sync"
	"time"
)

// Queues start their goroutine when work arrives and stop it when there is
// none left, so that idle users and connections cost nothing. Starting a
// fresh goroutine for each burst would cost more than the work, though:
// its stack starts small and is copied each time a deep call (a bridge, the
// XML writer) grows it. So goroutines come from a pool: one that finished
// its work waits a while for the next before it ends, keeping its grown
// stack. At rest the pool holds no goroutine; in a busy period, about as
// many as work at once.

const (
	// poolIdle is how long a pooled goroutine waits for work before it
	// ends.
	poolIdle = 5 * time.Second
	// poolMaxIdle bounds the goroutines waiting: after a storm of work the
	// rest end at once instead of lingering.
	poolMaxIdle = 256
)

type pool struct {
	mu   sync.Mutex
	idle []chan func() // parked workers, most recent last
}

var workers pool

// Go runs fn on a pooled goroutine: a parked one if any, else a new one.
func Go(fn func()) { workers.run(fn) }

func (p *pool) run(fn func()) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w <- fn
		return
	}
	p.mu.Unlock()
	go p.work(fn)
}

// work runs fn, then parks waiting for more, until poolIdle passes with
// nothing to do.
func (p *pool) work(fn func()) {
	w := make(chan func(), 1)
	timer := time.NewTimer(poolIdle)
	defer timer.Stop()
	for {
		fn()
		fn = nil
		timer.Reset(poolIdle)
		p.mu.Lock()
		if len(p.idle) >= poolMaxIdle {
			p.mu.Unlock()
			return
		}
		p.idle = append(p.idle, w)
		p.mu.Unlock()
		select {
		case fn = <-w:
		case <-timer.C:
			if p.unpark(w) {
				return
			}
			fn = <-w // handed work just as the wait ended
		}
	}
}

// unpark takes w off the idle list; false means someone took it first and
// is handing it work.
func (p *pool) unpark(w chan func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, c := range p.idle {
		if c == w {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return true
		}
	}
	return false
}

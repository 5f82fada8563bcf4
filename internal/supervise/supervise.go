// Package supervise is Ferry's one panic policy. Every goroutine root
// defers Recover (or runs under Go or Loop): a panic is logged with its
// stack and counted, the loop it killed is restarted after a pause where
// that is safe, and a subsystem that is down shows in Health, which
// /healthz reports.
package supervise

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/ferry-xmpp/ferry/internal/backoff"
)

// Supervisor holds the panic count and the health of supervised loops.
// A nil *Supervisor is valid: panics are still recovered and logged to
// slog's default logger, but neither counted nor reported.
type Supervisor struct {
	log     *slog.Logger
	onPanic func() // counts a panic (a metric); may be nil

	// pause waits before a restart; tests replace it to run instantly.
	pause func(ctx context.Context, d time.Duration) bool

	mu   sync.Mutex
	down map[string]string // subsystem -> why it is not running
}

// New returns a supervisor logging to log; onPanic (may be nil) is called
// once per recovered panic, e.g. to increment a metric.
func New(log *slog.Logger, onPanic func()) *Supervisor {
	return &Supervisor{log: log, onPanic: onPanic, down: map[string]string{}, pause: sleep}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (s *Supervisor) logger() *slog.Logger {
	if s == nil || s.log == nil {
		return slog.Default()
	}
	return s.log
}

// Recover must be deferred directly by a goroutine root (or around a unit
// of work whose loop goes on): it turns a panic into an error log with
// the stack and a count, and reports whether there was one through
// *panicked when that is not nil.
func (s *Supervisor) Recover(what string, panicked *bool) {
	r := recover()
	if r == nil {
		return
	}
	s.report(what, r)
	if panicked != nil {
		*panicked = true
	}
}

func (s *Supervisor) report(what string, r any) {
	s.logger().Error("recovered from panic", "in", what, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	if s != nil && s.onPanic != nil {
		s.onPanic()
	}
}

// Go runs fn on a new goroutine under Recover. For one-off work whose
// failure only affects itself (a query, a job).
func (s *Supervisor) Go(what string, fn func()) {
	go func() {
		defer s.Recover(what, nil)
		fn()
	}()
}

// Loop runs fn until ctx ends, restarting it after a pause when it
// panics; while it waits to restart, the subsystem is reported down. fn
// returning (with or without an error) ends the loop: an error is logged
// and the subsystem stays down, since a loop that gives up needs the
// operator.
func (s *Supervisor) Loop(ctx context.Context, name string, fn func(context.Context) error) {
	for attempt := 0; ctx.Err() == nil; attempt++ {
		panicked := false
		started := time.Now()
		err := s.run(name, fn, ctx, &panicked)
		if time.Since(started) > time.Minute {
			attempt = 0 // it ran well for a while: this panic is news
		}
		if ctx.Err() != nil {
			s.setDown(name, "")
			return
		}
		if !panicked {
			if err != nil {
				s.logger().Error("subsystem stopped", "subsystem", name, "error", err)
				s.setDown(name, "stopped: "+err.Error())
			}
			return
		}
		s.setDown(name, "restarting after a panic")
		pause := sleep
		if s != nil {
			pause = s.pause
		}
		if !pause(ctx, backoff.Delay(time.Second, time.Minute, attempt)) {
			s.setDown(name, "")
			return
		}
		s.setDown(name, "")
	}
}

func (s *Supervisor) run(name string, fn func(context.Context) error, ctx context.Context, panicked *bool) (err error) {
	defer s.Recover(name, panicked)
	return fn(ctx)
}

// MarkDown reports a subsystem down with a reason ("" marks it up again),
// for loops that know their own state (a bridge that lost its listener).
func (s *Supervisor) MarkDown(name, why string) { s.setDown(name, why) }

func (s *Supervisor) setDown(name, why string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if why == "" {
		delete(s.down, name)
		return
	}
	s.down[name] = why
}

// Down lists the subsystems that are not running, with why, sorted by name.
func (s *Supervisor) Down() []Problem {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Problem, 0, len(s.down))
	for name, why := range s.down {
		out = append(out, Problem{Subsystem: name, Why: why})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Subsystem < out[j].Subsystem })
	return out
}

// Problem is one subsystem that is down.
type Problem struct {
	Subsystem string `json:"subsystem"`
	Why       string `json:"why"`
}

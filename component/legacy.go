package component

import (
	"context"
	"errors"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/serial"
	"github.com/ferry-xmpp/ferry/registry"
)

// legacy is a user's ops lane: the work that talks to the legacy network
// or waits on it (registration logins, opening and closing the session,
// sends, joins), run one at a time in the order the actor queued it, on a
// goroutine of its own, so the actor never waits. Each op's result goes
// back to the actor as an event. The session object itself belongs to the
// lane: only ops touch it.
type legacy struct {
	ops *serial.Queue[op]
	u   *user // for posting results; its state is the actor's, not ours

	// Owned by the ops goroutine.
	acct *registry.Account // the account the next open uses
	sess bridges.Session
	gen  int64 // the generation sess was opened with
}

// op is one unit of legacy work. run executes on the ops lane with the
// lane's state; done (optional) runs afterwards on the actor with run's
// error.
type op struct {
	what    string
	timeout time.Duration
	run     func(ctx context.Context, lg *legacy) error
	done    func(u *user, err error)
}

const (
	opTimeout = 30 * time.Second
	// opsLimit bounds the work one user may queue (messages waiting for
	// a slow or paced network); beyond it they are told to slow down.
	opsLimit = 256
)

// errSkipped is what an op returns when an earlier op's failure (already
// reported) makes it pointless: its done callback stays silent.
var errSkipped = errors.New("component: skipped after an earlier failure")

// errNoSession is what an op that needs the session meets without one.
var errNoSession = bridges.Errorf(bridges.RemoteServerTmout, "not connected")

func newLegacy(u *user) *legacy {
	lg := &legacy{u: u}
	lg.ops = serial.New("legacy "+u.jid, opsLimit, u.t.sup, lg.exec)
	return lg
}

// do queues o on the user's ops lane. It never waits: false means the
// lane is full and the caller must tell the user to slow down.
func (u *user) do(o op) bool {
	if !u.lg.ops.TryPut(o, opsLimit) {
		return false
	}
	u.opsBusy++
	return true
}

func (lg *legacy) exec(o op) {
	timeout := o.timeout
	if timeout == 0 {
		timeout = opTimeout
	}
	t := lg.u.t
	ctx, cancel := context.WithTimeout(t.ctx, timeout)
	err := lg.runSafely(ctx, o)
	cancel()
	// The result goes back even while the transport stops, so that the
	// actor's count of work in flight stays true.
	_ = t.post(context.WithoutCancel(t.ctx), lg.u.jid, func(u *user) {
		u.opsBusy--
		if o.done != nil && !errors.Is(err, errSkipped) {
			o.done(u, err)
		}
		if u.opsBusy == 0 {
			waiters := u.idleWaiters
			u.idleWaiters = nil
			for _, fn := range waiters {
				fn()
			}
		}
	})
}

// runSafely turns a panic in a bridge into an error for this op alone.
func (lg *legacy) runSafely(ctx context.Context, o op) (err error) {
	panicked := false
	defer func() {
		if panicked {
			err = &bridges.Error{Condition: bridges.InternalServer, Text: "internal error in the gateway"}
		}
	}()
	defer lg.u.t.sup.Recover(o.what+" for "+lg.u.jid, &panicked)
	return o.run(ctx, lg)
}

// session returns the open session or errNoSession (errSkipped when the
// open failed: that failure was reported already).
func (lg *legacy) session() (bridges.Session, error) {
	if lg.sess == nil {
		return nil, errNoSession
	}
	return lg.sess, nil
}

// background runs work that needs no session but may wait (a bridge
// command, a report) on the ops lane, and done with its error on the
// actor.
func (u *user) background(what string, work func(context.Context) error, done func(*user, error)) {
	queued := u.do(op{what: what, done: done, run: func(ctx context.Context, _ *legacy) error { return work(ctx) }})
	if !queued {
		done(u, bridges.Errorf("resource-constraint", "too much is in progress; try again in a moment"))
	}
}

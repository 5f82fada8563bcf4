package component

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/serial"
	"github.com/ferry-xmpp/ferry/internal/smallmap"
	"github.com/ferry-xmpp/ferry/registry"
)

// Every XMPP user of a transport has an actor: a serial queue of events
// (stanzas they sent, what their legacy session reports, results of work
// done for them) drained by a goroutine that exists only while events
// wait. Only that goroutine touches the user's state. The actor never
// waits on a network: registration checks, session opens, joins and sends
// run on the user's ops lane (legacy.go), in order, and post their result
// back as an event. State that outlives no event — a JID that is neither
// registered nor in a room — is dropped after the reply.

const (
	// inboxCapacity bounds the events a legacy session may queue for one
	// user before it waits (and stops reading its connection).
	inboxCapacity = 64
	// stanzaLimit and presenceLimit bound what a user's own client may
	// queue: beyond them stanzas are refused with "try again", never
	// waited on, so one client cannot hold up the XMPP stream.
	stanzaLimit   = 256
	presenceLimit = 1024
)

// acquire returns the user's actor, making it if needed, and holds it so
// it is not retired before the caller has queued its event; release
// undoes that. nil means the transport is stopping.
func (t *Transport) acquire(bare string) *user {
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.usrs[bare]
	if u == nil {
		if t.stopping {
			return nil // shutting down: no new actors
		}
		u = newUser(t, bare)
		t.usrs[bare] = u
	}
	u.holds.Add(1)
	return u
}

func (u *user) release() {
	// The actor may have finished the event before the caller let go: it
	// then found the user held and kept the state, and the last release
	// retires it instead (nothing else would).
	if u.holds.Add(-1) == 0 && u.retirable.Load() {
		u.t.retire(u, true)
	}
}

// post hands fn to the user's actor, waiting while their queue is full:
// back-pressure for legacy sessions and jobs. It fails when ctx ends (or
// the transport stops) first.
func (t *Transport) post(ctx context.Context, bare string, fn func(*user)) error {
	u := t.acquire(bare)
	if u == nil {
		return errStopping
	}
	defer u.release()
	return u.inbox.Put(ctx, fn)
}

// postNow hands fn to the actor without ever waiting; false means the
// user already has limit events waiting.
func (t *Transport) postNow(bare string, fn func(*user), limit int) bool {
	u := t.acquire(bare)
	if u == nil {
		return false
	}
	defer u.release()
	return u.inbox.TryPut(fn, limit)
}

var errStopping = errors.New("component: transport stopping")

// user is the state one actor owns.
type user struct {
	t     *Transport
	jid   string // bare
	inbox *serial.Queue[func(*user)]
	lg    *legacy // the ops lane and what only it touches
	holds atomic.Int32
	// retirable is the verdict of the last event handled: nothing in the
	// user's state outlives it (maybeRetire).
	retirable atomic.Bool

	loaded      bool
	acct        *registry.Account
	sess        sessionState
	sessGen     int64 // identifies the current session's sink
	failedAt    time.Time
	opsBusy     int  // ops queued or running for this user
	registering bool // a registration op is queued: ops after it use its account
	state       bridges.State
	stateText   string
	resources   smallmap.Map[bool] // available resources (resourceparts)
	dialog      *dialog
	cmdSess     map[string]*cmdSession
	rooms       map[string]*room // joined or joining, by room local part
	addrs       addressCache     // settings of single addresses (configure.go)
	// lastActive is the last 1:1 message, which keeps the session of a
	// user with no room and no available resource open a while
	// (activeLinger).
	lastActive  time.Time
	lingering   bool     // a check is scheduled for the end of the linger
	idleWaiters []func() // called once no op is in flight (shutdown)
	// views is what the legacy session reads to deliver room messages
	// itself; roomsChanged asks run to publish it again.
	views        *roomViews
	roomsChanged bool
	// seats is what was last stored of each room's seat, so a restart
	// restores the rooms (seats.go); seatsKept stops storing them once
	// the gateway stops, keeping them for the next start.
	seats     smallmap.Map[string]
	seatsKept bool
	typing    typingLimiter // the chat states sent lately (signals.go)
}

// sessionState is the actor's view of the legacy session; the ops lane
// holds the session itself.
type sessionState int

const (
	sessNone    sessionState = iota
	sessOpening              // an open is queued or running
	sessOpen
	sessFailed // the open failed; stateText says why
)

func newUser(t *Transport, bare string) *user {
	u := &user{t: t, jid: bare, rooms: map[string]*room{},
		views: &roomViews{}, typing: typingLimiter{}}
	u.inbox = serial.New("user "+bare, inboxCapacity, t.sup, u.run)
	u.lg = newLegacy(u)
	return u
}

// run handles one event, then retires the actor if nothing is left to keep.
func (u *user) run(fn func(*user)) {
	u.load()
	fn(u)
	if u.roomsChanged {
		u.roomsChanged = false
		u.saveSeats()
		u.publishRooms()
	}
	u.maybeRetire()
}

// maybeRetire drops the user's state when nothing needs it: no account
// loaded with a session, no resources, rooms, dialogs, work in flight, and
// no event waiting or about to be queued.
func (u *user) maybeRetire() {
	idle := !u.busy()
	u.retirable.Store(idle)
	if idle {
		u.t.retire(u, false)
	}
}

// retire drops an actor that nobody holds and that has no event queued:
// from the actor itself at the end of an event, or (released) from the
// last caller to let go, then only if no event is running either — a
// running one decides for itself when it ends. Holding t.mu keeps new
// callers out meanwhile (acquire).
func (t *Transport) retire(u *user, released bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if u.holds.Load() != 0 || t.usrs[u.jid] != u {
		return
	}
	if released && !u.inbox.Idle() || !released && u.inbox.Len() != 0 {
		return
	}
	if u.retirable.Load() {
		delete(t.usrs, u.jid)
	}
}

// busy reports state that must outlive this event.
func (u *user) busy() bool {
	u.expireCommandSessions()
	return u.sess != sessNone && u.sess != sessFailed || u.opsBusy > 0 || u.resources.Len() > 0 ||
		u.dialog != nil || len(u.cmdSess) > 0 || len(u.rooms) > 0 || u.lingering
}

func (u *user) load() {
	if u.loaded {
		return
	}
	ctx, cancel := context.WithTimeout(u.t.ctx, 10*time.Second)
	defer cancel()
	a, err := u.t.store.GetAccount(ctx, u.t.domain, u.jid)
	switch {
	case err == nil:
		u.acct = &a
		u.noteUnsealable()
	case errors.Is(err, registry.ErrNotFound):
		u.acct = nil
	default:
		u.t.log.Error("loading account", "user", u.jid, "error", err)
		return // try again on the next event
	}
	u.loaded = true
}

// after runs fn on the actor once d has passed (for expiries and
// lingering), unless the transport stops first.
func (u *user) after(d time.Duration, fn func(*user)) {
	t, bare := u.t, u.jid
	time.AfterFunc(d, func() { _ = t.post(t.ctx, bare, fn) })
}

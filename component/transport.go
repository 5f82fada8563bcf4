// Package component is the XMPP side of Ferry, generic over bridges: one
// Transport per component domain, with its link, routing, discovery,
// registration, commands and presence.
package component

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/supervise"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
)

// Policy is the gateway-wide policy a transport enforces.
type Policy struct {
	Admins         []string // bare JIDs
	OpenRegistrate bool     // false: only admins may register
	DomainAllowed  func(domain string) bool
}

// Options configures a Transport.
type Options struct {
	Domain     string
	Name       string // human name for disco; default from the bridge
	Bridge     bridges.Bridge
	Store      registry.Store
	Link       LinkConfig // Domain, Outbox, Handle, OnUp, Logger, Metrics and Supervisor are filled in
	Policy     Policy
	Logger     *slog.Logger
	Metrics    *Metrics
	Supervisor *supervise.Supervisor
	Version    string
	// Now is the clock for command session expiry; nil means time.Now.
	Now func() time.Time
}

// Transport serves one component domain backed by one bridge.
type Transport struct {
	domain string
	name   string
	desc   bridges.Descriptor
	bridge bridges.Bridge
	store  registry.Store
	link   *Link
	policy Policy
	admins map[string]bool
	log    *slog.Logger
	// refusals keeps a flooding client from flooding the log too.
	refusals *refusalLog
	jids     *jidCache // addresses of incoming stanzas, parsed
	metrics  *Metrics
	sup      *supervise.Supervisor
	version  string
	now      func() time.Time
	cmds     []*command

	// ctx lives as long as the transport: actors, ops and queued sends use
	// it. linkCtx ends last, when the stream is closed.
	ctx        context.Context
	linkCtx    context.Context
	gens       atomic.Int64 // session generations, unique across actors
	mu         sync.Mutex
	usrs       map[string]*user
	stopping   bool // no new events: the transport is shutting down
	stoppingAt atomic.Bool

	peersMu sync.Mutex
	online  map[string]map[string]bool // user -> puppet local parts shown online

	priv *privileges // XEP-0356 permissions the server granted

	archive *archiver // room history
	ghosts  ghosts    // restored room resources to ping once the link is up
}

// New builds a transport; Run serves it.
func New(o Options) *Transport {
	t := &Transport{
		domain:  o.Domain,
		bridge:  o.Bridge,
		desc:    o.Bridge.Describe(),
		store:   o.Store,
		policy:  o.Policy,
		admins:  map[string]bool{},
		log:     o.Logger.With("transport", o.Domain),
		metrics: o.Metrics,
		sup:     o.Supervisor,
		version: o.Version,
		now:     o.Now,
		usrs:    map[string]*user{},
		online:  map[string]map[string]bool{},
		ctx:     context.Background(),
		linkCtx: context.Background(),
		priv:    newPrivileges(),
	}
	if t.now == nil {
		t.now = time.Now
	}
	t.refusals = newRefusalLog(refusalLogEvery, t.now)
	t.jids = newJIDCache()
	t.name = o.Name
	if t.name == "" {
		t.name = t.desc.Name + " gateway"
	}
	for _, a := range o.Policy.Admins {
		t.admins[a] = true
	}
	if t.policy.DomainAllowed == nil {
		t.policy.DomainAllowed = func(string) bool { return true }
	}
	lc := o.Link
	lc.Domain = o.Domain
	lc.Outbox = o.Store
	lc.Logger = t.log
	lc.Metrics = o.Metrics
	lc.Supervisor = o.Supervisor
	lc.Handle = t.handle
	lc.OnUp = t.linkUp
	lc.Late = t.late
	t.link = NewLink(lc)
	t.archive = newArchiver(o.Store, Retention{Days: t.desc.HistoryDays, Messages: t.desc.HistoryMessages}, o.Domain, t.now, t.log, o.Supervisor)
	t.cmds = append(t.commandList(), t.bridgeCommands()...)
	return t
}

// Listen binds what the bridge accepts connections on (bridges.Listener),
// so a port in use stops Ferry's start instead of becoming a log line.
func (t *Transport) Listen() error {
	if l, ok := t.bridge.(bridges.Listener); ok {
		if err := l.Listen(); err != nil {
			return fmt.Errorf("transport %s: %w", t.domain, err)
		}
	}
	return nil
}

// Domain is the component JID this transport serves.
func (t *Transport) Domain() string { return t.domain }

// LinkUp reports whether the component stream is up (for /healthz).
func (t *Transport) LinkUp() bool { return t.link.Up() }

// QueueDepth is the stanzas waiting in memory for the link (for metrics).
func (t *Transport) QueueDepth() int { return t.link.QueueDepth() }

// Run starts the sessions of users who stay connected, then serves until
// ctx ends and shuts down cleanly.
func (t *Transport) Run(ctx context.Context) error {
	actorCtx, cancelActors := context.WithCancel(context.Background())
	linkCtx, stopLink := context.WithCancel(context.Background())
	t.ctx, t.linkCtx = actorCtx, linkCtx
	defer cancelActors()
	defer stopLink()
	accts, err := t.store.ListAccounts(ctx, t.domain)
	if err != nil {
		return err
	}
	// Nobody is in a room before the sessions open but those restored:
	// the other memberships a stop or a crash left open end now.
	seated, err := t.restoreSeats(ctx)
	if err != nil {
		return err
	}
	if _, err := t.store.CloseArchivePeriods(ctx, t.domain, t.now()); err != nil {
		return err
	}
	for _, a := range accts {
		rooms := seated[a.JID]
		for _, rs := range rooms {
			for _, full := range rs.seat.Resources {
				t.ghosts.check(a.JID, rs.seat.Room, full)
			}
		}
		if err := t.post(ctx, a.JID, func(u *user) { u.maybeStartSession(); u.restore(rooms) }); err != nil {
			return err
		}
	}
	bridgeDone := make(chan struct{})
	bridgeCtx, stopBridge := context.WithCancel(context.Background())
	go func() {
		defer close(bridgeDone)
		if r, ok := t.bridge.(bridges.Runner); ok {
			t.sup.Loop(bridgeCtx, "bridge "+t.domain, r.Run)
		}
	}()
	pruneDone := make(chan struct{})
	go func() {
		defer close(pruneDone)
		t.sup.Loop(bridgeCtx, "archive prune "+t.domain, t.archive.pruneLoop)
	}()
	stopLoops := func() { stopBridge(); <-bridgeDone; <-pruneDone }
	defer stopLoops() // on the early returns; a second call does nothing
	linkDone := make(chan struct{})
	go func() {
		defer close(linkDone)
		t.link.Run(linkCtx)
	}()
	<-ctx.Done()
	t.shutdown(stopLink, linkDone)
	stopLoops()
	if !t.quiesce(shutdownWait) {
		t.log.Warn("some users' work was still running when the transport stopped", "wait", shutdownWait)
	}
	return nil
}

// actors lists the users with an actor; the caller holds t.mu.
func (t *Transport) actors() []*user {
	return slices.Collect(maps.Values(t.usrs))
}

// quiesce waits until no actor and no ops lane runs, then until the
// archive's and the outbox's queued writes are stored. The caller closes
// the store once Run returns, so what the sessions posted while closing
// must be done with it by then. False when that took longer than wait.
func (t *Transport) quiesce(wait time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for busy := true; busy; {
		if ctx.Err() != nil {
			return false
		}
		busy = false
		t.mu.Lock()
		users := t.actors()
		t.mu.Unlock()
		for _, u := range users {
			if u.inbox.Idle() && u.lg.ops.Idle() {
				continue
			}
			busy = true // its work may post more: look at everyone again
			if u.inbox.WaitIdle(ctx) != nil || u.lg.ops.WaitIdle(ctx) != nil {
				return false
			}
		}
	}
	t.archive.group.Sync()
	t.link.durable.group.Sync()
	return true
}

// shutdownWait bounds each step of a graceful shutdown.
const shutdownWait = 10 * time.Second

// shutdown stops intake first (anything still arriving is answered "try
// again later"), lets accepted work finish and sessions close, confirms
// with the server that everything it sent was read, then says goodbye and
// closes the stream.
func (t *Transport) shutdown(stopLink context.CancelFunc, linkDone chan struct{}) {
	t.mu.Lock()
	t.stopping = true
	t.stoppingAt.Store(true)
	users := t.actors()
	t.mu.Unlock()
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Add(1)
		ctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
		err := u.inbox.Put(ctx, func(u *user) {
			u.suspend("gateway shutting down")
			u.whenIdle(wg.Done)
		})
		cancel()
		if err != nil {
			wg.Done()
		}
	}
	if !waitGroup(&wg, shutdownWait) {
		t.log.Warn("some sessions did not close in time", "wait", shutdownWait)
	}
	t.archive.group.Sync() // the last lines and leaves are stored
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if _, err := t.link.Request(sctx, pingIQ(t.domain, t.link.cfg.PingTo)); err != nil && !errors.Is(err, errLinkDown) {
		t.log.Warn("the XMPP server did not confirm the last stanzas before shutdown", "error", err)
	}
	t.link.Shutdown(sctx, t.goodbyes(sctx))
	cancel()
	stopLink()
	<-linkDone
}

// late answers what arrives after the stream was closed for shutdown: a
// message or request gets a "try again" error, stored and sent when Ferry
// is back, so nothing that reached Ferry goes unanswered.
func (t *Transport) late(n *xmlnode.Node) {
	typ := n.Attr("type")
	if n.Local == "presence" || typ == "error" || typ == "result" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply := ErrorReply(n, Wait, "service-unavailable", "the gateway was restarting; try again")
	if _, err := t.link.SendDurable(ctx, reply, nil); err != nil {
		t.log.Error("a stanza that arrived during shutdown could not be answered", "stanza", n.Local, "from", n.Attr("from"), "id", n.Attr("id"), "error", err)
	}
}

// whenIdle calls fn on the actor once no op of this user is in flight.
func (u *user) whenIdle(fn func()) {
	if u.opsBusy == 0 {
		fn()
		return
	}
	u.idleWaiters = append(u.idleWaiters, fn)
}

func waitGroup(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// goodbyes are the unavailable presences of the transport and every puppet
// shown online, sent to every registered user before the stream closes.
func (t *Transport) goodbyes(ctx context.Context) []*xmlnode.Node {
	accts, err := t.store.ListAccounts(ctx, t.domain)
	if err != nil {
		t.log.Error("listing accounts for shutdown", "error", err)
	}
	var out []*xmlnode.Node
	for _, a := range accts {
		out = append(out, presence(t.domain, a.JID, "unavailable").Add(xmlnode.Elem("", "status", "Gateway shutting down")))
	}
	t.peersMu.Lock()
	defer t.peersMu.Unlock()
	for u, peers := range t.online {
		for p := range peers {
			out = append(out, presence(t.puppet(p), u, "unavailable"))
		}
	}
	return out
}

// linkUp probes every registered user and tells them the gateway's state,
// so clients see the transport online again after a server restart.
func (t *Transport) linkUp() {
	t.pingGhosts()
	ctx, cancel := context.WithTimeout(t.ctx, time.Minute)
	defer cancel()
	accts, err := t.store.ListAccounts(ctx, t.domain)
	if err != nil {
		t.log.Error("listing accounts after link up", "error", err)
		return
	}
	for _, a := range accts {
		t.sendTo(a.JID, presence(t.domain, a.JID, "probe"))
		if err := t.post(ctx, a.JID, func(u *user) { u.sendTransportPresence("") }); err != nil {
			return
		}
	}
}

// sendTo queues a stanza on user's lane (bare JID; "" for the
// transport's own), waiting while the lane is full. It fails only when
// the link is stopped for good, which is logged.
func (t *Transport) sendTo(user string, n *xmlnode.Node) {
	if n.Attr("type") == "error" {
		if e := n.Child("", "error"); e != nil && e.FirstChild() != nil {
			t.metrics.stanzaError(t.domain, e.FirstChild().Local)
		}
	}
	if err := t.link.Send(t.linkCtx, user, n); err != nil {
		t.log.Warn("stanza not sent: the link is stopped", "error", err)
	}
}

// reply sends an answer that belongs to nobody's lane.
func (t *Transport) reply(n *xmlnode.Node) { t.sendTo("", n) }

func (t *Transport) isAdmin(bare string) bool { return t.admins[bare] }

// presence builds a presence stanza; typ "" is available.
func presence(from, to, typ string) *xmlnode.Node {
	return xmlnode.New("", "presence").SetAttr("from", from).SetAttr("to", to).SetAttr("type", typ)
}

// message builds a chat message.
func message(from, to, body string) *xmlnode.Node {
	return xmlnode.New("", "message").SetAttr("from", from).SetAttr("to", to).
		SetAttr("type", "chat").SetAttr("id", newID()).Add(xmlnode.Elem("", "body", body))
}

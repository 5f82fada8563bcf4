// Package component is the XMPP side of Ferry, generic over bridges: one
// Transport per component domain, with its link, routing, discovery,
// registration, commands and presence.
package component

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
	"mellium.im/xmpp/jid"
)

// Policy is the gateway-wide policy a transport enforces.
type Policy struct {
	Admins         []string // bare JIDs
	OpenRegistrate bool     // false: only admins may register
	DomainAllowed  func(domain string) bool
}

// Options configures a Transport.
type Options struct {
	Domain  string
	Name    string // human name for disco; default from the bridge
	Bridge  bridges.Bridge
	Store   registry.Store
	Link    LinkConfig // Domain, Outbox, Handle and OnUp are filled in
	Policy  Policy
	Logger  *slog.Logger
	Metrics *Metrics
	Version string
	// Now is the clock for command session expiry; nil means time.Now.
	Now func() time.Time
}

// Transport serves one component domain backed by one bridge.
type Transport struct {
	domain  string
	name    string
	desc    bridges.Descriptor
	bridge  bridges.Bridge
	store   registry.Store
	link    *Link
	policy  Policy
	admins  map[string]bool
	log     *slog.Logger
	metrics *Metrics
	version string
	now     func() time.Time
	cmds    []*command

	ctx  context.Context // set by Run; cancels every user actor
	mu   sync.Mutex
	usrs map[string]*user
	wg   sync.WaitGroup

	peersMu sync.Mutex
	online  map[string]map[string]bool // user -> puppet local parts shown online

	priv *privileges // XEP-0356 permissions the server granted
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
		version: o.Version,
		now:     o.Now,
		usrs:    map[string]*user{},
		online:  map[string]map[string]bool{},
		priv:    newPrivileges(),
	}
	if t.now == nil {
		t.now = time.Now
	}
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
	if su, ok := o.Bridge.(interface{ UseStore(registry.Store) }); ok {
		su.UseStore(o.Store)
	}
	lc := o.Link
	lc.Domain = o.Domain
	lc.Outbox = storeOutbox{o.Store}
	lc.Logger = t.log
	lc.Metrics = o.Metrics
	lc.Handle = t.handle
	lc.OnUp = t.linkUp
	t.link = NewLink(lc)
	t.cmds = append(t.commandList(), t.bridgeCommands()...)
	return t
}

// Domain is the component JID this transport serves.
func (t *Transport) Domain() string { return t.domain }

// LinkUp reports whether the component stream is up (for /healthz).
func (t *Transport) LinkUp() bool { return t.link.Up() }

// QueueDepth is the link's in-memory queue length (for metrics).
func (t *Transport) QueueDepth() int { return t.link.QueueDepth() }

// Run starts sessions that stay connected, then serves until ctx ends and
// shuts down cleanly: sessions closed, unavailable presences sent.
func (t *Transport) Run(ctx context.Context) error {
	actorCtx, cancelActors := context.WithCancel(context.Background())
	t.ctx = actorCtx
	accts, err := t.store.ListAccounts(ctx, t.domain)
	if err != nil {
		cancelActors()
		return err
	}
	for _, a := range accts {
		bare := a.JID
		t.post(bare, func(u *user) { u.maybeStartSession() })
	}
	bridgeDone := make(chan struct{})
	bridgeCtx, stopBridge := context.WithCancel(context.Background())
	go func() {
		defer close(bridgeDone)
		if r, ok := t.bridge.(bridges.Runner); ok {
			safely(t.log, "bridge", func() {
				if err := r.Run(bridgeCtx); err != nil && bridgeCtx.Err() == nil {
					t.log.Error("bridge stopped", "error", err)
				}
			})
		}
	}()
	defer func() { stopBridge(); <-bridgeDone }()
	linkDone := make(chan struct{})
	linkCtx, stopLink := context.WithCancel(context.Background())
	go func() {
		defer close(linkDone)
		t.link.Run(linkCtx)
	}()
	<-ctx.Done()
	t.shutdown(stopLink, cancelActors, linkDone)
	return nil
}

// shutdown: stop intake, end sessions, say goodbye, close the stream.
func (t *Transport) shutdown(stopLink, cancelActors context.CancelFunc, linkDone chan struct{}) {
	done := make(chan struct{})
	var users []*user
	t.mu.Lock()
	for _, u := range t.usrs {
		users = append(users, u)
	}
	t.mu.Unlock()
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Add(1)
		u.postWait(func(u *user) { u.closeSession("gateway shutting down"); wg.Done() }, &wg)
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.log.Warn("some sessions did not close within 10s")
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.link.Shutdown(sctx, t.goodbyes(sctx))
	cancel()
	stopLink()
	<-linkDone
	cancelActors()
	t.wg.Wait()
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	accts, err := t.store.ListAccounts(ctx, t.domain)
	if err != nil {
		t.log.Error("listing accounts after link up", "error", err)
		return
	}
	for _, a := range accts {
		_ = t.link.Send(presence(t.domain, a.JID, "probe"))
		t.post(a.JID, func(u *user) { u.sendTransportPresence("") })
	}
}

// puppet returns the JID of a legacy peer given its local part.
func (t *Transport) puppet(local string) string {
	j, err := jid.New(local, t.domain, "")
	if err != nil {
		return ""
	}
	return j.String()
}

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

// storeOutbox adapts registry.Store to the link's Outbox.
type storeOutbox struct{ s registry.Store }

func (o storeOutbox) Enqueue(ctx context.Context, transport string, b []byte) (int64, error) {
	return o.s.Enqueue(ctx, transport, b)
}

func (o storeOutbox) Pending(ctx context.Context, transport string, limit int) ([]OutboxItem, error) {
	items, err := o.s.Pending(ctx, transport, limit)
	out := make([]OutboxItem, len(items))
	for i, it := range items {
		out[i] = OutboxItem{ID: it.ID, Stanza: it.Stanza}
	}
	return out, err
}

func (o storeOutbox) Ack(ctx context.Context, id int64) error { return o.s.Ack(ctx, id) }

package component

import (
	"context"
	"sync"
	"time"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// A resource restored into a room after a restart may belong to a client
// that went away while Ferry was down. Such a ghost is noticed three
// ways: the server bounces a room message sent to it (bounce.go), the
// client itself asks with an XEP-0410 self-ping and is answered as the
// room sees it (puppet_iq.go), and Ferry pings every restored resource
// once, as soon as the link is up: an error or no answer takes the
// resource out of the room (and the user out of the network room when it
// was the last).

const (
	// ghostPings bounds the restore pings in flight at once.
	ghostPings = 8
	// ghostWait is how long a restored resource has to answer.
	ghostWait = 20 * time.Second
)

// ghostCheck is one restored resource to ping.
type ghostCheck struct{ user, room, full string }

// ghosts holds the restored resources until the link is up, then pings
// them, once.
type ghosts struct {
	mu      sync.Mutex // leaf
	pending []ghostCheck
}

// check queues a restored resource for its ping.
func (g *ghosts) check(user, room, full string) {
	g.mu.Lock()
	g.pending = append(g.pending, ghostCheck{user, room, full})
	g.mu.Unlock()
}

// take returns the resources waiting for their ping and forgets them.
func (g *ghosts) take() []ghostCheck {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := g.pending
	g.pending = nil
	return p
}

// pingGhosts pings the restored resources waiting, at most ghostPings at
// a time, on a goroutine of its own (the link calls it when it is up).
func (t *Transport) pingGhosts() {
	checks := t.ghosts.take()
	if len(checks) == 0 {
		return
	}
	go func() {
		defer t.sup.Recover("restore pings "+t.domain, nil)
		slots := make(chan struct{}, ghostPings)
		var wg sync.WaitGroup
		for _, c := range checks {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				defer t.sup.Recover("restore ping "+t.domain, nil)
				t.pingGhost(c)
			}()
		}
		wg.Wait()
	}()
}

// pingGhost pings one restored resource from its room and takes it out
// of the room unless it answers. A client that answers with an error
// saying it does not know pings is there all the same.
func (t *Transport) pingGhost(c ghostCheck) {
	ctx, cancel := context.WithTimeout(t.ctx, ghostWait)
	defer cancel()
	resp, err := t.link.Request(ctx, pingIQ(t.puppet(c.room), c.full))
	if t.ctx.Err() != nil {
		return // stopping: no verdict
	}
	cond := ""
	switch {
	case err != nil:
		cond = "remote-server-timeout"
	case resp.Attr("type") == "error":
		cond, _ = bounceError(resp)
		if cond == "feature-not-implemented" {
			cond = ""
		}
	}
	if cond == "" {
		return
	}
	t.log.Info("a restored room resource is gone", "user", c.user, "room", c.room, "resource", c.full, "condition", cond, "error", err)
	t.postNow(c.user, func(u *user) { u.ghostGone(c.room, c.full) }, stanzaLimit)
}

// ghostGone takes a resource that did not answer out of a room, as if
// it had left.
func (u *user) ghostGone(local, full string) {
	left := xmlnode.New("", "presence").SetAttr("type", "unavailable").
		SetAttr("from", full).SetAttr("to", u.t.puppet(local))
	u.leaveRoom(left, local, full, "")
}

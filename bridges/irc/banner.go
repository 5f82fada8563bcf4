package irc

import (
	"context"
	"errors"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/registry"
)

// start runs the user's connection to the network, first showing the
// network's banner if the user has never seen it.
func (n *network) start() {
	n.showBanner()
	n.run()
}

// showBanner sends the operator's banner for the network, once per user
// (and again after they unregister and register anew): the first time
// one of their sessions starts a connection to it, which their first
// join of a room on it, or registering with it as their server, does. It
// runs on the connection's goroutine before it dials, so neither the
// user's requests nor any lock waits for the database.
func (n *network) showBanner() {
	b := n.s.b
	text := n.banner
	if text == "" || b.store == nil {
		return
	}
	defer b.sup.Recover("irc banner "+n.server+" for "+n.s.acct.JID, nil)
	ctx, cancel := context.WithTimeout(n.s.ctx, 30*time.Second)
	defer cancel()
	first, err := b.store.MarkSeen(ctx, b.domain, n.s.acct.JID, "banner "+n.server)
	if err != nil {
		if !errors.Is(err, registry.ErrNotFound) && n.s.ctx.Err() == nil {
			b.log.Warn("irc: could not record a banner as seen; not shown", "user", n.s.acct.JID, "network", n.server, "error", err)
		}
		return
	}
	if !first {
		return
	}
	if err := n.s.sink.Receive(ctx, bridges.Message{Peer: n.serverLocal(), Body: text}); err != nil {
		b.log.Warn("irc: banner not delivered", "user", n.s.acct.JID, "network", n.server, "error", err)
	}
}

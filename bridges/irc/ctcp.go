package irc

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircaddr"
)

// CTCP queries: XEP-0092 (version) and XEP-0199 (ping) sent to a puppet
// become CTCP VERSION and PING to the IRC user; the NOTICE reply answers.

var pingSeq atomic.Uint64

// ctcpKey identifies an awaited reply: who, which command.
func (n *network) ctcpKey(nick, cmd string) string { return n.fold(nick) + " " + cmd }

// ctcp sends a CTCP request and waits for the matching reply's arguments.
func (s *session) ctcp(ctx context.Context, peer, cmd, args string) (string, error) {
	a, err := s.address(peer)
	if err != nil {
		return "", err
	}
	if a.Kind != ircaddr.User {
		return "", bridges.Errorf(bridges.ServiceUnavailable, "only IRC users answer this")
	}
	n, err := s.network(a.Server, "")
	if err != nil {
		return "", err
	}
	reply := make(chan string, 1)
	connected := false
	err = n.locked(ctx, func() {
		if n.conn == nil {
			return
		}
		connected = true
		key := n.ctcpKey(a.Target, cmd)
		if n.pending == nil {
			n.pending = map[string][]chan string{}
		}
		n.pending[key] = append(n.pending[key], reply)
		body := "\x01" + cmd
		if args != "" {
			body += " " + args
		}
		n.queue("PRIVMSG", a.Target, body+"\x01")
	})
	if !connected {
		return "", bridges.Errorf(bridges.RemoteServerTmout, "not connected to %s", a.Server)
	}
	defer func() {
		_ = n.locked(context.Background(), func() { n.dropPending(reply) })
	}()
	if err != nil {
		return "", sendError(err)
	}
	select {
	case r, ok := <-reply:
		if !ok {
			return "", bridges.Errorf(bridges.RemoteServerTmout, "the connection to %s was lost", a.Server)
		}
		return r, nil
	case <-ctx.Done():
		return "", bridges.Errorf(bridges.RemoteServerTmout, "%s did not answer", a.Target)
	}
}

// deliverCTCP hands a CTCP reply to whoever waits for it.
func (n *network) deliverCTCP(nick, cmd, args string) bool {
	key := n.ctcpKey(nick, cmd)
	waiters := n.pending[key]
	if len(waiters) == 0 {
		return false
	}
	waiters[0] <- args
	n.pending[key] = waiters[1:]
	if len(n.pending[key]) == 0 {
		delete(n.pending, key)
	}
	return true
}

// dropPending forgets a waiter that gave up (or was answered).
func (n *network) dropPending(c chan string) {
	for key, ws := range n.pending {
		for i, w := range ws {
			if w == c {
				n.pending[key] = append(ws[:i], ws[i+1:]...)
			}
		}
		if len(n.pending[key]) == 0 {
			delete(n.pending, key)
		}
	}
}

// Version implements bridges.Queries.
func (s *session) Version(ctx context.Context, peer string) (name, version, os string, err error) {
	r, err := s.ctcp(ctx, peer, "VERSION", "")
	if err != nil {
		return "", "", "", err
	}
	// Replies are free text ("irssi v1.4.3 - running on Linux x86_64"):
	// the whole text is the name, the first word after it the version.
	name, version, _ = strings.Cut(strings.TrimSpace(r), " ")
	return name, version, "", nil
}

// Ping implements bridges.Queries.
func (s *session) Ping(ctx context.Context, peer string) error {
	token := fmt.Sprint(pingSeq.Add(1))
	for {
		r, err := s.ctcp(ctx, peer, "PING", token)
		if err != nil || strings.TrimSpace(r) == token {
			return err
		}
	}
}

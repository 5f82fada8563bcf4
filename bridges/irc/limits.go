package irc

import (
	"fmt"
	"sync"

	"github.com/ferry-xmpp/ferry/bridges"
)

// connLimits counts Ferry's connections to IRC networks, per network (all
// users together: what the network sees coming from the gateway) and per
// user, so that the operator's limits hold. A connection counts from the
// moment a session starts it until its goroutine ends, reconnects
// included: the slot is the user's while Ferry is trying. mu is a leaf
// lock (DEVELOPING.md).
type connLimits struct {
	mu        sync.Mutex
	byNetwork map[string]int
	byUser    map[string]int
}

func newConnLimits() *connLimits {
	return &connLimits{byNetwork: map[string]int{}, byUser: map[string]int{}}
}

// acquire takes a slot for jid's connection to server, or says which limit
// refuses it: maxNetwork connections to server in all (0: no limit), and
// maxUser networks for one user (0: no limit). A refusal takes nothing.
func (l *connLimits) acquire(jid, server string, maxNetwork, maxUser int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if maxUser > 0 && l.byUser[jid] >= maxUser {
		return &bridges.Error{Condition: bridges.PolicyViolation, Cause: errLimit,
			Text: fmt.Sprintf("you are already connected to %d IRC networks, the most this gateway allows; leave the rooms of one first", maxUser)}
	}
	if maxNetwork > 0 && l.byNetwork[server] >= maxNetwork {
		return &bridges.Error{Condition: bridges.ResourceConstraint, Cause: errLimit,
			Text: fmt.Sprintf("this gateway already has the most connections to %s it allows (%d); try again later", server, maxNetwork)}
	}
	l.byNetwork[server]++
	l.byUser[jid]++
	return nil
}

// release gives back the slot acquire took.
func (l *connLimits) release(jid, server string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byNetwork[server]--; l.byNetwork[server] <= 0 {
		delete(l.byNetwork, server)
	}
	if l.byUser[jid]--; l.byUser[jid] <= 0 {
		delete(l.byUser, jid)
	}
}

// counts reports the connections to server and the user's networks.
func (l *connLimits) counts(jid, server string) (network, user int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byNetwork[server], l.byUser[jid]
}

// errLimit is the cause of every refusal by a connection limit.
var errLimit = fmt.Errorf("irc: connection limit reached")

// startNetwork takes a slot for the user's connection to cfg and starts
// it; the slot is given back when the connection's goroutine ends
// (network.run), before the session's Close returns. A
// refusal is logged for the operator and starts nothing.
func (s *session) startNetwork(server string, cfg Network, nick string) (*network, error) {
	b := s.b
	if err := b.limits.acquire(s.acct.JID, server, cfg.Operator.MaxConnections, b.opts.Operator.MaxNetworksPerUser); err != nil {
		b.log.Warn("irc: connection refused by a limit", "user", s.acct.JID, "network", server, "reason", err.Error())
		return nil, err
	}
	n := newNetwork(s, server, cfg, nick)
	go n.start() // the banner, then run, which gives the slot back when it returns
	return n, nil
}

package irc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircaddr"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircconn"
	"github.com/ferry-xmpp/ferry/bridges/irc/irctext"
	"github.com/ferry-xmpp/ferry/internal/backoff"
)

// network is one user's connection to one IRC server. Its goroutine owns
// the connection and every channel's state; others reach it through cmds.
type network struct {
	s      *session
	server string // as in JIDs
	cfg    Network
	nick   string // wanted nick
	cmds   chan func()
	done   chan struct{}

	conn     *ircconn.Conn
	is       ircconn.ISupport
	channels map[string]*channel // by casefolded name, joined or joining
	wanted   map[string]string   // casefolded channel -> key: rejoined after reconnects
	motd     []string
	pending  map[string][]chan string // awaited CTCP replies, by ctcpKey
	backlog  []queued                 // messages accepted while connecting
	greeted  bool
}

type channel struct {
	name    string // as the server spells it
	local   string // room local part
	members map[string]string
	topic   string
	topicBy string
	joined  bool
	// wasJoined survives a lost connection: such a channel is rejoined on
	// reconnect, however many attempts that takes.
	wasJoined bool
}

func newNetwork(s *session, server string, cfg Network, nick string) *network {
	return &network{s: s, server: server, cfg: cfg, nick: nick,
		cmds: make(chan func(), 256), done: make(chan struct{}),
		is: ircconn.DefaultISupport(), channels: map[string]*channel{}, wanted: map[string]string{},
		pending: map[string][]chan string{}}
}

// do runs f on the network's goroutine.
func (n *network) do(ctx context.Context, f func()) error {
	select {
	case n.cmds <- f:
		return nil
	case <-n.done:
		return bridges.Errorf(bridges.ServiceUnavailable, "not connected to %s", n.server)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (n *network) run() {
	defer close(n.done)
	defer func() {
		if r := recover(); r != nil {
			n.notice(fmt.Sprintf("Internal error on %s; disconnected.", n.server))
		}
	}()
	ctx := n.s.ctx
	attempt := 0
	for ctx.Err() == nil {
		if attempt == 0 {
			n.status(bridges.Connecting, "Connecting to "+n.server)
		}
		conn, err := n.dialServing(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			n.failJoins(err, permanent(err))
			if permanent(err) {
				n.dropBacklog(err)
				n.status(bridges.Failed, err.Error())
				n.notice(fmt.Sprintf("Cannot connect to %s: %v. Fix your registration, then send \"reconnect\" to the gateway.", n.server, err))
				n.waitCommandsUntilClosed()
				return
			}
			delay := n.backoff(attempt)
			attempt++
			if attempt%10 == 1 { // the first failure, then every tenth: informed, not spammed
				n.notice(fmt.Sprintf("Cannot connect to %s: %v. Retrying in %s.", n.server, err, delay.Round(time.Second)))
			}
			if !n.sleepServing(ctx, delay) {
				return
			}
			continue
		}
		attempt = 0
		n.conn, n.is = conn, conn.ISupport()
		n.status(bridges.Connected, "Connected to "+n.server+" as "+conn.Nick())
		n.greet(conn)
		n.afterConnect()
		err = n.serve(ctx)
		n.connectionLost(err)
		if ctx.Err() != nil {
			return
		}
		n.notice(fmt.Sprintf("Connection to %s lost: %v. Reconnecting.", n.server, err))
		attempt = 1 // connectionLost already said we are reconnecting
		if !n.sleepServing(ctx, n.backoff(0)) {
			return
		}
	}
}

// serve handles one live connection until it ends.
func (n *network) serve(ctx context.Context) error {
	msgs := n.conn.Messages()
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return n.conn.Err()
			}
			n.handle(m)
		case f := <-n.cmds:
			f()
		case <-ctx.Done():
			n.s.mu.Lock()
			quit := n.s.quitMessage
			n.s.mu.Unlock()
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = n.conn.Close(cctx, quit)
			cancel()
			return ctx.Err()
		}
	}
}

// waitCommandsUntilClosed keeps answering requests with errors after a
// permanent failure, until the session closes.
func (n *network) waitCommandsUntilClosed() {
	for {
		select {
		case f := <-n.cmds:
			f()
		case <-n.s.ctx.Done():
			return
		}
	}
}

// greet tells the user, once per session and server, what they may need:
// the nick they got when theirs was taken, and their certificate
// fingerprint for services.
func (n *network) greet(conn *ircconn.Conn) {
	if conn.Nick() != n.nick {
		n.notice(fmt.Sprintf("Your nick %s was taken on %s; you are %s.", n.nick, n.server, conn.Nick()))
	}
	if n.greeted || !n.cfg.TLS {
		return
	}
	n.greeted = true
	if fp256, fp512, err := fingerprints(n.s.acct.Values["client_cert"]); err == nil {
		n.notice("Your Ferry client certificate is presented on this connection. To log in with it, add its fingerprint to your account " +
			"(e.g. send \"PRIVMSG NickServ :CERT ADD\" here) and set the SASL mechanism to EXTERNAL.\nSHA-256: " + fp256 + "\nSHA-512: " + fp512)
	}
}

// queued is a message accepted while the connection was being made.
type queued struct {
	target, body string
	action       bool
}

// maxBacklog bounds what is held while connecting; beyond it senders get
// an error rather than an unbounded queue.
const maxBacklog = 200

// sendOrQueue sends now, or holds the message until the connection is up.
func (n *network) sendOrQueue(ctx context.Context, target, body string, action bool) error {
	if n.conn != nil {
		return n.sendText(ctx, "PRIVMSG", target, body, action)
	}
	if len(n.backlog) >= maxBacklog {
		return bridges.Errorf(bridges.RemoteServerTmout, "still connecting to %s; too many messages waiting", n.server)
	}
	n.backlog = append(n.backlog, queued{target, body, action})
	return nil
}

// flushBacklog sends what waited for the connection (after the rejoins,
// so channel messages find the channel joined).
func (n *network) flushBacklog(ctx context.Context) {
	for _, q := range n.backlog {
		if err := n.sendText(ctx, "PRIVMSG", q.target, q.body, q.action); err != nil {
			n.notice(fmt.Sprintf("Not sent to %s: %v", q.target, err))
		}
	}
	n.backlog = nil
}

// dropBacklog tells the user what could not be sent.
func (n *network) dropBacklog(why error) {
	if len(n.backlog) > 0 {
		n.notice(fmt.Sprintf("%d message(s) to %s were not sent: %v", len(n.backlog), n.server, why))
		n.backlog = nil
	}
}

// afterConnect runs the user's commands and rejoins their channels.
func (n *network) afterConnect() {
	ctx, cancel := context.WithTimeout(n.s.ctx, 30*time.Second)
	defer cancel()
	for _, cmd := range strings.Split(n.s.acct.Values["on_connect"], ";") {
		if cmd = strings.TrimSpace(cmd); cmd != "" {
			if err := n.conn.SendRaw(ctx, cmd); err != nil {
				n.notice("Command after connecting refused: " + err.Error())
			}
		}
	}
	for folded, key := range n.wanted {
		ch := n.channels[folded]
		if ch == nil {
			continue
		}
		n.send("JOIN", ch.name, key)
	}
	n.flushBacklog(ctx)
}

// connectionLost takes the user out of every room with status 332; the
// rooms stay wanted and are rejoined on reconnect.
func (n *network) connectionLost(err error) {
	for _, ch := range n.channels {
		if ch.joined {
			ch.wasJoined = true
			n.roomEvents().OccupantLeft(ch.local, n.conn.Nick(), bridges.LinkLost, "", "connection lost", true)
		}
		ch.joined = false
		ch.members = map[string]string{}
	}
	for folded := range n.channels {
		if _, ok := n.wanted[folded]; !ok {
			delete(n.channels, folded)
		}
	}
	if n.s.ctx.Err() == nil {
		n.status(bridges.Connecting, fmt.Sprintf("Reconnecting to %s (%v)", n.server, err))
	}
}

// failJoins answers joins that never completed; channels the user was in
// before the connection dropped stay wanted unless the error is permanent.
func (n *network) failJoins(err error, all bool) {
	cond, text := errorCondition(err, n.server)
	for folded, ch := range n.channels {
		if !ch.joined && (all || !ch.wasJoined) {
			n.roomEvents().RoomJoinFailed(ch.local, cond, text)
			delete(n.channels, folded)
			delete(n.wanted, folded)
		}
	}
}

func (n *network) backoff(attempt int) time.Duration {
	return backoff.Delay(n.s.b.opts.ReconnectMin, n.s.b.opts.ReconnectMax, attempt)
}

// While not connected the goroutine keeps serving requests, so a message
// or join gets a prompt answer ("not connected yet", or remembered for the
// rejoin) instead of waiting out a dial or a backoff.

func (n *network) sleepServing(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return true
		case f := <-n.cmds:
			f()
		case <-ctx.Done():
			return false
		}
	}
}

func (n *network) dialServing(ctx context.Context) (*ircconn.Conn, error) {
	type result struct {
		conn *ircconn.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		conn, err := n.s.b.connect(ctx, n.server, n.s.acct.Values, n.nick)
		done <- result{conn, err}
	}()
	for {
		select {
		case r := <-done:
			return r.conn, r.err
		case f := <-n.cmds:
			f()
		}
	}
}

// send writes one command. It runs on the network goroutine, usually
// after the requester returned, so it has its own deadline.
func (n *network) send(command string, params ...string) {
	ctx, cancel := context.WithTimeout(n.s.ctx, 30*time.Second)
	defer cancel()
	for len(params) > 0 && params[len(params)-1] == "" {
		params = params[:len(params)-1]
	}
	if err := n.conn.Send(ctx, ircmsg.MakeMessage(nil, "", command, params...)); err != nil {
		n.notice(fmt.Sprintf("%s refused: %v", command, err))
	}
}

// sendText sends a message body to target, split into safe lines.
func (n *network) sendText(ctx context.Context, command, target, body string, action bool) error {
	lines, err := irctext.Privmsgs(command, target, "", body, action)
	if err != nil {
		return bridges.Errorf(bridges.BadRequest, "%v", err)
	}
	for _, line := range lines {
		if err := n.conn.SendRaw(ctx, line); err != nil {
			return &bridges.Error{Condition: bridges.RemoteServerTmout, Text: "not sent to IRC", Cause: err}
		}
	}
	return nil
}

func (n *network) fold(name string) string { return n.is.Casefold(name) }

func (n *network) isChannel(name string) bool { return n.is.IsChannel(name) }

// local returns the JID local part of an IRC target on this server.
func (n *network) local(kind ircaddr.Kind, target string) string {
	lp, err := n.s.b.mapper.LocalPart(ircaddr.Address{Kind: kind, Server: n.server, Target: target})
	if err != nil {
		return ""
	}
	return lp
}

func (n *network) serverLocal() string { return n.local(ircaddr.Server, "") }

func (n *network) roomEvents() bridges.RoomEvents {
	re, _ := n.s.sink.(bridges.RoomEvents)
	return re
}

func (n *network) status(st bridges.State, text string) { n.s.sink.Status(st, text) }

// notice tells the user something from the server's JID (or the gateway's
// in fixed-server mode).
func (n *network) notice(text string) {
	peer := n.serverLocal() // "" in fixed-server mode: the gateway's own JID
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = n.s.sink.Receive(ctx, bridges.Message{Peer: peer, Body: text})
}

// permanent errors need the user or operator to change something.
func permanent(err error) bool {
	var ie *ircconn.Error
	if !errors.As(err, &ie) {
		return false
	}
	switch ie.Kind {
	case ircconn.KindPassword, ircconn.KindSASL, ircconn.KindNick, ircconn.KindBanned, ircconn.KindConfig:
		return true
	}
	return false
}

package irc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircaddr"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircconn"
	"github.com/ferry-xmpp/ferry/bridges/irc/irctext"
	"github.com/ferry-xmpp/ferry/internal/backoff"
	"github.com/ferry-xmpp/ferry/internal/smallmap"
)

// network is one user's connection to one IRC server. One goroutine per
// network dials, reads (handling each line as it comes) and redials with
// backoff; the user's requests (joins, messages) take the mutex and queue
// lines without waiting for that goroutine. Events for the user are
// collected under the mutex and reported after it is released, and lines
// are sent after it too, so neither a slow user nor a full send queue ever
// holds the state locked.
type network struct {
	s      *session
	server string        // as in JIDs
	tls    bool          // the network's connections use TLS
	banner string        // the operator's banner for the network (banner.go)
	nick   string        // wanted nick
	done   chan struct{} // closed when run returns

	mu       sync.Mutex
	conn     *ircconn.Conn // nil while not connected
	is       ircconn.ISupport
	channels smallmap.Map[*channel] // by casefolded name, joined or joining
	wanted   smallmap.Map[string]   // casefolded channel -> key: rejoined after reconnects
	motd     []string
	pending  map[string][]chan string // awaited CTCP replies, by ctcpKey
	backlog  []queued                 // messages accepted while connecting
	sent     sentLog                  // messages the server has not answered yet
	away     map[string]string        // away texts by casefolded nick (away-notify); nil when none
	v3       clientTagState           // client tags, read marks (signals.go)
	profiles map[string]string        // account "\x00" real name by casefolded nick (account.go); nil when none
	batches  map[string]*batch        // open IRCv3 batches of every kind, by reference (batch.go); nil when none
	labels   []pendingLabel           // labeled commands waiting for their answer (labels.go)
	labelSeq uint64
	greeted  bool
	list     *channelList // LIST answers, for disco#items (list.go); nil until needed
	failed   error        // a permanent failure: the network gave up
	events   []func()
	lines    []ircmsg.Message

	// text is the encodings of the network and its channels (textcodec.go).
	text textCodecs
	// answering collects what the line being handled tells the user, for
	// the resource whose labeled command it answers; nil for other lines.
	answering *answer
}

type channel struct {
	name    string               // as the server spells it
	local   string               // room local part
	members smallmap.Map[string] // nick -> its rank modes ("ov")
	topic   string
	topicBy string
	joined  bool
	// whoPending: the WHO asked on joining has not ended (who.go).
	whoPending bool
	// wasJoined survives a lost connection: such a channel is rejoined on
	// reconnect, however many attempts that takes.
	wasJoined bool
	// Catching up after a rejoin (chathistory.go): the newest line
	// reported, where to resume once joined again, the fetch under way.
	last     time.Time
	lastID   string
	resume   *resume
	catching *catchUp
}

func newNetwork(s *session, server string, cfg Network, nick string) *network {
	return &network{s: s, server: server, tls: cfg.TLS, banner: cfg.Operator.Banner, nick: nick, done: make(chan struct{}),
		is: ircconn.DefaultISupport()}
}

// channel returns the channel of that casefolded name, nil when none.
func (n *network) channel(folded string) *channel {
	ch, _ := n.channels.Get(folded)
	return ch
}

// locked runs f with the state locked, then reports the events and sends
// the lines f queued. A full send queue makes the caller wait (bounded by
// ctx), never the lock's other users.
func (n *network) locked(ctx context.Context, f func()) error {
	n.mu.Lock()
	f()
	events, lines, conn := n.events, n.lines, n.conn
	n.events, n.lines = nil, nil
	n.mu.Unlock()
	n.report(events)
	return n.sendLines(ctx, conn, lines)
}

func (n *network) report(events []func()) {
	for _, e := range events {
		e()
	}
}

// sendLines sends queued lines in order; the first refusal stops them.
func (n *network) sendLines(ctx context.Context, conn *ircconn.Conn, lines []ircmsg.Message) error {
	if conn == nil || len(lines) == 0 {
		return nil
	}
	for _, m := range lines {
		if err := conn.Send(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// emit queues an event for the user, reported once the lock is released.
func (n *network) emit(e func()) { n.events = append(n.events, e) }

// queue queues a line, sent once the lock is released.
func (n *network) queue(command string, params ...string) {
	for len(params) > 0 && params[len(params)-1] == "" {
		params = params[:len(params)-1]
	}
	n.lines = append(n.lines, ircmsg.MakeMessage(nil, "", command, params...))
}

// queueWithText queues a command about target whose last parameter, text, is
// the user's words (a topic, a reason): in target's encoding (as message
// bodies are), refused when that encoding cannot write it.
func (n *network) queueWithText(target, command string, params []string, text string) error {
	if text == "" {
		n.queue(command, params...)
		return nil
	}
	m := ircmsg.MakeMessage(nil, "", command, append(params, text)...)
	if err := n.text.encode(target, &m); err != nil {
		return err
	}
	n.lines = append(n.lines, m)
	return nil
}

func (n *network) run() { n.loop(nil) }

// loop connects and serves until the session ends or the network gives
// up; after lost (a watched connection that ended) it reconnects first.
// A watched connection takes the network's life over from the goroutine
// that connected it, which ends: its end starts a new loop.
func (n *network) loop(lost error) {
	watched := false
	defer func() {
		if !watched {
			n.end()
		}
	}()
	panicked := false
	defer func() {
		if panicked {
			n.notice(fmt.Sprintf("Internal error on %s; disconnected.", n.server))
		}
	}()
	defer n.s.b.sup.Recover("irc "+n.server+" for "+n.s.acct.JID, &panicked)
	// Without a poller, the frames of loop and serve stay on the stack of
	// an idle connection (a goroutine per puppeted connection), so the
	// work around them lives in functions that return before the
	// connection is served.
	ctx := n.s.ctx
	attempt := 0
	reconnecting := false
	if lost != nil {
		if ctx.Err() != nil || !n.lost(ctx, lost) {
			return
		}
		attempt, reconnecting = 1, true
	}
	for ctx.Err() == nil {
		conn, ok := n.connect(ctx, &attempt, reconnecting)
		if !ok {
			return
		}
		if conn == nil {
			continue
		}
		var err error
		if watched, err = n.serve(ctx, conn); watched {
			return
		}
		if ctx.Err() != nil {
			return
		}
		reconnecting = true
		attempt = 1 // connectionLost already said we are reconnecting
		if !n.lost(ctx, err) {
			return
		}
	}
}

// connect makes one connection attempt: the connection, or nil after a
// failure that is worth retrying (having waited the backoff); false when
// the network gave up or ctx ended.
//
//go:noinline
func (n *network) connect(ctx context.Context, attempt *int, reconnecting bool) (*ircconn.Conn, bool) {
	if *attempt == 0 {
		n.s.sink.Status(bridges.Connecting, "Connecting to "+n.server)
	}
	conn, err := n.dial(ctx, *attempt > 0 || reconnecting)
	if err == nil {
		*attempt = 0
		return conn, true
	}
	if ctx.Err() != nil {
		return nil, false
	}
	if permanent(err) {
		n.giveUp(err)
		return nil, false
	}
	delay := n.backoff(*attempt)
	*attempt++
	if *attempt >= joinPatience {
		_ = n.locked(ctx, func() { n.failJoins(err, false) })
	}
	if *attempt%10 == 1 { // the first failure, then every tenth: informed, not spammed
		n.notice(fmt.Sprintf("Cannot connect to %s: %v. Retrying in %s.", n.server, err, delay.Round(time.Second)))
	}
	return nil, sleep(ctx, delay)
}

// lost tells the user the connection is gone and waits before the next
// attempt; false when ctx ended meanwhile.
//
//go:noinline
func (n *network) lost(ctx context.Context, err error) bool {
	n.notice(fmt.Sprintf("Connection to %s lost: %v. Reconnecting.", n.server, err))
	return sleep(ctx, n.backoff(0))
}

// dial connects. A reconnect waits first for the network's login
// allowance (the one registration logins use too), so a flapping server
// and all its users cannot get the gateway's address banned; a session's
// first connection follows something its user did and is paced by that.
func (n *network) dial(ctx context.Context, reconnect bool) (*ircconn.Conn, error) {
	if reconnect {
		if err := n.s.b.logins.Wait(ctx, n.s.b.loginKeys(n.s.acct.JID, n.server)[1]); err != nil {
			return nil, err
		}
	}
	return n.s.dialNetwork(ctx, n.server, n.nick)
}

// end is the end of the network's life: its connection slot (limits.go)
// is free before the session's Close returns.
func (n *network) end() {
	n.s.b.limits.release(n.s.acct.JID, n.server)
	close(n.done)
}

// serve runs one live connection: watched by the bridge's poller (true:
// the connection's end continues the network's life on another
// goroutine), or else until it ends, on this goroutine.
func (n *network) serve(ctx context.Context, conn *ircconn.Conn) (bool, error) {
	stop := context.AfterFunc(ctx, func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx, n.s.quit())
	})
	n.connected(ctx, conn)
	if p := n.s.b.poller; p != nil {
		err := conn.Watch(p, n.handleLine, func(err error) {
			stop()
			n.ended(err)
			go n.loop(err)
		})
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, ircconn.ErrNotWatchable) {
			n.s.b.log.Warn("irc: reading a connection with a goroutine of its own", "user", n.s.acct.JID, "network", n.server, "error", err)
		}
	}
	defer stop()
	err := conn.Serve(n.handleLine)
	n.ended(err)
	return false, err
}

// ended forgets a connection that ended.
func (n *network) ended(err error) {
	_ = n.locked(context.Background(), func() { n.connectionLost(err) })
}

// connected adopts a new connection: its state, the user told, the
// channels wanted joined.
//
//go:noinline
func (n *network) connected(ctx context.Context, conn *ircconn.Conn) {
	_ = n.locked(ctx, func() {
		n.conn, n.is = conn, n.s.b.isupports.share(n.server, conn)
		n.status(bridges.Connected, "Connected to "+n.server+" as "+conn.Nick())
		n.greet(conn)
		n.afterConnect(ctx)
	})
}

// handleLine is the connection's handler: one line, under the lock.
func (n *network) handleLine(m ircmsg.Message) {
	n.mu.Lock()
	n.text.decode(&m)
	n.handleAnswering(m)
	events, lines, conn := n.events, n.lines, n.conn
	n.events, n.lines = nil, nil
	n.mu.Unlock()
	n.report(events)
	// Replies the network makes by itself (CTCP) never wait for room in
	// a full queue: the reader must keep reading.
	for _, l := range lines {
		_ = conn.TrySend(l)
	}
}

// giveUp ends the network after an error only the user can fix.
func (n *network) giveUp(err error) {
	_ = n.locked(n.s.ctx, func() {
		n.failed = err
		n.failJoins(err, true)
		n.dropBacklog(err)
		n.status(bridges.Failed, err.Error())
		n.emitNotice(fmt.Sprintf("Cannot connect to %s: %v. %s", n.server, err, whoFixes(err)))
	})
}

// greet tells the user, once per session and server, what they may need:
// the nick they got when theirs was taken, and their certificate
// fingerprint for services.
func (n *network) greet(conn *ircconn.Conn) {
	if conn.Nick() != n.nick {
		n.emitNotice(fmt.Sprintf("Your nick %s was taken on %s; you are %s.", n.nick, n.server, conn.Nick()))
	}
	if n.greeted || !n.tls {
		return
	}
	n.greeted = true
	if fp256, fp512, err := fingerprints(n.s.acct.Values["client_cert"]); err == nil {
		n.emitNotice("Your Ferry client certificate is presented on this connection. To log in with it, add its fingerprint to your account " +
			"(e.g. send \"PRIVMSG NickServ :CERT ADD\" here) and set the SASL mechanism to EXTERNAL.\nSHA-256: " + fp256 + "\nSHA-512: " + fp512)
	}
}

// queued is a message accepted while the connection was being made.
type queued struct {
	target string
	m      bridges.Message
}

// maxBacklog bounds what is held while connecting; beyond it senders get
// an error rather than an unbounded queue.
const maxBacklog = 200

// sendOrQueue queues a message's lines now, or holds the message until
// the connection is up.
func (n *network) sendOrQueue(target string, m bridges.Message) error {
	if n.failed != nil {
		return bridges.Errorf(bridges.RemoteServerNotFnd, "not connected to %s: %v", n.server, n.failed)
	}
	if n.conn != nil {
		return n.sendText(target, m)
	}
	if len(n.backlog) >= maxBacklog {
		return bridges.Errorf(bridges.RemoteServerTmout, "still connecting to %s; too many messages waiting", n.server)
	}
	n.backlog = append(n.backlog, queued{target, m})
	return nil
}

// afterConnect runs the user's commands and rejoins their channels, then
// sends what waited for the connection (after the rejoins, so channel
// messages find the channel joined).
func (n *network) afterConnect(ctx context.Context) {
	for _, cmd := range strings.Split(n.s.networkValues(n.server)["on_connect"], ";") {
		if cmd = strings.TrimSpace(cmd); cmd == "" {
			continue
		}
		m, err := ircmsg.ParseLineStrict(cmd, true, 0)
		if err != nil {
			n.emitNotice("Command after connecting refused: " + err.Error())
			continue
		}
		n.lines = append(n.lines, m)
	}
	for folded, key := range n.wanted.All() {
		if ch := n.channel(folded); ch != nil {
			n.queue("JOIN", ch.name, key)
		}
	}
	n.askList()
	for _, q := range n.backlog {
		if err := n.sendText(q.target, q.m); err != nil {
			n.emitNotice(fmt.Sprintf("Not sent to %s: %v", q.target, err))
		}
	}
	n.backlog = nil
}

// dropBacklog fails every message that waited for the connection: an
// error on each (sent.go).
func (n *network) dropBacklog(why error) {
	cond, text := errorCondition(why, n.server)
	for _, q := range n.backlog {
		n.fail(&sentMsg{msg: q.m}, cond, "not sent: "+text)
	}
	n.backlog = nil
}

// connectionLost takes the user out of every room with status 332; the
// rooms stay wanted and are rejoined on reconnect.
func (n *network) connectionLost(err error) {
	n.dropBatches() // first: a multiline message ends on the state it was sent in
	n.sentLost()
	n.away, n.profiles = nil, nil
	n.labels = nil
	nick := n.conn.Nick()
	for _, ch := range n.channels.All() {
		if ch.joined {
			ch.wasJoined = true
			n.channelLost(ch)
			local := ch.local
			n.room(func(re bridges.RoomEvents) {
				re.OccupantLeft(local, nick, bridges.LinkLost, "", "connection lost", true)
			})
		}
		ch.joined = false
		ch.members = smallmap.Map[string]{}
	}
	n.channels.DeleteFunc(func(folded string, _ *channel) bool { return !n.wanted.Has(folded) })
	n.conn = nil
	n.listLost()
	for key, ws := range n.pending { // CTCP queries will get no answer now
		for _, w := range ws {
			close(w)
		}
		delete(n.pending, key)
	}
	if n.s.ctx.Err() == nil {
		n.status(bridges.Connecting, fmt.Sprintf("Reconnecting to %s (%v)", n.server, err))
	}
}

// failJoins answers joins that never completed; channels the user was in
// before the connection dropped stay wanted unless the error is permanent.
func (n *network) failJoins(err error, all bool) {
	cond, text := errorCondition(err, n.server)
	n.channels.DeleteFunc(func(folded string, ch *channel) bool {
		if ch.joined || !all && ch.wasJoined {
			return false
		}
		local := ch.local
		n.room(func(re bridges.RoomEvents) { re.RoomJoinFailed(local, cond, text) })
		n.wanted.Delete(folded)
		return true
	})
}

// joinPatience is how many connection attempts in a row may fail before
// the joins waiting for the connection are refused. One failure is often
// the network shedding a burst of connections (a full listen queue resets
// them) and the next attempt, seconds later, gets through: a user whose
// join merely waited a little should not have to join again.
const joinPatience = 3

func (n *network) backoff(attempt int) time.Duration {
	return backoff.Delay(n.s.b.opts.ReconnectMin, n.s.b.opts.ReconnectMax, attempt)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// queueText queues a message body for target, split into safe lines.
func (n *network) queueText(command, target, body string, action bool) error {
	lines, err := irctext.Privmsgs(command, target, "", body, action)
	if err != nil {
		return bridges.Errorf(bridges.BadRequest, "%v", err)
	}
	for _, line := range lines {
		m, err := ircmsg.ParseLineStrict(line, true, 0)
		if err != nil {
			return bridges.Errorf(bridges.BadRequest, "not sent to IRC: %v", err)
		}
		if err := n.text.encode(target, &m); err != nil {
			return err
		}
		n.lines = append(n.lines, m)
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

// room queues a room event for the user.
func (n *network) room(e func(bridges.RoomEvents)) {
	if re, ok := n.s.sink.(bridges.RoomEvents); ok {
		n.emit(func() { e(re) })
	}
}

func (n *network) status(st bridges.State, text string) {
	n.emit(func() { n.s.sink.Status(st, text) })
}

// emitNotice queues a notice for the user from the server's JID (or the
// gateway's in fixed-server mode).
func (n *network) emitNotice(text string) {
	if n.answering != nil { // for the resource that asked (labels.go)
		n.answering.add(text)
		return
	}
	n.emit(func() { n.notice(text) })
}

// notice tells the user something at once (outside the lock).
func (n *network) notice(text string) {
	peer := n.serverLocal() // "" in fixed-server mode: the gateway's own JID
	ctx, cancel := context.WithTimeout(n.s.ctx, 30*time.Second)
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
	case ircconn.KindPassword, ircconn.KindSASL, ircconn.KindNick, ircconn.KindBanned, ircconn.KindConfig, ircconn.KindWebIRC:
		return true
	}
	return false
}

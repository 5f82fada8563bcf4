package component

import (
	"context"
	"errors"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
	"mellium.im/xmpp/jid"
)

// user is the actor that owns everything about one XMPP user on one
// transport: their account, legacy session, online resources, command
// sessions and chat dialog. Only its own goroutine touches these fields.
type user struct {
	t      *Transport
	jid    string // bare
	events chan func(*user)

	loaded    bool
	acct      *registry.Account
	sess      bridges.Session
	sessGen   int // identifies the current session's sink
	state     bridges.State
	stateText string
	resources map[string]bool
	dialog    *dialog
	cmdSess   map[string]*cmdSession
	rooms     map[string]*room // joined or joining, by room local part
}

const (
	userQueue       = 1024
	userIdleTimeout = 5 * time.Minute
	openTimeout     = 60 * time.Second
)

// post hands fn to the user's actor, starting it if needed. It never
// blocks; false means the actor's queue is full.
func (t *Transport) post(bare string, fn func(*user)) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.usrs[bare]
	if u == nil {
		if t.ctx == nil || t.ctx.Err() != nil {
			return false
		}
		u = &user{t: t, jid: bare, events: make(chan func(*user), userQueue),
			resources: map[string]bool{}, cmdSess: map[string]*cmdSession{}, rooms: map[string]*room{}}
		t.usrs[bare] = u
		t.wg.Add(1)
		go u.run()
	}
	select {
	case u.events <- fn:
		return true
	default:
		t.log.Warn("user queue full", "user", bare)
		return false
	}
}

// postWait delivers fn even when the queue is full, for shutdown.
func (u *user) postWait(fn func(*user), wg interface{ Done() }) {
	go func() {
		select {
		case u.events <- fn:
		case <-time.After(10 * time.Second):
			wg.Done()
		}
	}()
}

func (u *user) run() {
	defer u.t.wg.Done()
	idle := time.NewTimer(userIdleTimeout)
	defer idle.Stop()
	for {
		select {
		case fn := <-u.events:
			safely(u.t.log, "user "+u.jid, func() {
				u.load()
				fn(u)
			})
			idle.Reset(userIdleTimeout)
		case <-idle.C:
			if u.busy() {
				idle.Reset(userIdleTimeout)
				continue
			}
			u.t.mu.Lock()
			if len(u.events) == 0 {
				delete(u.t.usrs, u.jid)
				u.t.mu.Unlock()
				return
			}
			u.t.mu.Unlock()
			idle.Reset(time.Millisecond)
		case <-u.t.ctx.Done():
			u.closeSession("gateway stopping")
			return
		}
	}
}

// busy reports state that must outlive an idle period.
func (u *user) busy() bool {
	u.expireCommandSessions()
	return u.acct != nil || u.sess != nil || len(u.resources) > 0 || u.dialog != nil || len(u.cmdSess) > 0 || len(u.rooms) > 0
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
	case errors.Is(err, registry.ErrNotFound):
		u.acct = nil
	default:
		u.t.log.Error("loading account", "user", u.jid, "error", err)
		return // try again on the next event
	}
	u.loaded = true
}

func (u *user) send(n *xmlnode.Node) { u.t.reply(n) }

// handle dispatches one stanza from this user.
func (u *user) handle(n *xmlnode.Node, from, to jid.JID) {
	switch n.Local {
	case "iq":
		u.handleIQ(n, from, to)
	case "message":
		u.handleMessage(n, from, to)
	case "presence":
		u.handlePresence(n, from, to)
	}
}

func (u *user) handleIQ(n *xmlnode.Node, from, to jid.JID) {
	q := n.FirstChild()
	get := n.Attr("type") == "get"
	set := n.Attr("type") == "set"
	if to.Localpart() != "" {
		u.puppetIQ(n, q, from, to, get, set)
		return
	}
	switch {
	case q.Space == nsRegister && get:
		u.send(Result(n, u.registerQuery()))
	case q.Space == nsRegister && set:
		u.iqRegisterSet(n, q)
	case q.Space == nsGateway:
		u.iqGateway(n, q, get)
	case q.Space == nsCommands && set:
		u.iqCommand(n, q, from)
	case get && q.Space == nsDiscoItem && q.Attr("node") == nsCommands:
		u.send(Result(n, u.commandItems()))
	case get && q.Space == nsDiscoInfo:
		u.iqCommandInfo(n, q)
	case q.Space == nsVersion || q.Space == nsDiscoInfo || q.Space == nsDiscoItem || q.Space == nsCommands:
		u.send(ErrorReply(n, "", "feature-not-implemented", ""))
	default:
		u.send(ErrorReply(n, "", "service-unavailable", ""))
	}
}

func (u *user) handleMessage(n *xmlnode.Node, from, to jid.JID) {
	body := n.Child("", "body")
	if body == nil && n.Attr("type") == "groupchat" && n.Child("", "subject") != nil && to.Localpart() != "" {
		body = xmlnode.New("", "body") // a subject change
	}
	if body == nil && n.Child(nsMUCUser, "x").Child(nsMUCUser, "invite") != nil && to.Localpart() != "" {
		if u.ensureSession(n) {
			u.roomMessage(n, from, to, "") // a mediated invitation
		}
		return
	}
	if body == nil {
		return // chat states, receipts and the like need no answer here
	}
	if to.Localpart() == "" {
		u.chatCommand(n, body.Text)
		return
	}
	if !u.ensureSession(n) {
		return
	}
	if n.Attr("type") == "groupchat" {
		u.roomMessage(n, from, to, body.Text)
		return
	}
	ctx, cancel := context.WithTimeout(u.t.ctx, 30*time.Second)
	defer cancel()
	m := outboundMessage(n, body.Text)
	m.Peer, m.Sender = to.Localpart(), from.String()
	if to.Resourcepart() != "" && u.isRoom(to.Localpart()) {
		m.Resource = to.Resourcepart() // a private message to a room occupant
	}
	if err := u.sess.Send(ctx, m); err != nil {
		cond, text := u.t.userError(err, "message not delivered")
		u.send(ErrorReply(n, "", string(cond), text))
	} else if m.Resource == "" {
		u.t.ensureContact(u.jid, to.Bare().String(), "") // XEP-0356 roster push, when granted
	}
}

// userError splits an error into a condition and a text fit for the user;
// the cause is logged for the operator only.
func (t *Transport) userError(err error, fallback string) (bridges.Condition, string) {
	var be *bridges.Error
	if errors.As(err, &be) {
		if be.Cause != nil {
			t.log.Info("bridge error", "condition", be.Condition, "text", be.Text, "cause", be.Cause)
		}
		return be.Condition, be.Text
	}
	t.log.Error(fallback, "error", err)
	return bridges.InternalServer, fallback
}

// stayConnected is the account's session policy.
func (u *user) stayConnected() bool {
	if u.acct != nil {
		if v, ok := parseBool(u.acct.Settings[settingStayConnected]); ok {
			return v
		}
	}
	return u.t.desc.StayConnected
}

// maybeStartSession opens the legacy session when the policy says so.
func (u *user) maybeStartSession() {
	if u.acct == nil || u.sess != nil {
		return
	}
	if !u.stayConnected() && len(u.resources) == 0 {
		return
	}
	u.openSession()
}

func (u *user) openSession() {
	if u.acct == nil || u.sess != nil {
		return
	}
	u.setState(bridges.Connecting, "")
	ctx, cancel := context.WithTimeout(u.t.ctx, openTimeout)
	defer cancel()
	values := map[string]string{}
	for k, v := range u.acct.Fields {
		values[k] = v
	}
	for k, v := range u.acct.Secrets {
		values[k] = v
	}
	u.sessGen++
	s, err := u.t.bridge.Open(ctx, bridges.Account{JID: u.jid, Values: values, Settings: u.acct.Settings},
		&sink{t: u.t, user: u.jid, gen: u.sessGen})
	if err != nil {
		_, text := u.t.userError(err, "could not connect")
		u.setState(bridges.Failed, text)
		return
	}
	u.sess = s
	u.t.metrics.sessionDelta(u.t.domain, 1)
	u.t.log.Info("session opened", "user", u.jid)
}

func (u *user) closeSession(why string) {
	if u.sess == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := u.sess.Close(ctx); err != nil {
		u.t.log.Warn("closing session", "user", u.jid, "error", err)
	}
	u.sess = nil
	u.t.metrics.sessionDelta(u.t.domain, -1)
	u.t.log.Info("session closed", "user", u.jid, "why", why)
	u.state, u.stateText = bridges.Disconnected, why
	u.t.puppetsGone(u.jid)
	u.roomsGone()
}

// setState records the connection state and shows it as presence.
func (u *user) setState(s bridges.State, text string) {
	if u.acct == nil {
		return
	}
	u.state, u.stateText = s, text
	u.sendTransportPresence("")
}

// sendTransportPresence shows the account's state as the transport's presence.
func (u *user) sendTransportPresence(to string) {
	if u.acct == nil {
		return
	}
	if to == "" {
		to = u.jid
	}
	p := presence(u.t.domain, to, "")
	switch u.state {
	case bridges.Connected:
		p.Add(xmlnode.Elem("", "status", nonEmpty(u.stateText, "Connected")))
	case bridges.Connecting:
		// The bridge says what it is doing ("Reconnecting to …: refused").
		p.Add(xmlnode.Elem("", "show", "away"), xmlnode.Elem("", "status", nonEmpty(u.stateText, "Connecting…")))
	case bridges.Failed:
		p.Add(xmlnode.Elem("", "show", "dnd"), xmlnode.Elem("", "status", "Error: "+u.stateText))
	default:
		p.Add(xmlnode.Elem("", "show", "xa"), xmlnode.Elem("", "status", nonEmpty(u.stateText, "Not connected")))
	}
	u.send(p)
}

func nonEmpty(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

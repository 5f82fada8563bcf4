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

const (
	openTimeout  = 60 * time.Second
	closeTimeout = 10 * time.Second
	// activeLinger keeps the session of a user who has neither a room
	// nor an available resource open after a 1:1 message, for the reply.
	activeLinger = 10 * time.Minute
	// reopenPause is how long a failed open is reported as is before a
	// stanza that needs the session tries again.
	reopenPause = 30 * time.Second
)

// send queues a stanza for this user, waiting while their lane is full.
func (u *user) send(n *xmlnode.Node) { u.t.sendTo(u.jid, n) }

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
		if u.needSession(n) {
			u.roomMessage(n, from, to, "") // a mediated invitation
		}
		return
	}
	if body == nil {
		u.signal(n, from, to) // chat states and reactions; receipts and the like need no answer
		return
	}
	u.typingEnded(n, from, to)
	if to.Localpart() == "" {
		u.chatCommand(n, body.Text)
		return
	}
	if !u.needSession(n) {
		return
	}
	if n.Attr("type") == "groupchat" {
		u.roomMessage(n, from, to, body.Text)
		return
	}
	m := outboundMessage(n, body.Text)
	m.Peer, m.Sender = to.Localpart(), from.String()
	if to.Resourcepart() != "" && u.t.isRoom(to.Localpart()) {
		m.Resource = to.Resourcepart() // a private message to a room occupant
		if r := u.rooms[to.Localpart()]; r != nil {
			m.Resource = r.occupantByResource(to.Resourcepart()).Nick
		}
	}
	u.noteActive()
	u.sessionOp(n, "send", func(ctx context.Context, s bridges.Session) error {
		if err := u.t.resolveReply(ctx, u.jid, &m); err != nil {
			return err
		}
		return s.Send(ctx, m)
	},
		func(u *user, err error) {
			if err != nil {
				cond, text := u.t.userError(err, "message not delivered")
				u.send(ErrorReply(n, "", string(cond), text))
			} else if m.Resource == "" {
				u.t.ensureContact(u.jid, to.Bare().String(), "") // XEP-0356 roster push, when granted
			}
		})
}

// sessionOp queues work on the open (or opening) session; n is the
// stanza answered with "slow down" if the user has queued too much.
func (u *user) sessionOp(n *xmlnode.Node, what string, run func(context.Context, bridges.Session) error, done func(*user, error)) {
	ok := u.do(op{what: what, done: done, run: func(ctx context.Context, lg *legacy) error {
		s, err := lg.session()
		if err != nil {
			return err
		}
		return run(ctx, s)
	}})
	if !ok {
		u.send(ErrorReply(n, Wait, "resource-constraint", "too much is waiting to be sent to the network; slow down and try again"))
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
	if errors.Is(err, context.DeadlineExceeded) {
		return bridges.RemoteServerTmout, fallback + ": the network did not answer in time"
	}
	t.log.Error(fallback, "error", err)
	return bridges.InternalServer, fallback
}

// stayConnected is the account's session policy.
func (u *user) stayConnected() bool {
	if u.acct != nil {
		if v, ok := bridges.ParseBool(u.acct.Settings[settingStayConnected]); ok {
			return v
		}
	}
	return u.t.desc.StayConnected
}

// maybeStartSession opens the legacy session when the policy says so.
func (u *user) maybeStartSession() {
	if u.acct == nil || u.sess == sessOpen || u.sess == sessOpening {
		return
	}
	if !u.stayConnected() && u.resources.Len() == 0 {
		return
	}
	u.openSession()
}

// needSession makes sure the legacy session is open or opening for a
// stanza that needs it (registering the user implicitly where the bridge
// allows); false means an error was sent instead.
func (u *user) needSession(n *xmlnode.Node) bool {
	if u.acct == nil && !u.registering {
		if !u.registerImplicitly(n) {
			u.send(ErrorReply(n, "", "registration-required", "register with "+u.t.domain+" first"))
			return false
		}
	}
	switch u.sess {
	case sessOpen, sessOpening:
		return true
	case sessFailed:
		if u.t.now().Sub(u.failedAt) < reopenPause {
			u.send(ErrorReply(n, Wait, "remote-server-timeout", "not connected: "+u.stateText))
			return false
		}
	}
	u.openSession()
	return true
}

// openSession queues opening the legacy session.
func (u *user) openSession() {
	if u.sess == sessOpen || u.sess == sessOpening {
		return
	}
	if u.acct != nil && u.acct.SealErr != nil {
		u.sess, u.failedAt = sessFailed, u.t.now()
		u.setState(bridges.Failed, unsealableText)
		return
	}
	acct, views, inbox, addrs := u.acct, u.views, u.inbox, u.addressValues()
	gen := u.t.gens.Add(1)
	u.sess, u.sessGen = sessOpening, gen
	u.setState(bridges.Connecting, "")
	t, bare := u.t, u.jid
	ok := u.do(op{what: "open session", timeout: openTimeout,
		run: func(ctx context.Context, lg *legacy) error {
			a := acct
			if a == nil {
				a = lg.acct // registered by an op queued before this one
			}
			if a == nil {
				return errSkipped
			}
			s, err := t.bridge.Open(ctx, withAddresses(bridgeAccount(a), addrs), &sink{t: t, user: bare, gen: gen, views: views, inbox: inbox})
			if err != nil {
				return err
			}
			lg.sess, lg.gen = s, gen
			return nil
		},
		done: func(u *user, err error) {
			if u.sessGen != gen {
				return // closed meanwhile; the close op ends it
			}
			if err != nil {
				_, text := u.t.userError(err, "could not connect")
				u.sess, u.failedAt = sessFailed, u.t.now()
				u.setState(bridges.Failed, text)
				return
			}
			u.sess = sessOpen
			u.t.metrics.sessionDelta(u.t.domain, 1)
			u.t.log.Info("session opened", "user", u.jid)
			u.maybeCloseIdle()
		}})
	if !ok {
		u.sess, u.failedAt = sessFailed, u.t.now()
		u.setState(bridges.Failed, "too much work queued; try again")
	}
}

func bridgeAccount(a *registry.Account) bridges.Account {
	values := make(map[string]string, len(a.Fields)+len(a.Secrets))
	for k, v := range a.Fields {
		values[k] = v
	}
	for k, v := range a.Secrets {
		values[k] = v
	}
	return bridges.Account{JID: a.JID, Values: values, Settings: a.Settings}
}

// closeSession ends the legacy session (after the work queued before),
// and tells the user's client at once: puppets offline, rooms left.
func (u *user) closeSession(why string) {
	wasOpen := u.sess == sessOpen
	if u.sess == sessNone {
		return
	}
	u.sess, u.sessGen = sessNone, 0 // the old session's late events are stale now
	u.state, u.stateText = bridges.Disconnected, why
	if wasOpen {
		u.t.metrics.sessionDelta(u.t.domain, -1)
	}
	u.t.puppetsGone(u.jid)
	u.roomsGone()
	u.do(op{what: "close session", timeout: closeTimeout,
		run: func(ctx context.Context, lg *legacy) error {
			if lg.sess == nil {
				return nil
			}
			s := lg.sess
			lg.sess, lg.gen = nil, 0
			return s.Close(ctx, why)
		},
		done: func(u *user, err error) {
			if err != nil {
				u.t.log.Warn("closing session", "user", u.jid, "error", err)
			}
			u.t.log.Info("session closed", "user", u.jid, "why", why)
		}})
}

// maybeCloseIdle ends a session nobody needs: no available resource, no
// room, and no 1:1 chat within activeLinger, unless the user chose to
// stay connected.
func (u *user) maybeCloseIdle() {
	if u.sess != sessOpen && u.sess != sessOpening || u.stayConnected() || u.resources.Len() > 0 || len(u.rooms) > 0 {
		return
	}
	if left := activeLinger - u.t.now().Sub(u.lastActive); left > 0 {
		if !u.lingering {
			u.lingering = true
			u.after(left, func(u *user) {
				u.lingering = false
				u.maybeCloseIdle()
			})
		}
		return
	}
	u.closeSession("no room joined and no client online")
}

// noteActive records 1:1 activity, which keeps the session a while.
func (u *user) noteActive() { u.lastActive = u.t.now() }

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

// unsealableText is what a user whose stored secrets cannot be read sees.
const unsealableText = "your stored password cannot be read (the gateway's key changed); register again to enter it"

// noteUnsealable tells the operator, once per load, which account's
// secrets cannot be read; the user sees it when their session would open.
func (u *user) noteUnsealable() {
	if u.acct.SealErr != nil {
		u.t.log.Error("stored secrets cannot be unsealed; the user must register again (or restore the key file)",
			"user", u.jid, "error", u.acct.SealErr)
	}
}

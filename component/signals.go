package component

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"mellium.im/xmpp/jid"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
)

// Typing notifications (XEP-0085), reactions (XEP-0444) and replies
// (XEP-0461) between the user's clients and a network that carries them
// (bridges.Signaller, bridges.SignalEvents).

const (
	nsReactions = "urn:xmpp:reactions:0"
	nsReply     = "urn:xmpp:reply:0"
	nsFallback  = "urn:xmpp:fallback:0"
	nsHints     = "urn:xmpp:hints"
)

const (
	// typingEvery is how often "composing" reaches the network per
	// conversation: clients send it at every key press, IRCv3 +typing
	// wants "active" at most every 3 seconds.
	typingEvery = 3 * time.Second
	// typingForget is when a conversation's typing state is forgotten:
	// networks expire a paused state after 30 s.
	typingForget = time.Minute
	// maxTyping bounds the conversations whose typing state is kept.
	maxTyping = 256
	// maxReactions and maxReactionLen bound one reactions element: more
	// is no person's reaction, and each is sent as a tag on the network.
	maxReactions   = 20
	maxReactionLen = 64
)

// typed is the last chat state sent to one conversation.
type typed struct {
	state bridges.ChatState
	at    time.Time
}

// typingLimiter decides which of the user's chat states reach the
// network: one "composing" per conversation every typingEvery, a
// "paused" or "active" only to end typing that was announced, never the
// same state twice in a row. It lives on the actor, so a client's flood
// of chat states costs no op at all.
type typingLimiter map[bridges.Conversation]typed

func (l typingLimiter) allow(c bridges.Conversation, s bridges.ChatState, now time.Time) bool {
	prev, known := l[c]
	switch {
	case s == bridges.Composing && known && prev.state == bridges.Composing && now.Sub(prev.at) < typingEvery:
		return false
	case s != bridges.Composing && (!known || prev.state == s):
		return false // nothing announced to end, or ended already
	}
	if s == bridges.Active {
		delete(l, c)
		return true
	}
	if !known && len(l) >= maxTyping && !l.sweep(now) {
		return false
	}
	l[c] = typed{s, now}
	return true
}

// ended forgets c's typing: a message sent there ends it on the network.
func (l typingLimiter) ended(c bridges.Conversation) { delete(l, c) }

// sweep forgets states older than typingForget and reports room left.
func (l typingLimiter) sweep(now time.Time) bool {
	for c, t := range l {
		if now.Sub(t.at) > typingForget {
			delete(l, c)
		}
	}
	return len(l) < maxTyping
}

// chatState reads a stanza's XEP-0085 chat state; inactive and gone are
// not typing, as active.
func chatState(n *xmlnode.Node) (bridges.ChatState, bool) {
	for _, c := range n.Children {
		if c.Space != nsChatState {
			continue
		}
		switch c.Local {
		case "composing":
			return bridges.Composing, true
		case "paused":
			return bridges.Paused, true
		case "active", "inactive", "gone":
			return bridges.Active, true
		}
	}
	return "", false
}

// conversation is where a message from the user's client goes: a room
// (they must be in it), an occupant of one, or a person. false: nowhere
// a chat state or a reaction can go.
func (u *user) conversation(n *xmlnode.Node, from, to jid.JID) (bridges.Conversation, bool) {
	local := to.Localpart()
	if n.Attr("type") == "groupchat" {
		r := u.rooms[local]
		if r == nil || !r.joined || !r.seated(from.String()) {
			return bridges.Conversation{}, false
		}
		return bridges.Conversation{Peer: local}, true
	}
	if !u.t.isRoom(local) {
		return bridges.Conversation{Peer: local}, true
	}
	if to.Resourcepart() == "" {
		return bridges.Conversation{}, false
	}
	nick := to.Resourcepart()
	if r := u.rooms[local]; r != nil {
		nick = r.occupantByResource(nick).Nick
	}
	return bridges.Conversation{Peer: local, Nick: nick}, true
}

// signal handles a message without a body from one of the user's
// clients: reactions, or a chat state. Receipts and the like need
// nothing here.
func (u *user) signal(n *xmlnode.Node, from, to jid.JID) {
	if to.Localpart() == "" {
		return // the transport itself
	}
	if r := n.Child(nsReactions, "reactions"); r != nil {
		u.react(n, from, to, r)
		return
	}
	if d := n.Child(nsMarkers, "displayed"); d != nil && d.Attr("id") != "" {
		u.markDisplayed(n, from, to, d.Attr("id"))
	}
	if st, ok := chatState(n); ok {
		u.sendChatState(n, from, to, st)
	}
}

// typingEnded is called for every message with a body the user sends:
// it ends their typing there.
func (u *user) typingEnded(n *xmlnode.Node, from, to jid.JID) {
	if c, ok := u.conversation(n, from, to); ok {
		u.typing.ended(c)
	}
}

// sendChatState passes a chat state on, when the session is open (typing
// never opens one) and the limiter allows; a busy ops lane drops it.
func (u *user) sendChatState(n *xmlnode.Node, from, to jid.JID, st bridges.ChatState) {
	if u.sess != sessOpen {
		return
	}
	c, ok := u.conversation(n, from, to)
	if !ok || !u.typing.allow(c, st, u.t.now()) {
		return
	}
	u.do(op{what: "chat state", run: func(ctx context.Context, lg *legacy) error {
		s, err := lg.session()
		if err != nil {
			return nil
		}
		if sig, ok := s.(bridges.Signaller); ok {
			return sig.SendChatState(ctx, c, st)
		}
		return nil
	}, done: func(u *user, err error) {
		if err != nil {
			u.t.log.Debug("chat state not sent", "user", u.jid, "to", c.Peer, "error", err)
		}
	}})
}

// reactionSet reads an XEP-0444 reactions element: the message's id and
// the user's whole set of reactions to it, without repeats.
func reactionSet(r *xmlnode.Node) (id string, set []string, err error) {
	id = r.Attr("id")
	if id == "" {
		return "", nil, bridges.Errorf(bridges.BadRequest, "reactions without the id of a message")
	}
	for _, e := range r.ChildrenNamed(nsReactions, "reaction") {
		v := strings.TrimSpace(e.Text)
		switch {
		case v == "":
			continue
		case len(v) > maxReactionLen || !utf8.ValidString(v) || strings.ContainsAny(v, "\r\n\x00"):
			return "", nil, bridges.Errorf(bridges.NotAcceptable, "a reaction is one emoji or a short text (at most %d bytes, one line)", maxReactionLen)
		}
		if !contains(set, v) {
			set = append(set, v)
		}
	}
	if len(set) > maxReactions {
		return "", nil, bridges.Errorf(bridges.NotAcceptable, "at most %d reactions to one message", maxReactions)
	}
	return id, set, nil
}

func contains(set []string, v string) bool {
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}

// react sends the user's reactions to a message. In a room the id is its
// stanza-id, which is the network's id where it gave one; in a chat it is
// the message's own id, mapped back to the network's.
func (u *user) react(n *xmlnode.Node, from, to jid.JID, r *xmlnode.Node) {
	id, set, err := reactionSet(r)
	if err != nil {
		cond, text := u.t.userError(err, "")
		u.send(ErrorReply(n, "", string(cond), text))
		return
	}
	c, ok := u.conversation(n, from, to)
	if !ok {
		u.send(ErrorReply(n, "", "not-acceptable", "join the room first"))
		return
	}
	if !u.needSession(n) {
		return
	}
	inRoom, owner := n.Attr("type") == "groupchat", u.jid
	u.sessionOp(n, "react", func(ctx context.Context, s bridges.Session) error {
		sig, ok := s.(bridges.Signaller)
		if !ok {
			return bridges.Errorf("feature-not-implemented", "this network has no reactions")
		}
		legacyID := id
		if !inRoom {
			var err error
			if legacyID, err = u.t.legacyID(ctx, owner, id); err != nil {
				return err
			}
		}
		return sig.React(ctx, c, legacyID, set)
	}, func(u *user, err error) {
		if err != nil {
			cond, text := u.t.userError(err, "reaction not sent")
			u.send(ErrorReply(n, "", string(cond), text))
		}
	})
}

// legacyID is the network's id of a chat message the user got, from the
// XMPP id Ferry gave it.
func (t *Transport) legacyID(ctx context.Context, user, xmppID string) (string, error) {
	m, err := t.store.MessageByXMPPID(ctx, t.domain, user, xmppID)
	if errors.Is(err, registry.ErrNotFound) {
		return "", bridges.Errorf(bridges.ItemNotFound, "the network has no id for message %q that this gateway knows, so it cannot refer to it", xmppID)
	}
	if err != nil {
		return "", err
	}
	return m.LegacyID, nil
}

// resolveReply turns the XMPP id a chat message replies to into the
// network's (rooms need nothing: their stanza-ids are the network's
// ids). A message Ferry cannot name is sent with the client's quote of
// it instead, which is what the quote is for.
func (t *Transport) resolveReply(ctx context.Context, user string, m *bridges.Message) error {
	if m.ReplyTo == "" {
		return nil
	}
	id, err := t.legacyID(ctx, user, m.ReplyTo)
	var be *bridges.Error
	if errors.As(err, &be) && be.Condition == bridges.ItemNotFound {
		m.ReplyTo, m.Body = "", m.Fallback
		return nil
	}
	m.ReplyTo = id
	return err
}

// replyOf reads an XEP-0461 reply: the id of the message answered, and
// the body without the quote the client marked as fallback (XEP-0428;
// its offsets count code points). A malformed fallback strips nothing.
func replyOf(n *xmlnode.Node, body string) (id, rest string) {
	id = n.Child(nsReply, "reply").Attr("id")
	if id == "" {
		return "", body
	}
	for _, fb := range n.ChildrenNamed(nsFallback, "fallback") {
		if fb.Attr("for") != nsReply {
			continue
		}
		if b := fb.Child(nsFallback, "body"); b != nil {
			return id, cutRunes(body, b.Attr("start"), b.Attr("end"))
		}
	}
	return id, body
}

// cutRunes removes the code points [start, end) from s; bad offsets
// remove nothing.
func cutRunes(s, start, end string) string {
	from, err1 := strconv.Atoi(start)
	to, err2 := strconv.Atoi(end)
	if err1 != nil || err2 != nil || from < 0 || to < from {
		return s
	}
	i, bFrom, bTo := 0, -1, -1
	for off := range s {
		if i == from {
			bFrom = off
		}
		if i == to {
			bTo = off
		}
		i++
	}
	if i == from {
		bFrom = len(s)
	}
	if i == to {
		bTo = len(s)
	}
	if bFrom < 0 || bTo < 0 {
		return s
	}
	return s[:bFrom] + s[bTo:]
}

// ChatState shows someone's typing: an occupant's in the room, a
// person's in the chat with them. Nothing stores it.
func (s *sink) ChatState(c bridges.Conversation, st bridges.ChatState) {
	state := xmlnode.New(nsChatState, string(st))
	noStore := xmlnode.New(nsHints, "no-store")
	if c.Nick != "" {
		s.room(c.Peer, func(u *user, r *room) {
			from := u.roomJID(c.Peer, c.Nick)
			u.broadcast(r, func(full string) *xmlnode.Node {
				return xmlnode.New("", "message").SetAttr("type", "groupchat").SetAttr("id", newID()).
					SetAttr("from", from).SetAttr("to", full).Add(state.Copy(), noStore.Copy())
			})
		})
		return
	}
	if from := s.t.puppet(c.Peer); from != "" {
		s.t.sendTo(s.user, xmlnode.New("", "message").SetAttr("type", "chat").SetAttr("id", newID()).
			SetAttr("from", from).SetAttr("to", s.user).Add(state, noStore))
	}
}

// Reactions shows someone's reactions to a message: in a room the id is
// the message's stanza-id, in a chat the id Ferry gave the message (a
// message it never delivered cannot be shown reacted to: logged).
func (s *sink) Reactions(c bridges.Conversation, id string, reactions []string) {
	el := xmlnode.New(nsReactions, "reactions")
	for _, r := range reactions {
		el.Add(xmlnode.Elem(nsReactions, "reaction", r))
	}
	if c.Nick != "" {
		el.SetAttr("id", id)
		s.room(c.Peer, func(u *user, r *room) {
			from := u.roomJID(c.Peer, c.Nick)
			u.broadcast(r, func(full string) *xmlnode.Node {
				return xmlnode.New("", "message").SetAttr("type", "groupchat").SetAttr("id", newID()).
					SetAttr("from", from).SetAttr("to", full).Add(el.Copy(), xmlnode.New(nsHints, "store"))
			})
		})
		return
	}
	from := s.t.puppet(c.Peer)
	ctx, cancel := context.WithTimeout(s.t.ctx, storeTimeout)
	defer cancel()
	m, err := s.t.store.MessageByLegacyID(ctx, s.t.domain, s.user, id)
	if err != nil || from == "" {
		s.t.log.Debug("reaction to a message the user never got here", "user", s.user, "peer", c.Peer, "id", id, "error", err)
		return
	}
	el.SetAttr("id", m.XMPPID)
	s.t.sendTo(s.user, xmlnode.New("", "message").SetAttr("type", "chat").SetAttr("id", newID()).
		SetAttr("from", from).SetAttr("to", s.user).Add(el, xmlnode.New(nsHints, "store")))
}

// replyElem is the XEP-0461 reference of an inbound reply: in a room the
// id the network gave (the original's stanza-id), in a chat the id
// Ferry gave the original; nil when Ferry never delivered it.
func (t *Transport) replyElem(ctx context.Context, user string, inRoom bool, legacyID string) *xmlnode.Node {
	if legacyID == "" {
		return nil
	}
	if inRoom {
		return xmlnode.New(nsReply, "reply").SetAttr("id", legacyID)
	}
	m, err := t.store.MessageByLegacyID(ctx, t.domain, user, legacyID)
	if err != nil {
		return nil
	}
	return xmlnode.New(nsReply, "reply").SetAttr("id", m.XMPPID)
}

// signalFeatures adds to a puppet's or a room's disco#info the features
// of signals.go and readmarker.go, when the bridge carries them.
func (t *Transport) signalFeatures(q *xmlnode.Node) {
	if !t.desc.Signals {
		return
	}
	for _, f := range []string{nsChatState, nsReactions, nsReply, nsMarkers} {
		q.Add(xmlnode.New(nsDiscoInfo, "feature").SetAttr("var", f))
	}
}

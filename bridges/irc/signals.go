package irc

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircaddr"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircconn"
)

// clientTagState is what a network remembers for client-only tags and
// read marks, under network.mu; each part is bounded.
type clientTagState struct {
	reacts    reactionSets         // reactions seen and sent
	readMarks map[string]time.Time // the last read mark per casefolded target (readmarker.go)
	typedTo   map[string]time.Time // when typing last went to a casefolded target
	lastFrom  map[string]heardFrom // the last private message from each casefolded nick (readmarker.go)
}

// IRCv3 client-only tags: +typing (XEP-0085 chat states), +draft/react
// and +draft/unreact (XEP-0444 reactions), +draft/reply (XEP-0461
// replies). A server passes them on only with message-tags; without it,
// typing is dropped, reactions are refused and replies go as the
// client's quote.

const (
	tagTyping  = "+typing"
	tagReact   = "+draft/react"
	tagUnreact = "+draft/unreact"
	tagReply   = "+draft/reply"
)

// maxReactionBytes bounds a reaction taken from the network; longer is
// no reaction a person makes.
const maxReactionBytes = 64

// typingValues maps chat states to +typing values.
var typingValues = map[bridges.ChatState]string{
	bridges.Composing: "active",
	bridges.Paused:    "paused",
	bridges.Active:    "done",
}

// tagsAllowed reports whether client-only tags reach the server's users.
func (n *network) tagsAllowed() bool {
	return n.conn != nil && n.conn.HasCap("message-tags")
}

// typedFor is how long a refusal of a target typed to (a nick gone, a
// moderated channel) is taken as the TAGMSG's: the user is not told of
// it, as typing is best effort.
const typedFor = 10 * time.Second

// maxTyped bounds the targets remembered as typed to.
const maxTyped = 256

// typed records that typing went to target.
func (n *network) typed(target string) {
	if n.v3.typedTo == nil || len(n.v3.typedTo) >= maxTyped {
		n.v3.typedTo = map[string]time.Time{}
	}
	n.v3.typedTo[n.fold(target)] = time.Now()
}

// typedLately reports typing sent to target within typedFor.
func (n *network) typedLately(target string) bool {
	at, ok := n.v3.typedTo[n.fold(target)]
	return ok && time.Since(at) < typedFor
}

// existing is the user's connection to server if it is open: typing and
// reactions never start one.
func (s *session) existing(server string) *network {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.networks[server]
}

// target resolves a conversation to a network and the IRC target of
// TAGMSG: the channel, or the nick.
func (s *session) target(c bridges.Conversation) (*network, string, error) {
	a, err := s.address(c.Peer)
	if err != nil {
		return nil, "", err
	}
	target := a.Target
	switch {
	case a.Kind == ircaddr.Channel && c.Nick != "":
		target = c.Nick
	case a.Kind != ircaddr.Channel && a.Kind != ircaddr.User:
		return nil, "", bridges.Errorf(bridges.BadRequest, "no channel or nick in that address")
	}
	n := s.existing(a.Server)
	if n == nil {
		return nil, "", bridges.Errorf(bridges.RecipientUnavailable, "not connected to %s", a.Server)
	}
	return n, target, nil
}

// SendChatState implements bridges.Signaller. It never waits for room in
// the send queue: typing that cannot go now is stale anyway.
func (s *session) SendChatState(ctx context.Context, c bridges.Conversation, st bridges.ChatState) error {
	value, ok := typingValues[st]
	if !ok {
		return nil
	}
	n, target, err := s.target(c)
	if err != nil {
		return nil // nowhere to show it: typing is best effort
	}
	var conn *ircconn.Conn
	_ = n.locked(ctx, func() {
		if n.tagsAllowed() && (!n.isChannel(target) || n.channel(n.fold(target)) != nil) {
			conn = n.conn
			n.typed(target)
		}
	})
	if conn == nil {
		return nil
	}
	return conn.TrySend(ircmsg.MakeMessage(map[string]string{tagTyping: value}, "", "TAGMSG", target))
}

// React implements bridges.Signaller: the reactions added since the last
// call go as +draft/react, those taken back as +draft/unreact.
func (s *session) React(ctx context.Context, c bridges.Conversation, id string, reactions []string) error {
	n, target, err := s.target(c)
	if err != nil {
		return err
	}
	var reactErr error
	err = n.locked(ctx, func() {
		msgid, ok := n.networkID(id)
		switch {
		case !ok:
			reactErr = bridges.Errorf(bridges.ItemNotFound, "%s gave that message no id, so it cannot be reacted to there", n.server)
		case !n.tagsAllowed():
			reactErr = bridges.Errorf("feature-not-implemented", "%s does not pass reactions on (no IRCv3 message-tags)", n.server)
		default:
			key := reactionKey{target: n.fold(target), msgid: msgid}
			added, removed := n.v3.reacts.set(key, reactions)
			for _, r := range added {
				n.lines = append(n.lines, ircmsg.MakeMessage(map[string]string{tagReply: msgid, tagReact: r}, "", "TAGMSG", target))
			}
			for _, r := range removed {
				n.lines = append(n.lines, ircmsg.MakeMessage(map[string]string{tagReply: msgid, tagUnreact: r}, "", "TAGMSG", target))
			}
		}
	})
	if reactErr != nil {
		return reactErr
	}
	if err != nil {
		return sendError(err)
	}
	return nil
}

// networkID is the server's msgid in a legacy id Ferry made of it
// (messageID), if it is this server's.
func (n *network) networkID(id string) (string, bool) {
	msgid, ok := strings.CutPrefix(id, n.server+"/")
	return msgid, ok && validMsgID(msgid)
}

// withReply is the message as sent: with the reference of a reply where
// the server carries it (ReplyTo then holds the server's msgid), else
// with the client's quote of the original (Fallback) and no reference.
func (n *network) withReply(m bridges.Message) (bridges.Message, string) {
	if m.ReplyTo == "" {
		return m, ""
	}
	if msgid, ok := n.networkID(m.ReplyTo); ok && n.tagsAllowed() {
		return m, msgid
	}
	if m.Fallback != "" && !m.Action { // a quote does not fit in an action
		m.Body = m.Fallback
	}
	m.ReplyTo = ""
	return m, ""
}

// onTagMsg handles a TAGMSG from someone else: typing, or a reaction.
// Tags Ferry does not know, and bad values, are ignored.
func (n *network) onTagMsg(m ircmsg.Message, nick, target string, self bool) {
	if self || nick == "" || !strings.Contains(m.Source, "!") {
		return // our own echo, or the server's
	}
	c, ok := n.conversationOf(nick, target)
	if !ok {
		return
	}
	if present, v := m.GetTag(tagTyping); present {
		if st, ok := chatStates[v]; ok {
			n.signal(func(se bridges.SignalEvents) { se.ChatState(c, st) })
		}
	}
	_, msgid := m.GetTag(tagReply)
	if !validMsgID(msgid) {
		return
	}
	_, add := m.GetTag(tagReact)
	_, remove := m.GetTag(tagUnreact)
	if !validReaction(add) && !validReaction(remove) {
		return
	}
	set := n.v3.reacts.change(reactionKey{target: n.fold(target), msgid: msgid, nick: n.fold(nick)}, add, remove)
	id := n.server + "/" + msgid
	n.signal(func(se bridges.SignalEvents) { se.Reactions(c, id, set) })
}

// chatStates maps +typing values to chat states.
var chatStates = map[string]bridges.ChatState{
	"active": bridges.Composing,
	"paused": bridges.Paused,
	"done":   bridges.Active,
}

// conversationOf is where a line from nick to target shows: the joined
// channel (with nick in it), or the chat with nick when sent to us.
func (n *network) conversationOf(nick, target string) (bridges.Conversation, bool) {
	if n.isChannel(target) {
		ch := n.channel(n.fold(target))
		if ch == nil || !ch.joined {
			return bridges.Conversation{}, false
		}
		return bridges.Conversation{Peer: ch.local, Nick: nick}, true
	}
	if n.conn == nil || n.fold(target) != n.fold(n.conn.Nick()) {
		return bridges.Conversation{}, false // not for us
	}
	peer := n.local(ircaddr.User, nick)
	return bridges.Conversation{Peer: peer}, peer != ""
}

// signal queues a typing or reaction event for the user.
func (n *network) signal(e func(bridges.SignalEvents)) {
	if se, ok := n.s.sink.(bridges.SignalEvents); ok {
		n.emit(func() { e(se) })
	}
}

func validReaction(r string) bool {
	return r != "" && len(r) <= maxReactionBytes && utf8.ValidString(r) && !strings.ContainsAny(r, "\x00\r\n")
}

// maxReactionSets bounds the reaction sets a network remembers (its
// users' and the user's own); the oldest is forgotten first.
const maxReactionSets = 1024

// reactionKey names one person's reactions to one message; nick is ""
// for the user's own.
type reactionKey struct{ target, msgid, nick string }

// reactionSets remembers reactions, because IRC sends them one at a time
// and XMPP as a whole set: the set a reaction changes, and the user's
// own set a new one replaces.
type reactionSets struct {
	sets  map[reactionKey][]string
	order []reactionKey // oldest first
}

// change adds and removes one reaction (either may be "") from key's set
// and returns the set.
func (r *reactionSets) change(key reactionKey, add, remove string) []string {
	set := slices.Clone(r.sets[key])
	if validReaction(remove) {
		set = slices.DeleteFunc(set, func(s string) bool { return s == remove })
	}
	if validReaction(add) && !slices.Contains(set, add) && len(set) < maxReactionsPerSet {
		set = append(set, add)
	}
	r.store(key, set)
	return set
}

// maxReactionsPerSet bounds one person's reactions to one message.
const maxReactionsPerSet = 20

// set replaces key's set and says what that adds and removes.
func (r *reactionSets) set(key reactionKey, set []string) (added, removed []string) {
	old := r.sets[key]
	for _, s := range set {
		if !slices.Contains(old, s) {
			added = append(added, s)
		}
	}
	for _, s := range old {
		if !slices.Contains(set, s) {
			removed = append(removed, s)
		}
	}
	r.store(key, slices.Clone(set))
	return added, removed
}

func (r *reactionSets) store(key reactionKey, set []string) {
	if r.sets == nil {
		r.sets = map[reactionKey][]string{}
	}
	if _, known := r.sets[key]; !known {
		r.order = append(r.order, key)
	}
	r.sets[key] = set
	for len(r.order) > maxReactionSets {
		delete(r.sets, r.order[0])
		r.order = r.order[1:]
	}
}

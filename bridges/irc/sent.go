package irc

import (
	"context"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircaddr"
	"github.com/ferry-xmpp/ferry/bridges/irc/irctext"
)

// The user's messages the IRC server has not answered yet. IRC answers a
// PRIVMSG it refuses with a numeric naming the target (401 no such nick,
// 404 cannot send to channel, ...) and, with the echo-message capability,
// one it accepted with the message itself. A refusal becomes an XMPP error
// on the message that caused it; an echo, on a server that echoes,
// completes it.
//
// With echo-message every send is answered, and a server handles a
// client's lines in order, so an answer belongs to the oldest unanswered
// send to its target. Without it an accepted send is never answered: the
// older sends still remembered are mostly ones that arrived, and a refusal
// belongs to the newest send to its target (when the user wrote twice to
// someone who left, both are refused anyway).

// Bounds on what is remembered.
const (
	// maxSent bounds the unanswered sends kept per connection; the oldest
	// goes first.
	maxSent = 64
	// replyWindow is how long, without echo-message, a send is kept for a
	// refusal: a server refuses a line as soon as it reads it, and accepts
	// it silently, so a send not refused by then is taken as delivered
	// (and an older delivered send cannot take a newer one's refusal).
	replyWindow = 10 * time.Second
	// echoWindow is how long, with echo-message, a send may wait for its
	// echo before it is reported as failed.
	echoWindow = 2 * time.Minute
)

// sentMsg is one message the user sent, as one or more IRC lines.
type sentMsg struct {
	target string          // casefolded IRC target
	msg    bridges.Message // the user's: ID, Sender, Peer (room or user local part), Body
	lines  int             // lines not answered yet
	failed bool            // a refusal was reported: later answers are absorbed
	at     time.Time       // when its lines were queued
	echoID string          // the server's msgid and time of its first echoed line
	echoAt time.Time
}

// sentLog holds a connection's unanswered sends in the order they were
// queued. It is part of the network's state (under network.mu).
type sentLog struct {
	list []*sentMsg
}

// add records a send of lines lines. When the log is full the oldest send
// is evicted and returned, so the caller can tell the user it is unknown
// whether it arrived.
func (l *sentLog) add(target string, m bridges.Message, lines int, now time.Time) (evicted *sentMsg) {
	if lines <= 0 {
		return nil
	}
	if len(l.list) >= maxSent {
		evicted = l.list[0]
		l.list = l.list[1:]
	}
	l.list = append(l.list, &sentMsg{target: target, msg: m, lines: lines, at: now})
	return evicted
}

// answer accounts one line of the oldest unanswered send to target (the
// newest, when newest is set), refused or echoed. It returns that send
// (nil when there is none) and whether all its lines are answered, in
// which case it is forgotten.
func (l *sentLog) answer(target string, newest bool) (s *sentMsg, complete bool) {
	i := -1
	for j, e := range l.list {
		if e.target == target {
			i = j
			if !newest {
				break
			}
		}
	}
	if i < 0 {
		return nil, false
	}
	e := l.list[i]
	if e.lines--; e.lines > 0 {
		return e, false
	}
	l.list = append(l.list[:i], l.list[i+1:]...)
	return e, true
}

// expire forgets the sends queued longer ago than window and returns
// them, oldest first.
func (l *sentLog) expire(now time.Time, window time.Duration) []*sentMsg {
	i := 0
	for i < len(l.list) && now.Sub(l.list[i].at) > window {
		i++
	}
	if i == 0 {
		return nil
	}
	gone := l.list[:i:i]
	l.list = l.list[i:]
	return gone
}

// drain forgets every send and returns them: the connection is gone.
func (l *sentLog) drain() []*sentMsg {
	gone := l.list
	l.list = nil
	return gone
}

// refusals maps the numerics that refuse a PRIVMSG or NOTICE, with the
// target as their second parameter, to the condition of the error on the
// user's message.
var refusals = map[string]bridges.Condition{
	"401": bridges.ItemNotFound,  // ERR_NOSUCHNICK
	"403": bridges.ItemNotFound,  // ERR_NOSUCHCHANNEL
	"404": bridges.Forbidden,     // ERR_CANNOTSENDTOCHAN: moderated, banned, +n
	"407": bridges.NotAcceptable, // ERR_TOOMANYTARGETS
	"477": bridges.Forbidden,     // ERR_NEEDREGGEDNICK: speaking needs an account
	"486": bridges.Forbidden,     // ERR_NONONREG: the user accepts logged-in senders only
	"492": bridges.NotAcceptable, // ERR_NOCTCP: no CTCP (a /me) here
	"531": bridges.Forbidden,     // ERR_CANTSENDTOUSER
	"716": bridges.NotAcceptable, // ERR_TARGUMODEG: the user ignores strangers
}

// sendText queues a user's message to target as PRIVMSG lines and
// remembers it until the server answers. Nothing is queued when a line
// cannot be encoded. A room message is reflected to the user when the
// server echoes it, or at once on a server that does not echo.
func (n *network) sendText(target string, m bridges.Message) error {
	before := len(n.lines)
	m, reply := n.withReply(m)
	batched := n.queueMultiline(target, m.Body, m.Action, reply)
	if !batched {
		if err := n.queueText("PRIVMSG", target, m.Body, m.Action); err != nil {
			n.lines = n.lines[:before]
			return err
		}
		for i := before; reply != "" && i < len(n.lines); i++ {
			n.lines[i].SetTag(tagReply, reply)
		}
	}
	echo := n.echoing()
	if !echo && n.isChannel(target) {
		n.reflect(m, "", time.Time{})
	}
	if !echo && m.ID == "" {
		return nil // a refusal would have nothing to attach to
	}
	n.expireSent()
	answers := len(n.lines) - before // one per line, or one for a batch (echoed as one message)
	if batched {
		answers = 1
	}
	if old := n.sent.add(n.fold(target), m, answers, time.Now()); old != nil && echo {
		n.fail(old, bridges.RemoteServerTmout, "too many messages wait for the server's confirmation; this one may not have arrived")
	}
	return nil
}

// EchoesRoomMessages implements bridges.RoomEchoer: sendText and onEcho
// report the reflection of every room message the user sends.
func (s *session) EchoesRoomMessages() {}

// reflect shows the user's room message m to their resources as the
// network took it: id and at are the server's msgid and time, if any.
func (n *network) reflect(m bridges.Message, id string, at time.Time) {
	echo := bridges.Message{ID: id, Time: at, Body: m.Body, Action: m.Action, EchoOf: m.ID, OriginID: m.OriginID, ReplyTo: m.ReplyTo}
	room, nick := m.Peer, n.conn.Nick()
	n.room(func(re bridges.RoomEvents) { re.RoomMessage(room, nick, echo) })
}

// onEcho handles a message from the user's own nick on a server with
// echo-message. The echo of a send Ferry made answers it (the last line's
// echo completes it: a room message is then reflected, once, with the
// client's id); any other is what the user sent elsewhere (another client
// on a bouncer, a raw command). It reports false for a room message the
// caller should show like anyone's.
func (n *network) onEcho(m ircmsg.Message, target, text string) bool {
	n.expireSent()
	s, complete := n.sent.answer(n.fold(target), false)
	if s != nil {
		if s.echoID == "" && s.echoAt.IsZero() {
			s.echoID, s.echoAt = messageID(n.server, m), serverTime(m)
		}
		if complete && !s.failed && n.isChannel(target) {
			n.reflect(s.msg, s.echoID, s.echoAt)
		}
		return true
	}
	if cmd, _, ok := irctext.CTCP(text); ok && cmd != "ACTION" {
		return true // Ferry's own CTCP queries and replies
	}
	if n.isChannel(target) {
		return false
	}
	if se, ok := n.s.sink.(bridges.SentElsewhereEvents); ok && m.Command == "PRIVMSG" {
		msg := bridges.Message{Peer: n.local(ircaddr.User, target), ID: messageID(n.server, m), Time: serverTime(m), Body: text}
		if _, args, ok := irctext.CTCP(text); ok {
			msg.Body, msg.Action = args, true
		}
		msg.Body = irctext.ToXMPP(msg.Body)
		n.emit(func() {
			ctx, cancel := context.WithTimeout(n.s.ctx, 30*time.Second)
			defer cancel()
			_ = se.SentElsewhere(ctx, msg)
		})
	}
	return true
}

// sentLost forgets every unanswered send when the connection is gone; on
// a server that echoes, those never echoed are reported as failed.
func (n *network) sentLost() {
	echo := n.echoing()
	for _, s := range n.sent.drain() {
		if echo && !s.failed {
			n.fail(s, bridges.RemoteServerTmout, "the connection to the IRC server was lost before it confirmed this message")
		}
	}
}

// onRefused handles a numeric refusing a send to target. It reports
// false when no unanswered send to target is known (the numeric answered
// a raw command, or came too late).
func (n *network) onRefused(code, target, text string) bool {
	return n.refuse(target, refusals[code], text) || n.typedLately(target)
}

// refuse fails the unanswered send to target a refusal belongs to, with
// cond and the server's text.
func (n *network) refuse(target string, cond bridges.Condition, text string) bool {
	n.expireSent()
	s, _ := n.sent.answer(n.fold(target), !n.echoing())
	if s == nil {
		return false
	}
	if !s.failed {
		s.failed = true
		n.fail(s, cond, text)
	}
	return true
}

// expireSent forgets sends past their window; on a server that echoes,
// one that was never echoed is reported as failed.
func (n *network) expireSent() {
	if len(n.sent.list) == 0 {
		return
	}
	echo := n.echoing()
	window := replyWindow
	if echo {
		window = echoWindow
	}
	for _, s := range n.sent.expire(time.Now(), window) {
		if echo && !s.failed {
			n.fail(s, bridges.RemoteServerTmout, "the IRC server did not confirm this message")
		}
	}
}

// fail reports a send as failed: an XMPP error on the user's message, from
// the address it was sent to.
func (n *network) fail(s *sentMsg, cond bridges.Condition, text string) {
	d, ok := n.s.sink.(bridges.DeliveryEvents)
	if !ok || s.msg.ID == "" {
		n.emitNotice("Not sent to " + s.msg.Peer + ": " + text)
		return
	}
	m := s.msg
	n.emit(func() {
		ctx, cancel := context.WithTimeout(n.s.ctx, 30*time.Second)
		defer cancel()
		_ = d.Failed(ctx, m.Peer, m.ID, m.Sender, cond, text)
	})
}

// echoing reports whether the server echoes the user's messages.
func (n *network) echoing() bool {
	return n.conn != nil && n.conn.HasCap("echo-message")
}

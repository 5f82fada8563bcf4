package irc

import (
	"context"
	"strings"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircaddr"
	"github.com/ferry-xmpp/ferry/bridges/irc/irctext"
)

// handle translates one IRC message into events for the user.
func (n *network) handle(m ircmsg.Message) {
	p := func(i int) string {
		if i >= 0 && i < len(m.Params) {
			return m.Params[i]
		}
		return ""
	}
	if n.batchLine(m) {
		return // BATCH, or a line its batch takes (batch.go)
	}
	if n.onHistoryRefused(m) || n.onListLine(m) {
		return
	}
	nick := m.Nick()
	self := n.fold(nick) == n.fold(n.conn.Nick())
	switch m.Command {
	case "PRIVMSG", "NOTICE":
		n.onMessage(m, nick, p(0), p(1), self)
	case "TAGMSG":
		n.onTagMsg(m, nick, p(0), self)
	case "MARKREAD":
		n.onMarkRead(p(0), p(1))
	case "JOIN":
		n.onJoin(m, nick, p(0), self)
	case "353": // RPL_NAMREPLY: me symbol channel :names
		if ch := n.channel(n.fold(p(2))); ch != nil {
			ch.members.SetEach(func(yield func(string, string) bool) {
				for _, name := range strings.Fields(p(3)) {
					if modes, member := n.namesEntry(name); member != "" && !yield(member, modes) {
						return
					}
				}
			})
		}
	case "352", "354": // RPL_WHOREPLY, RPL_WHOSPCRPL
		n.onWho(m.Command, m.Params)
	case "315": // RPL_ENDOFWHO
		n.onWhoEnd(p(1))
	case "366": // RPL_ENDOFNAMES
		n.onNamesEnd(p(1))
	case "332": // RPL_TOPIC
		if ch := n.channel(n.fold(p(1))); ch != nil {
			ch.topic = irctext.ToXMPP(p(2))
		}
	case "333": // RPL_TOPICWHOTIME
		if ch := n.channel(n.fold(p(1))); ch != nil {
			ch.topicBy, _, _ = strings.Cut(p(2), "!")
		}
	case "TOPIC":
		if ch := n.channel(n.fold(p(0))); ch != nil {
			ch.topic, ch.topicBy = irctext.ToXMPP(p(1)), nick
			local, topic := ch.local, ch.topic
			n.room(func(re bridges.RoomEvents) { re.RoomSubject(local, nick, topic) })
		}
	case "PART":
		n.onLeave(p(0), nick, bridges.Parted, "", p(1), self)
	case "KICK":
		victim := p(1)
		n.onLeave(p(0), victim, bridges.Kicked, nick, p(2), n.fold(victim) == n.fold(n.conn.Nick()))
	case "QUIT":
		for _, ch := range n.channels.All() {
			if ch.members.Has(nick) && ch.joined {
				n.onLeave(ch.name, nick, bridges.Quit, "", p(0), false)
			}
		}
		n.awayGone(nick, "")
		n.profileGone(nick, "")
	case "NICK":
		n.awayGone(nick, p(0))
		n.profileGone(nick, p(0))
		n.onNick(nick, p(0), self)
		n.profileUnlessShared(p(0)) // the member table is by exact nick: a case change may miss it
	case "AWAY":
		n.onAway(nick, p(0))
	case "ACCOUNT":
		n.onAccount(nick, p(0))
	case "SETNAME":
		n.onSetname(nick, p(0))
	case "CHGHOST": // nothing shown changes (members.go)
	case "FAIL", "WARN", "NOTE":
		n.onStandardReply(m)
	case "MODE":
		n.onMode(p(0), m.Params[min(1, len(m.Params)):])
	case "INVITE":
		n.onInvite(m, nick, p(0), p(1))
	case "403", "477": // refuse a join or a message
		if !n.joining(p(1)) && n.onRefused(m.Command, p(1), p(len(m.Params)-1)) {
			break
		}
		n.onJoinError(m.Command, p(1), p(len(m.Params)-1))
	case "471", "473", "474", "475", "405", "437", "476":
		n.onJoinError(m.Command, p(1), p(len(m.Params)-1))
	case "401", "404", "407", "486", "492", "531", "716": // refuse a message
		if !n.onRefused(m.Command, p(1), p(len(m.Params)-1)) {
			n.emitNotice(strings.Join(m.Params[min(1, len(m.Params)):], ": "))
		}
	case "433", "436": // nick in use, nick collision
		n.onNickError(bridges.Conflict, p(1), p(len(m.Params)-1))
	case "432", "438": // erroneous nick, nick change too fast
		n.onNickError(bridges.NotAcceptable, p(1), p(len(m.Params)-1))
	case "375", "372":
		n.motd = append(n.motd, irctext.ToXMPP(p(1)))
	case "376", "422":
		if len(n.motd) > 0 {
			n.emitNotice(strings.Join(n.motd, "\n"))
			n.motd = nil
		}
	case "442", "482", "481":
		n.emitNotice(strings.Join(m.Params[min(1, len(m.Params)):], ": "))
	default:
		if len(m.Command) == 3 && m.Command[0] >= '4' && m.Command[0] <= '5' {
			n.emitNotice(strings.Join(m.Params[min(1, len(m.Params)):], " "))
		} else {
			n.answerLine(m)
		}
	}
}

// prefixes is the server's ISUPPORT PREFIX as rank modes and symbols.
func (n *network) prefixes() prefixMap {
	return prefixMap{modes: n.is.PrefixModes, symbols: n.is.Prefixes}
}

func (n *network) split(name string) (modes, nick string) {
	return n.prefixes().split(name)
}

func (n *network) occupant(nick, modes string) bridges.Occupant {
	aff, role := n.prefixes().rank(modes)
	return bridges.Occupant{Nick: nick, Role: role, Affiliation: aff, Peer: n.local(ircaddr.User, nick), Away: n.away[n.fold(nick)], About: n.about(nick)}
}

func (n *network) onMessage(m ircmsg.Message, nick, target, text string, self bool) {
	if nick == "" || strings.ContainsAny(nick, ".") && !strings.Contains(m.Source, "!") {
		// From the server itself: notices, not a person.
		n.emitNotice(irctext.ToXMPP(text))
		return
	}
	n.accountTag(m, nick)
	if self && n.echoing() && n.onEcho(m, target, text) {
		return
	}
	msg := bridges.Message{Body: text, Time: serverTime(m)}
	if cmd, args, ok := irctext.CTCP(text); ok {
		switch {
		case cmd == "ACTION":
			msg.Body, msg.Action = args, true
		case m.Command == "PRIVMSG" && cmd == "VERSION":
			n.queue("NOTICE", nick, "\x01VERSION Ferry XMPP gateway\x01")
			return
		case m.Command == "PRIVMSG" && cmd == "PING":
			n.queue("NOTICE", nick, "\x01PING "+args+"\x01")
			return
		case m.Command == "NOTICE" && n.deliverCTCP(nick, cmd, args):
			return
		default:
			return // other CTCP requests and replies are not chat
		}
	}
	msg.Body = irctext.ToXMPP(msg.Body)
	msg.ID, msg.ReplyTo = messageID(n.server, m), replyID(n.server, m)
	if n.isChannel(target) {
		if ch := n.channel(n.fold(target)); ch != nil && ch.joined {
			n.channelMessage(ch, nick, msg, m)
		}
		return
	}
	msg.Peer = n.local(ircaddr.User, nick)
	n.notePrivate(nick, msg.ID, msg.Time)
	n.emit(func() {
		ctx, cancel := context.WithTimeout(n.s.ctx, 30*time.Second)
		defer cancel()
		_ = n.s.sink.Receive(ctx, msg)
	})
}

func (n *network) onJoin(m ircmsg.Message, nick, name string, self bool) {
	folded := n.fold(name)
	ch := n.channel(folded)
	if self {
		if ch == nil {
			// Joined by the server (SAJOIN) or from another client: track it.
			ch = &channel{name: name, local: n.local(ircaddr.Channel, name)}
			n.channels.Set(folded, ch)
		}
		ch.name = name
		return
	}
	if ch == nil || !ch.joined {
		return
	}
	ch.members.Set(nick, "")
	if len(m.Params) == 3 && n.hasCap("extended-join") { // JOIN channel account :real name
		n.setProfile(nick, cleanAccount(m.Params[1]), cleanReal(nick, m.Params[2]))
	}
	local, o := ch.local, n.occupant(nick, "")
	n.room(func(re bridges.RoomEvents) { re.OccupantPresence(local, o) })
}

func (n *network) onNamesEnd(name string) {
	ch := n.channel(n.fold(name))
	if ch == nil || ch.joined {
		return
	}
	ch.joined = true
	n.reportJoined(ch)
	n.startCatchUp(ch)
	n.whoOnJoin(ch)
}

// reportJoined reports a joined channel's state to the core.
func (n *network) reportJoined(ch *channel) {
	me := n.conn.Nick()
	var occupants []bridges.Occupant
	var self bridges.Occupant
	for nick, modes := range ch.members.All() {
		o := n.occupant(nick, modes)
		if n.fold(nick) == n.fold(me) {
			self = o
			continue
		}
		occupants = append(occupants, o)
	}
	if self.Nick == "" {
		self = n.occupant(me, "")
	}
	local, topic, by := ch.local, ch.topic, ch.topicBy
	n.room(func(re bridges.RoomEvents) { re.RoomJoined(local, self, occupants, topic, by) })
}

func (n *network) onLeave(name, nick string, kind bridges.LeaveKind, actor, reason string, self bool) {
	folded := n.fold(name)
	ch := n.channel(folded)
	if ch == nil {
		return
	}
	if self {
		n.dropChannel(folded)
		n.wanted.Delete(folded)
		if ch.joined {
			local := ch.local
			n.room(func(re bridges.RoomEvents) { re.OccupantLeft(local, nick, kind, actor, reason, true) })
		}
		return
	}
	ch.members.Delete(nick)
	n.awayUnlessShared(nick)
	n.profileUnlessShared(nick)
	local := ch.local
	n.room(func(re bridges.RoomEvents) { re.OccupantLeft(local, nick, kind, actor, reason, false) })
}

func (n *network) onNick(old, nick string, self bool) {
	for _, ch := range n.channels.All() {
		modes, in := ch.members.Get(old)
		if !in || !ch.joined {
			continue
		}
		ch.members.Delete(old)
		ch.members.Set(nick, modes)
		local := ch.local
		n.room(func(re bridges.RoomEvents) { re.NickChanged(local, old, nick, self) })
	}
	if self {
		n.status(bridges.Connected, "Connected to "+n.server+" as "+nick)
	}
}

// onMode maps rank changes (+o, -v, …) to occupant presences.
func (n *network) onMode(target string, args []string) {
	ch := n.channel(n.fold(target))
	if ch == nil || len(args) == 0 || !ch.joined {
		return
	}
	pm := n.prefixes()
	adding, next := true, 1
	for i := 0; i < len(args[0]); i++ {
		c := args[0][i]
		switch {
		case c == '+':
			adding = true
		case c == '-':
			adding = false
		case pm.isRankMode(c):
			if next >= len(args) {
				return
			}
			nick := args[next]
			next++
			modes, in := ch.members.Get(nick)
			if !in {
				continue
			}
			if adding && !strings.ContainsRune(modes, rune(c)) {
				modes += string(c)
			} else if !adding {
				modes = strings.ReplaceAll(modes, string(c), "")
			}
			ch.members.Set(nick, modes)
			local, o := ch.local, n.occupant(nick, modes)
			n.room(func(re bridges.RoomEvents) { re.OccupantPresence(local, o) })
		case strings.ContainsRune("beIkl", rune(c)):
			// Modes that take an argument (list modes; k always; l when set).
			if c != 'l' || adding {
				next++
			}
		}
	}
}

// joinErrors maps IRC join refusals to stanza conditions.
var joinErrors = map[string]bridges.Condition{
	"471": bridges.ServiceUnavailable, // channel full
	"473": "registration-required",    // invite only
	"474": bridges.Forbidden,          // banned
	"475": bridges.NotAuthorized,      // bad key
	"403": bridges.ItemNotFound,       // no such channel
	"405": bridges.PolicyViolation,    // too many channels
	"477": "registration-required",    // needs a registered nick
	"437": "resource-constraint",      // temporarily unavailable
	"476": bridges.JIDMalformed,       // bad channel mask
}

// joining reports a join of name that has not completed.
func (n *network) joining(name string) bool {
	ch := n.channel(n.fold(name))
	return ch != nil && !ch.joined
}

func (n *network) onJoinError(code, name, text string) {
	folded := n.fold(name)
	ch := n.channel(folded)
	if ch == nil || ch.joined {
		n.emitNotice(name + ": " + text)
		return
	}
	n.joinFailed(name, joinErrors[code], text)
}

// joinFailed forgets a channel being joined and tells the user why.
func (n *network) joinFailed(name string, cond bridges.Condition, text string) {
	folded := n.fold(name)
	local := n.channel(folded).local
	n.channels.Delete(folded)
	n.wanted.Delete(folded)
	n.room(func(re bridges.RoomEvents) { re.RoomJoinFailed(local, cond, text) })
}

// onNickError reports a refused nick change: the resources in this
// server's rooms get a presence error (conflict, as biboumi sends 409).
func (n *network) onNickError(cond bridges.Condition, nick, text string) {
	n.emitNotice("Nick " + nick + ": " + text)
	for _, ch := range n.channels.All() {
		if ch.joined {
			local := ch.local
			n.room(func(re bridges.RoomEvents) { re.RoomJoinFailed(local, cond, "Nick "+nick+": "+text) })
		}
	}
}

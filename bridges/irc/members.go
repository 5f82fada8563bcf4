package irc

import (
	"strings"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircaddr"
)

// Member list capabilities:
//   - userhost-in-names: NAMES entries are nick!user@host; the member
//     table keeps the nick (Ferry shows no hosts).
//   - chghost: a member's user or host changed. Without the capability
//     servers show it as the member quitting and joining again, which
//     XMPP users would see as a leave and a join; with it, nothing they
//     see changes, so the line is read and nothing is sent.
//   - invite-notify: invitations of others to a channel the user is in
//     are a notice in the room (their own stay XEP-0045 invitations).

// namesEntry reads one NAMES entry: its rank modes and the nick ("" when
// the entry has none).
func (n *network) namesEntry(entry string) (modes, nick string) {
	modes, nick = n.split(entry)
	nick, _, _ = strings.Cut(nick, "!")
	return modes, nick
}

// onInvite handles INVITE invitee channel, from inviter.
func (n *network) onInvite(m ircmsg.Message, inviter, invitee, chName string) {
	if n.fold(invitee) == n.fold(n.conn.Nick()) {
		room, from := n.local(ircaddr.Channel, chName), n.local(ircaddr.User, inviter)
		n.room(func(re bridges.RoomEvents) { re.RoomInvite(room, from, "") })
		return
	}
	ch := n.channel(n.fold(chName))
	if ch == nil || !ch.joined || inviter == "" || invitee == "" {
		return
	}
	local := ch.local
	msg := bridges.Message{Body: inviter + " invited " + invitee + " to " + ch.name, Time: serverTime(m)}
	n.room(func(re bridges.RoomEvents) { re.RoomMessage(local, "", msg) })
}

// dropChannel forgets a channel the user left, and what was known only
// of its members (away texts, accounts).
func (n *network) dropChannel(folded string) {
	ch := n.channel(folded)
	n.channels.Delete(folded)
	if ch == nil {
		return
	}
	for nick := range ch.members.All() {
		n.awayUnlessShared(nick)
		n.profileUnlessShared(nick)
	}
}

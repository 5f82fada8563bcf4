package irc

import (
	"strings"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/irctext"
)

// Who a member is beyond their nick: their services account (IRCv3
// account-notify, account-tag, extended-join, WHOX) and real name
// (extended-join, setname, WHO).
//
// Where XMPP users see it: the occupant presence's status text
// (bridges.Occupant.About), e.g. "Bob Smith · account bob". XEP-0045 has
// no field for a network account: the item's jid is a real JID of the
// occupant, and an IRC account is not one (a made-up JID there would be
// believed, and leak into bookmarks and rosters). XEP-0317 hats are for
// roles in the room and few clients show them; a vCard would cost a query
// per occupant and clients fetch it rarely. Every client shows the status
// text beside the nick, and it changes with one presence.
//
// Cost: one string per member known to have an account or a real name
// worth showing (account + "\x00" + real name), by casefolded nick, kept
// only while they share a channel with the user; the map exists only
// while one does.

// noAccount is how servers say "not logged in": "*" (extended-join,
// account-notify) and "0" (WHOX).
func noAccount(account string) bool { return account == "" || account == "*" || account == "0" }

// maxProfilePart bounds an account or real name kept for display: a line is
// 512 bytes, but a hostile server's tags may be longer.
const maxProfilePart = 200

// profileOf returns what is known of nick.
func (n *network) profileOf(nick string) (account, real string) {
	if n.profiles == nil {
		return "", "" // the common case costs no casefolding
	}
	account, real, _ = strings.Cut(n.profiles[n.fold(nick)], "\x00")
	return account, real
}

// about is the text shown for nick beside their nick: real name, account.
func (n *network) about(nick string) string {
	account, real := n.profileOf(nick)
	switch {
	case account == "":
		return real
	case real == "":
		return "account " + account
	}
	return real + " · account " + account
}

// cleanAccount is a server's account name as kept: "" when none.
func cleanAccount(account string) string {
	if noAccount(account) {
		return ""
	}
	return irctext.Truncate(strings.ReplaceAll(account, "\x00", ""), maxProfilePart)
}

// cleanReal is a real name as shown: "" when it says nothing the nick
// does not (clients that fill it with the nick).
func cleanReal(nick, real string) string {
	real = irctext.Truncate(strings.TrimSpace(irctext.ToXMPP(strings.ReplaceAll(real, "\x00", ""))), maxProfilePart)
	if strings.EqualFold(real, nick) {
		return ""
	}
	return real
}

// setProfile records nick's account and real name (both cleaned); it
// reports a change. Someone who shares no joined channel with the user is
// not remembered: nothing would tell us when to forget them.
func (n *network) setProfile(nick, account, real string) bool {
	folded := n.fold(nick)
	old, known := n.profiles[folded]
	if account == "" && real == "" {
		if known {
			delete(n.profiles, folded)
			if len(n.profiles) == 0 {
				n.profiles = nil
			}
		}
		return known
	}
	packed := account + "\x00" + real
	if known && old == packed || !n.shared(nick) {
		return false
	}
	if n.profiles == nil {
		n.profiles = map[string]string{}
	}
	n.profiles[folded] = packed
	return true
}

// shared reports whether nick is in a channel the user has joined.
func (n *network) shared(nick string) bool {
	for _, ch := range n.channels.All() {
		if ch.members.Has(nick) && ch.joined {
			return true
		}
	}
	return false
}

// showEverywhere sends nick's current occupant presence to every joined
// room they are in.
func (n *network) showEverywhere(nick string) {
	for _, ch := range n.channels.All() {
		modes, in := ch.members.Get(nick)
		if !in || !ch.joined {
			continue
		}
		local, o := ch.local, n.occupant(nick, modes)
		n.room(func(re bridges.RoomEvents) { re.OccupantPresence(local, o) })
	}
}

// onAccount handles account-notify: ACCOUNT name, or ACCOUNT * when they
// logged out.
func (n *network) onAccount(nick, account string) {
	_, real := n.profileOf(nick)
	if n.setProfile(nick, cleanAccount(account), real) {
		n.showEverywhere(nick)
	}
}

// onSetname handles setname: SETNAME :new real name.
func (n *network) onSetname(nick, real string) {
	account, _ := n.profileOf(nick)
	if n.setProfile(nick, account, cleanReal(nick, real)) {
		n.showEverywhere(nick)
	}
}

// accountTag reads account-tag on a message from a member: a change the
// server did not announce otherwise (no account-notify) is shown.
func (n *network) accountTag(m ircmsg.Message, nick string) {
	tagged, account := m.GetTag("account")
	if !tagged && (n.profiles == nil || !n.hasCap("account-tag")) {
		return // on the busiest path: nothing to look up
	}
	account = cleanAccount(account)
	if have, real := n.profileOf(nick); account != have && n.setProfile(nick, account, real) {
		n.showEverywhere(nick)
	}
}

// profileUnlessShared forgets a nick who left the last channel we share.
func (n *network) profileUnlessShared(nick string) {
	if _, ok := n.profiles[n.fold(nick)]; ok && !n.inAnyChannel(nick) {
		n.profileGone(nick, "")
	}
}

// inAnyChannel reports whether nick is a member of a channel we track.
func (n *network) inAnyChannel(nick string) bool {
	for _, ch := range n.channels.All() {
		if ch.members.Has(nick) {
			return true
		}
	}
	return false
}

// profileGone forgets a nick that quit, and moves one that changed.
func (n *network) profileGone(nick, newNick string) {
	n.profiles = n.moveNick(n.profiles, nick, newNick)
}

// hasCap reports whether the live connection acknowledged a capability.
func (n *network) hasCap(name string) bool { return n.conn != nil && n.conn.HasCap(name) }

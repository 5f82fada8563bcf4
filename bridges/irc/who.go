package irc

import "strings"

// Members already away, and the accounts and real names of those present,
// when the user joins: NAMES tells neither, so one WHO of the channel
// follows the join (WHOX, where the server offers it, also gives
// accounts). One query per join, never one per member; its replies count
// only for that channel's members and only until its end (315). It is
// asked only where away-notify or account-notify keep the answer true
// afterwards: on a server without them it would go stale at once.

// whoToken marks the replies to our own WHOX queries (a user's raw WHO
// gets other fields and must not be read as ours).
const whoToken = "917"

// whoFields are the WHOX fields asked: token, channel, nick, flags,
// account, real name (replies list them in that order).
const whoFields = "%tcnfar," + whoToken

// awayUnknown is the away text of someone WHO shows away (flag G): WHO
// does not say why, and away-notify only tells changes.
const awayUnknown = "away"

// whoOnJoin asks who is in a channel just joined. The query goes with the
// network's own replies: dropped, not waited for, when the send queue is
// full (the members are then shown as NAMES left them).
func (n *network) whoOnJoin(ch *channel) {
	if !n.hasCap("away-notify") && !n.hasCap("account-notify") {
		return
	}
	ch.whoPending = true
	if _, ok := n.is.Get("WHOX"); ok {
		n.queue("WHO", ch.name, whoFields)
	} else {
		n.queue("WHO", ch.name)
	}
}

// onWho reads one WHO reply: 352 (me channel user host server nick flags
// :hops realname) or 354 for our WHOX (me token channel nick flags
// account realname).
func (n *network) onWho(command string, params []string) {
	var chName, nick, flags, account, real string
	withAccount := false
	switch {
	case command == "352" && len(params) == 8:
		chName, nick, flags = params[1], params[5], params[6]
		if _, r, ok := strings.Cut(params[7], " "); ok {
			real = r
		}
	case command == "354" && len(params) == 7 && params[1] == whoToken:
		chName, nick, flags, account, real = params[2], params[3], params[4], params[5], params[6]
		withAccount = true
	default:
		return
	}
	ch := n.channel(n.fold(chName))
	if ch == nil || !ch.whoPending || !ch.joined || n.fold(nick) == n.fold(n.conn.Nick()) {
		return
	}
	if !ch.members.Has(nick) {
		return
	}
	changed := false
	switch {
	case strings.HasPrefix(flags, "G") && n.away[n.fold(nick)] == "":
		changed = n.setAway(nick, awayUnknown)
	case strings.HasPrefix(flags, "H"):
		changed = n.setAway(nick, "")
	}
	known, _ := n.profileOf(nick)
	if withAccount {
		known = cleanAccount(account)
	}
	if n.setProfile(nick, known, cleanReal(nick, real)) {
		changed = true
	}
	if changed {
		n.showEverywhere(nick)
	}
}

// onWhoEnd closes a channel's WHO: later replies are a user's own query.
func (n *network) onWhoEnd(mask string) {
	if ch := n.channel(n.fold(mask)); ch != nil {
		ch.whoPending = false
	}
}

package irc

import "github.com/ferry-xmpp/ferry/bridges"

// IRCv3 away-notify: the server tells us when someone in a channel we
// share goes away or comes back (AWAY :text, AWAY). They are shown away,
// with their text, in every room where both are. Only those away are
// remembered, by casefolded nick; the map exists only while one is.
// (Members already away when we join are shown present: finding them
// needs a WHO per channel.)

// onAway records nick's away text ("" is back) and updates their
// occupant presence in the rooms they are in.
func (n *network) onAway(nick, text string) {
	folded := n.fold(nick)
	if n.away[folded] == text {
		return
	}
	if text == "" {
		delete(n.away, folded)
		if len(n.away) == 0 {
			n.away = nil
		}
	} else {
		if n.away == nil {
			n.away = map[string]string{}
		}
		n.away[folded] = text
	}
	for _, ch := range n.channels {
		modes, in := ch.members[nick]
		if !in || !ch.joined {
			continue
		}
		local, o := ch.local, n.occupant(nick, modes)
		n.room(func(re bridges.RoomEvents) { re.OccupantPresence(local, o) })
	}
}

// awayUnlessShared forgets the away text of a nick who left the last
// channel we share: the server no longer tells us about them.
func (n *network) awayUnlessShared(nick string) {
	if _, ok := n.away[n.fold(nick)]; !ok {
		return
	}
	for _, ch := range n.channels {
		if _, in := ch.members[nick]; in {
			return
		}
	}
	n.awayGone(nick, "")
}

// awayGone forgets a nick that quit, and moves one that changed.
func (n *network) awayGone(nick, newNick string) {
	folded := n.fold(nick)
	text, ok := n.away[folded]
	if !ok {
		return
	}
	delete(n.away, folded)
	if newNick != "" {
		n.away[n.fold(newNick)] = text
	} else if len(n.away) == 0 {
		n.away = nil
	}
}

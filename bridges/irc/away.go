package irc

// IRCv3 away-notify: the server tells us when someone in a channel we
// share goes away or comes back (AWAY :text, AWAY). They are shown away,
// with their text, in every room where both are. Only those away are
// remembered, by casefolded nick; the map exists only while one is.
// Members already away when we join are found by one WHO (who.go).

// onAway records nick's away text ("" is back) and updates their
// occupant presence in the rooms they are in.
func (n *network) onAway(nick, text string) {
	if n.setAway(nick, text) {
		n.showEverywhere(nick)
	}
}

// setAway records nick's away text ("" is back); it reports a change.
func (n *network) setAway(nick, text string) bool {
	folded := n.fold(nick)
	if n.away[folded] == text {
		return false
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
	return true
}

// awayUnlessShared forgets the away text of a nick who left the last
// channel we share: the server no longer tells us about them.
func (n *network) awayUnlessShared(nick string) {
	if _, ok := n.away[n.fold(nick)]; !ok {
		return
	}
	for _, ch := range n.channels.All() {
		if ch.members.Has(nick) {
			return
		}
	}
	n.awayGone(nick, "")
}

// awayGone forgets a nick that quit, and moves one that changed.
func (n *network) awayGone(nick, newNick string) {
	n.away = n.moveNick(n.away, nick, newNick)
}

// moveNick updates a table kept by casefolded nick: nick's entry is
// forgotten (newNick "", a quit) or moved to newNick (a nick change); a
// table left empty becomes nil, so a quiet network holds none.
func (n *network) moveNick(m map[string]string, nick, newNick string) map[string]string {
	folded := n.fold(nick)
	v, ok := m[folded]
	if !ok {
		return m
	}
	delete(m, folded)
	if newNick != "" {
		m[n.fold(newNick)] = v
	} else if len(m) == 0 {
		return nil
	}
	return m
}

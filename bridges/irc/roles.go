package irc

import "strings"

// rankOf maps IRC channel modes to XEP-0045 affiliation and role, as
// biboumi does: q owner, a and o admin, h member (moderator), v member.
var ranks = map[byte][2]string{
	'q': {"owner", "moderator"},
	'a': {"admin", "moderator"},
	'o': {"admin", "moderator"},
	'h': {"member", "moderator"},
	'v': {"member", "participant"},
}

// prefixMap is ISUPPORT PREFIX: modes in rank order and their symbols.
type prefixMap struct {
	modes, symbols string
}

// split separates NAMES prefixes ("@+nick", with multi-prefix) from a nick.
func (p prefixMap) split(name string) (modes string, nick string) {
	i := 0
	for i < len(name) && strings.IndexByte(p.symbols, name[i]) >= 0 {
		modes += string(p.modes[strings.IndexByte(p.symbols, name[i])])
		i++
	}
	return modes, name[i:]
}

// isRankMode reports whether a channel mode letter is a member rank.
func (p prefixMap) isRankMode(m byte) bool { return strings.IndexByte(p.modes, m) >= 0 }

// rank gives the affiliation and role for a set of mode letters: the
// highest-ranked mode wins.
func (p prefixMap) rank(modes string) (affiliation, role string) {
	best := -1
	for i := 0; i < len(modes); i++ {
		idx := strings.IndexByte(p.modes, modes[i])
		if idx >= 0 && (best < 0 || idx < best) {
			best = idx
		}
	}
	if best < 0 {
		return "none", "participant"
	}
	r, ok := ranks[p.modes[best]]
	if !ok {
		return "member", "participant"
	}
	return r[0], r[1]
}

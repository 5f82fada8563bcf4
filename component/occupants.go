package component

import (
	"slices"
	"strings"

	"github.com/ferry-xmpp/ferry/bridges"
)

// occupantList is the others in a room as the user's actor knows them,
// sorted by nick. Every user keeps one per joined room, so its size is
// paid once per puppeted connection: ten occupants take 960 bytes here
// and 1.8 kB in a map (whose slots also hold a copy of each key), and the
// replay of a join comes out in order without sorting.
type occupantList []bridges.Occupant

// newOccupantList keeps occupants but the one called self; of a nick
// listed twice, the last wins.
func newOccupantList(occupants []bridges.Occupant, self string) occupantList {
	l := make(occupantList, 0, len(occupants))
	for _, o := range occupants {
		if o.Nick != self {
			l = append(l, o)
		}
	}
	slices.SortStableFunc(l, func(a, b bridges.Occupant) int { return strings.Compare(a.Nick, b.Nick) })
	out := l[:0]
	for i, o := range l {
		if i+1 < len(l) && l[i+1].Nick == o.Nick {
			continue // a later entry for the same nick follows
		}
		out = append(out, o)
	}
	clear(l[len(out):])
	return out
}

// find returns where nick is, or would be inserted.
func (l occupantList) find(nick string) (int, bool) {
	return slices.BinarySearchFunc(l, nick, func(o bridges.Occupant, n string) int { return strings.Compare(o.Nick, n) })
}

// get returns the occupant called nick.
func (l occupantList) get(nick string) (bridges.Occupant, bool) {
	if i, ok := l.find(nick); ok {
		return l[i], true
	}
	return bridges.Occupant{}, false
}

// set adds o or replaces the occupant of the same nick.
func (l *occupantList) set(o bridges.Occupant) {
	i, ok := l.find(o.Nick)
	if ok {
		(*l)[i] = o
		return
	}
	*l = slices.Insert(*l, i, o)
}

// remove forgets the occupant called nick, if any.
func (l *occupantList) remove(nick string) {
	if i, ok := l.find(nick); ok {
		*l = slices.Delete(*l, i, i+1)
	}
}

package component

import (
	"slices"
	"testing"

	"github.com/ferry-xmpp/ferry/bridges"
)

func nicksOf(l occupantList) []string {
	var out []string
	for _, o := range l {
		out = append(out, o.Nick+":"+o.Role)
	}
	return out
}

func TestOccupantList(t *testing.T) {
	occ := func(nick, role string) bridges.Occupant { return bridges.Occupant{Nick: nick, Role: role} }
	tests := []struct {
		name string
		join []bridges.Occupant
		self string
		ops  func(l *occupantList)
		want []string
	}{
		{name: "sorted, without self", self: "me",
			join: []bridges.Occupant{occ("zed", "participant"), occ("me", "participant"), occ("ann", "moderator")},
			want: []string{"ann:moderator", "zed:participant"}},
		{name: "a nick listed twice: the last wins",
			join: []bridges.Occupant{occ("bob", "participant"), occ("ann", "participant"), occ("bob", "moderator")},
			want: []string{"ann:participant", "bob:moderator"}},
		{name: "set inserts in order and replaces",
			join: []bridges.Occupant{occ("bob", "participant")},
			ops: func(l *occupantList) {
				l.set(occ("carl", "participant"))
				l.set(occ("ann", "participant"))
				l.set(occ("bob", "moderator"))
			},
			want: []string{"ann:participant", "bob:moderator", "carl:participant"}},
		{name: "remove, and removing a stranger changes nothing",
			join: []bridges.Occupant{occ("ann", "participant"), occ("bob", "participant")},
			ops: func(l *occupantList) {
				l.remove("ann")
				l.remove("nobody")
			},
			want: []string{"bob:participant"}},
		{name: "an empty list takes sets", ops: func(l *occupantList) {
			l.set(occ("b", "visitor"))
			l.set(occ("a", "visitor"))
		}, want: []string{"a:visitor", "b:visitor"}},
		{name: "nicks compare by bytes, as the network sent them",
			join: []bridges.Occupant{occ("b", "x"), occ("B", "x"), occ("a", "x")},
			want: []string{"B:x", "a:x", "b:x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newOccupantList(tt.join, tt.self)
			if tt.ops != nil {
				tt.ops(&l)
			}
			if got := nicksOf(l); !slices.Equal(got, tt.want) {
				t.Fatalf("occupants %v, want %v", got, tt.want)
			}
			for _, o := range l {
				if got, ok := l.get(o.Nick); !ok || got != o {
					t.Fatalf("get(%q) = %v, %v", o.Nick, got, ok)
				}
			}
			if _, ok := l.get("nobody"); ok {
				t.Fatal("get found an occupant who is not there")
			}
		})
	}
}

package irc

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestMemberListCaps: userhost-in-names fills the member table with
// nicks, chghost changes nothing anyone sees, invite-notify is a room
// notice (the user's own invitation stays an invitation).
func TestMemberListCaps(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lines   []string
		want    []string
		members map[string]string
	}{
		{"userhost-in-names", []string{":srv 353 alice = #c :@bob!b@h.example +carol!c@h alice!a@h"}, nil,
			map[string]string{"bob": "o", "carol": "v", "alice": "", "dave": ""}},
		{"hostile: empty entries", []string{":srv 353 alice = #c :@ !b@h @!x +"}, nil, map[string]string{"dave": ""}},
		{"chghost", []string{":dave!d@h CHGHOST dave new.host"}, nil, map[string]string{"dave": ""}},
		{"invite-notify", []string{":dave!d@h INVITE erin #c", ":dave!d@h INVITE erin #elsewhere", ":dave!d@h INVITE alice #new"},
			[]string{`room #c%irc.test <> "dave invited erin to #c" id= time=- echo= origin=`}, map[string]string{"dave": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, _, rec := testNetwork(t, memberCaps...)
			n.channels.Set(n.fold("#c"), &channel{name: "#c", local: "#c%irc.test", joined: true, members: memberList(map[string]string{"dave": ""})})
			for _, l := range tc.lines {
				n.serverSays(t, l)
			}
			if got := rec.take(); !slices.Equal(got, tc.want) {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if got := maps.Collect(n.channel("#c").members.All()); !maps.Equal(got, tc.members) {
				t.Errorf("members %q, want %q", got, tc.members)
			}
		})
	}
}

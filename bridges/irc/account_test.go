package irc

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// memberCaps are the capabilities the member tests' fake server offers.
var memberCaps = []string{"account-notify", "account-tag", "extended-join", "setname", "away-notify", "chghost",
	"userhost-in-names", "invite-notify", "message-tags"}

// TestMemberIdentity: accounts and real names reach the occupant's
// status text through every way a server tells them, and nothing a
// server sends about strangers or in garbage is kept or shown.
func TestMemberIdentity(t *testing.T) {
	long := strings.Repeat("x", 400)
	for _, tc := range []struct {
		name  string
		lines []string
		want  []string
		kept  map[string]string // profiles afterwards (nil: none)
	}{
		{"extended-join with an account", []string{":carol!c@h JOIN #c carol :Carol C"},
			[]string{`occupant #c%irc.test carol none/participant away="" about="Carol C · account carol"`},
			map[string]string{"carol": "carol\x00Carol C"}},
		{"extended-join without an account, real name the nick", []string{":dave!d@h JOIN #c * :Dave"},
			[]string{`occupant #c%irc.test dave none/participant away=""`}, nil},
		{"account-notify in and out", []string{":bob!b@h ACCOUNT bobby", ":bob!b@h ACCOUNT bobby", ":bob!b@h ACCOUNT *"},
			[]string{`occupant #c%irc.test bob admin/moderator away="" about="account bobby"`,
				`occupant #c%irc.test bob admin/moderator away=""`}, nil},
		{"setname keeps the account", []string{":bob!b@h ACCOUNT bob", ":bob!b@h SETNAME :\x02Robert\x02 B"},
			[]string{`occupant #c%irc.test bob admin/moderator away="" about="account bob"`,
				`occupant #c%irc.test bob admin/moderator away="" about="*Robert* B · account bob"`},
			map[string]string{"bob": "bob\x00*Robert* B"}},
		{"account-tag on a message", []string{"@account=bob :bob!b@h PRIVMSG #c :hi", "@account=bob :bob!b@h PRIVMSG #c :again"},
			[]string{`occupant #c%irc.test bob admin/moderator away="" about="account bob"`,
				`room #c%irc.test <bob> "hi" id= time=- echo= origin=`, `room #c%irc.test <bob> "again" id= time=- echo= origin=`},
			map[string]string{"bob": "bob\x00"}},
		{"nick change carries it, quit forgets it", []string{":bob!b@h ACCOUNT bob", ":bob!b@h NICK rob", ":rob!b@h QUIT :bye"},
			[]string{`occupant #c%irc.test bob admin/moderator away="" about="account bob"`}, nil},
		{"hostile: strangers are not remembered", []string{":zed!z@h ACCOUNT zed", ":zed!z@h SETNAME :Zed", "@account=zed :zed!z@h PRIVMSG alice :hi"},
			[]string{`receive zed%irc.test "hi" id= time=-`}, nil},
		{"hostile: an endless account is cut", []string{":bob!b@h ACCOUNT " + long},
			[]string{`occupant #c%irc.test bob admin/moderator away="" about="account ` + long[:maxProfilePart] + `"`},
			map[string]string{"bob": long[:maxProfilePart] + "\x00"}},
		{"hostile: empty and missing parameters", []string{":bob!b@h ACCOUNT", ":bob!b@h SETNAME", ":x!x@h JOIN #c", "@account= :bob!b@h PRIVMSG #c :hi"},
			[]string{`occupant #c%irc.test x none/participant away=""`, `room #c%irc.test <bob> "hi" id= time=- echo= origin=`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, _, rec := testNetwork(t, memberCaps...)
			n.channels.Set(n.fold("#c"), &channel{name: "#c", local: "#c%irc.test", joined: true, members: memberList(map[string]string{"bob": "o", "alice": ""})})
			for _, l := range tc.lines {
				n.serverSays(t, l)
			}
			if got := rec.take(); !slices.Equal(got, tc.want) {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if !maps.Equal(n.profiles, tc.kept) {
				t.Errorf("kept %q, want %q", n.profiles, tc.kept)
			}
		})
	}
}

// TestLeavingForgetsIdentities: what is known of members goes when they
// and the user no longer share a channel.
func TestLeavingForgetsIdentities(t *testing.T) {
	n, _, _ := testNetwork(t, memberCaps...)
	n.channels.Set(n.fold("#c"), &channel{name: "#c", local: "#c%irc.test", joined: true, members: memberList(map[string]string{"bob": "", "carol": "", "alice": ""})})
	n.channels.Set(n.fold("#d"), &channel{name: "#d", local: "#d%irc.test", joined: true, members: memberList(map[string]string{"carol": "", "alice": ""})})
	for _, l := range []string{":bob!b@h ACCOUNT bob", ":carol!c@h ACCOUNT carol", ":bob!b@h AWAY :gone"} {
		n.serverSays(t, l)
	}
	n.serverSays(t, ":alice!a@h PART #c")
	if !maps.Equal(n.profiles, map[string]string{"carol": "carol\x00"}) || n.away != nil {
		t.Errorf("after leaving #c: idents %q, away %q", n.profiles, n.away)
	}
}

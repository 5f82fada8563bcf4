package irc

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/internal/smallmap"
)

// TestWhoOnJoin: one WHO follows a join where away-notify keeps its
// answer true (WHOX where offered), and its replies show who is away and
// logged in; replies to anything else change nothing.
func TestWhoOnJoin(t *testing.T) {
	for _, tc := range []struct {
		name  string
		caps  []string
		whox  bool
		query string // the WHO sent; "" none
		lines []string
		want  []string
	}{
		{"WHOX", memberCaps, true, "WHO #c " + whoFields, []string{
			":srv 354 alice 917 #c bob G bob :Bob B",
			":srv 354 alice 917 #c carol H 0 :carol",
			":srv 354 alice 917 #c alice H alice :me",
			":srv 315 alice #c :End of WHO",
		}, []string{`occupant #c%irc.test bob admin/moderator away="away" about="Bob B · account bob"`}},
		{"plain WHO", memberCaps, false, "WHO #c", []string{
			":srv 352 alice #c b h srv bob G@ :0 Bob B",
			":srv 352 alice #c c h srv carol H :0 carol",
			":srv 315 alice #c :End of WHO",
		}, []string{`occupant #c%irc.test bob admin/moderator away="away" about="Bob B"`}},
		{"no caps, no WHO", nil, true, "", []string{":srv 352 alice #c b h srv bob G :0 Bob"}, nil},
		{"hostile: strangers, other tokens, short lines, after the end", memberCaps, true, "WHO #c " + whoFields, []string{
			":srv 354 alice 917 #c zed G zed :Zed",
			":srv 354 alice 1 #c bob G bob :Bob",
			":srv 354 alice 917 #c bob",
			":srv 352 alice #c",
			":srv 354 alice 917 #nope bob G bob :Bob",
			":srv 315 alice #c :End of WHO",
			":srv 354 alice 917 #c bob G bob :Bob",
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var welcome []string
			if tc.whox {
				welcome = []string{":srv 005 alice WHOX :are supported"}
			}
			n, srv, rec := testNetworkSaying(t, welcome, tc.caps...)
			n.channels.Set(n.fold("#c"), &channel{name: "#c", local: "#c%irc.test", members: memberList(nil)})
			n.serverSays(t, ":srv 353 alice = #c :alice @bob carol")
			n.serverSays(t, ":srv 366 alice #c :End of NAMES")
			if tc.query != "" {
				if got := srv.readLine(); got != tc.query {
					t.Fatalf("sent %q, want %q", got, tc.query)
				}
			}
			for _, l := range tc.lines {
				n.serverSays(t, l)
			}
			if got := rec.take(); !slices.Equal(got, tc.want) {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if tc.query == "" {
				_ = n.conn.TrySend(ircmsg.MakeMessage(nil, "", "PING", "end"))
				if got := srv.readLine(); got != "PING end" {
					t.Errorf("sent %q without the caps", got)
				}
			}
		})
	}
}

// BenchmarkWhoOnJoin is the cost of the WHO that follows joining a
// channel of 2000 members, half of them away or logged in: per join, not
// per message.
func BenchmarkWhoOnJoin(b *testing.B) {
	n, srv, rec := testNetworkSaying(b, []string{":srv 005 alice WHOX :are supported"}, memberCaps...)
	go func() { _, _ = io.Copy(io.Discard, srv.conn) }()
	var lines []ircmsg.Message
	members := map[string]string{"alice": ""}
	for i := range 2000 {
		nick := fmt.Sprintf("user%d", i)
		members[nick] = ""
		flags, account := "H", "0"
		if i%2 == 0 {
			flags, account = "G", nick
		}
		m, _ := ircmsg.ParseLine(fmt.Sprintf(":srv 354 alice %s #c %s %s %s :Real Name %d", whoToken, nick, flags, account, i))
		lines = append(lines, m)
	}
	end, _ := ircmsg.ParseLine(":srv 315 alice #c :End of WHO")
	b.ReportAllocs()
	for b.Loop() {
		n.mu.Lock()
		n.profiles, n.away = nil, nil
		n.channels = smallmap.Map[*channel]{}
		n.channels.Set("#c", &channel{name: "#c", local: "#c%irc.test", joined: true, whoPending: true, members: memberList(members)})
		n.mu.Unlock()
		for _, m := range lines {
			n.handleLine(m)
		}
		n.handleLine(end)
		rec.take()
	}
}

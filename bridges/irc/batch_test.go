package irc

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBatches: a netsplit or netjoin is one notice per room at the end
// of its batch (the presences still change line by line); other batches
// pass through; what a hostile server opens and never closes is bounded.
func TestBatches(t *testing.T) {
	many := func(f func(i int) string, count int) []string {
		var lines []string
		for i := range count {
			lines = append(lines, f(i))
		}
		return lines
	}
	for _, tc := range []struct {
		name  string
		lines []string
		want  []string
		open  int // batches still open afterwards
	}{
		{"netsplit", []string{
			"BATCH +s netsplit hub.net leaf.net",
			"@batch=s :bob!b@h QUIT :hub.net leaf.net",
			"@batch=s :carol!c@h QUIT :hub.net leaf.net",
			"@batch=s :zed!z@h QUIT :hub.net leaf.net",
			"BATCH -s",
		}, []string{
			`room #c%irc.test <> "netsplit (hub.net leaf.net): 2 left: bob, carol" id= time=- echo= origin=`,
			`room #d%irc.test <> "netsplit (hub.net leaf.net): 1 left: bob" id= time=- echo= origin=`,
		}, 0},
		{"netjoin", []string{
			"BATCH +j netjoin hub.net leaf.net",
			"@batch=j :erin!e@h JOIN #c",
			"@batch=j :erin!e@h JOIN #elsewhere",
			"BATCH -j",
		}, []string{
			`occupant #c%irc.test erin none/participant away=""`,
			`room #c%irc.test <> "netjoin (hub.net leaf.net): 1 back: erin" id= time=- echo= origin=`,
		}, 0},
		{"other batches pass through", []string{
			"BATCH +h chathistory #c",
			"@batch=h;time=2026-01-02T03:04:05.000Z :bob!b@h PRIVMSG #c :earlier",
			"BATCH -h",
		}, []string{`room #c%irc.test <bob> "earlier" id= time=2026-01-02T03:04:05Z echo= origin=`}, 0},
		{"hostile: garbage", []string{"BATCH", "BATCH +", "BATCH -nope", "BATCH +x", "@batch=x :bob!b@h AWAY :hi"},
			[]string{`occupant #c%irc.test bob none/participant away="hi"`, `occupant #d%irc.test bob none/participant away="hi"`}, 0},
		{"hostile: too many open", append(many(func(i int) string { return fmt.Sprintf("BATCH +b%d netsplit x", i) }, maxOpenBatches+1),
			fmt.Sprintf("@batch=b%d :carol!c@h AWAY :here", maxOpenBatches)),
			[]string{`occupant #c%irc.test carol none/participant away="here"`}, maxOpenBatches},
		{"hostile: endless", append([]string{"BATCH +e netsplit x"},
			many(func(i int) string { return fmt.Sprintf("@batch=e :n%d!u@h QUIT :x", i) }, maxBatchLines)...),
			[]string{
				`room #c%irc.test <> "netsplit (x): ` + fmt.Sprint(maxBatchLines) + ` left: ` + strings.Join(many(func(i int) string { return fmt.Sprintf("n%d", i) }, maxNamesShown), ", ") +
					` and ` + fmt.Sprint(maxBatchLines-maxNamesShown) + ` more" id= time=- echo= origin=`,
			}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, _, rec := testNetwork(t, "batch", "away-notify", "server-time")
			c := &channel{name: "#c", local: "#c%irc.test", joined: true, members: memberList(map[string]string{"bob": "", "carol": "", "alice": ""})}
			for i := range maxBatchLines {
				c.members.Set(fmt.Sprintf("n%d", i), "")
			}
			n.channels.Set("#c", c)
			n.channels.Set("#d", &channel{name: "#d", local: "#d%irc.test", joined: true, members: memberList(map[string]string{"bob": "", "alice": ""})})
			for _, l := range tc.lines {
				n.serverSays(t, l)
			}
			// Each room's events in order; rooms come in no set order (a
			// member's away state is reported to each of its channels).
			if got := rec.take(); !maps.EqualFunc(byRoom(got), byRoom(tc.want), slices.Equal) {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if len(n.batches) != tc.open {
				t.Errorf("%d batches open, want %d", len(n.batches), tc.open)
			}
			n.dropBatches()
		})
	}
}

// TestBatchTimeout: a batch the server never ends is closed by its timer
// with what it saw; a timer that fires after the batch ended, or for a
// connection since replaced, does nothing.
func TestBatchTimeout(t *testing.T) {
	n, _, rec := testNetwork(t, "batch")
	n.channels.Set("#c", &channel{name: "#c", local: "#c%irc.test", joined: true, members: memberList(map[string]string{"bob": "", "alice": ""})})
	n.serverSays(t, "BATCH +s netsplit x")
	n.serverSays(t, "@batch=s :bob!b@h QUIT :x")
	b := n.batches["s"]
	n.batchExpired(nil, "s", b) // another connection's timer
	n.batchExpired(n.conn, "s", b)
	n.batchExpired(n.conn, "s", b) // already closed
	want := []string{`room #c%irc.test <> "netsplit (x): 1 left: bob" id= time=- echo= origin=`}
	if got := rec.take(); !slices.Equal(got, want) || n.batches != nil {
		t.Errorf("events:\n%s\nwant:\n%s\nopen: %v", strings.Join(got, "\n"), strings.Join(want, "\n"), n.batches)
	}
}

// byRoom groups recorded events by the room they name (their second
// field), keeping each room's order.
func byRoom(events []string) map[string][]string {
	m := map[string][]string{}
	for _, e := range events {
		f := strings.Fields(e)
		room := ""
		if len(f) > 1 {
			room = f[1]
		}
		m[room] = append(m[room], e)
	}
	return m
}

// TestBatchRules: the rules every batch follows, whatever its kind — the
// bound on open batches is shared, a batch the server never ends is cut
// by its timer, one past maxBatchLines is cut, an outer batch's end cuts
// the batches inside it, a lost connection ends them all — and a kind
// cut short hands on what arrived: a multiline message with the cut-off
// note, a chathistory page followed by the gap, a labeled answer. Lines
// of a batch no longer tracked, or of an unknown type, are plain lines.
func TestBatchRules(t *testing.T) {
	const cut = multilineCutOff
	room := func(nick, text string) string {
		return fmt.Sprintf("room #test%%irc.test <%s> %q id= time=- echo= origin=", nick, text)
	}
	lines := func(from, count int, f func(i int) string) []string {
		var l []string
		for i := from; i < from+count; i++ {
			l = append(l, f(i))
		}
		return l
	}
	numbered := func(i int) string { return fmt.Sprintf("l%d", i) }
	for _, tc := range []struct {
		name     string
		catching bool     // #chan catches up (chathistory_test.go)
		label    bool     // alice's phone sent a labeled command, fy1
		lines    []string // what the server says
		expire   string   // then the timer of this batch fires
		lose     bool     // then the connection is lost, and comes back
		after    []string // what the server says then
		want     []string
	}{
		{name: "an unknown type passes through", lines: []string{
			"BATCH +u example.org/thing",
			"@batch=u :bob!b@h PRIVMSG #test :hi",
			"BATCH -u",
		}, want: []string{room("bob", "hi")}},
		{name: "the bound is shared by every kind", lines: append(
			lines(0, maxOpenBatches, func(i int) string { return fmt.Sprintf("BATCH +s%d netsplit x", i) }),
			":bob!b@h BATCH +m draft/multiline #test",
			"@batch=m :bob!b@h PRIVMSG #test :one",
			"@batch=m :bob!b@h PRIVMSG #test :two",
			":bob!b@h BATCH -m",
		), want: []string{room("bob", "one"), room("bob", "two")}},
		{name: "a multiline batch never ended is handed on, cut", lines: []string{
			":bob!b@h BATCH +m draft/multiline #test",
			"@batch=m :bob!b@h PRIVMSG #test :one",
			"@batch=m :bob!b@h PRIVMSG #test :two",
		}, expire: "m", after: []string{"@batch=m :bob!b@h PRIVMSG #test :late", ":bob!b@h BATCH -m"},
			want: []string{room("bob", "one\ntwo"+cut), room("bob", "late")}},
		{name: "a multiline batch past the line bound is handed on, cut", lines: append(append(
			[]string{":bob!b@h BATCH +m draft/multiline #test"},
			lines(0, maxBatchLines, func(i int) string { return "@batch=m :bob!b@h PRIVMSG #test :" + numbered(i) })...),
			"@batch=m :bob!b@h PRIVMSG #test :late"),
			want: []string{room("bob", strings.Join(lines(0, maxMultilineLines, numbered), "\n")+cut), room("bob", "late")}},
		{name: "an outer batch's end cuts the one inside", lines: []string{
			"BATCH +o example.org/outer",
			"@batch=o :bob!b@h BATCH +m draft/multiline #test",
			"@batch=m :bob!b@h PRIVMSG #test :part",
			"BATCH -o",
			":bob!b@h BATCH -m",
		}, want: []string{room("bob", "part"+cut)}},
		{name: "a multiline message inside a chathistory page is replayed as one", catching: true, lines: []string{
			"BATCH +h chathistory #chan",
			"@batch=h;msgid=m2;time=" + histTime(2) + " :bob!b@h BATCH +ml draft/multiline #chan",
			"@batch=ml :bob!b@h PRIVMSG #chan :line 2",
			"@batch=ml;draft/multiline-concat :bob!b@h PRIVMSG #chan :, continued",
			"BATCH -ml",
			"BATCH -h",
		}, want: []string{strings.Replace(roomLine(2, true), `"line 2"`, `"line 2, continued"`, 1)}},
		{name: "a chathistory page never ended: what arrived, the gap, the live lines", catching: true, lines: []string{
			"BATCH +h chathistory #chan",
			histLine("h", 2),
			histLine("", 5),
		}, expire: "h", after: []string{histLine("h", 3)},
			want: []string{roomLine(2, true), "gap #chan%irc.test from=" + stamp(histT0.Add(2*time.Second)), roomLine(5, false), roomLine(3, false)}},
		{name: "a labeled answer never ended is sent", label: true, lines: []string{
			"@label=fy1 BATCH +w labeled-response",
			"@batch=w :srv 311 alice bob ~b host * :Bob B",
		}, expire: "w", want: []string{`receive irc.test to=alice@x/phone "bob ~b host * Bob B"`}},
		{name: "a lost connection hands on the multiline message and forgets the netsplit", lines: []string{
			"BATCH +s netsplit x",
			"@batch=s :bob!b@h QUIT :x",
			":carol!c@h BATCH +m draft/multiline #test",
			"@batch=m :carol!c@h PRIVMSG #test :unfinished",
		}, lose: true, after: []string{"@batch=m :carol!c@h PRIVMSG #test :after", "BATCH -s"},
			want: []string{room("carol", "unfinished"+cut), room("carol", "after")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, srv, rec := testNetwork(t, "batch", "message-tags", "server-time", "draft/multiline=max-bytes=4096",
				"draft/chathistory", "labeled-response")
			joinedTest(n)
			if tc.catching {
				rejoin(t, n, resume{at: histT0, afterID: "m1", gapFrom: histT0})
			}
			if tc.label {
				n.userCommand(t, srv, "WHOIS bob", "alice@x/phone")
			}
			for _, l := range tc.lines {
				n.serverSays(t, l)
			}
			if tc.expire != "" {
				n.batchExpired(n.conn, tc.expire, n.batches[tc.expire])
			}
			if tc.lose {
				conn, open := n.conn, n.batches
				n.ended(fmt.Errorf("connection reset"))
				if n.batches != nil {
					t.Errorf("batches kept after the connection was lost: %v", n.batches)
				}
				_ = n.locked(context.Background(), func() { n.conn = conn; joinedTest(n) })
				for ref, b := range open {
					n.batchExpired(conn, ref, b) // the old batches' timers do nothing
				}
			}
			for _, l := range tc.after {
				n.serverSays(t, l)
			}
			got := rec.take()
			if tc.catching {
				got = roomEvents(&record{events: got})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if n.dropBatches(); len(n.batches) != 0 {
				t.Errorf("%d batches open", len(n.batches))
			}
		})
	}
}

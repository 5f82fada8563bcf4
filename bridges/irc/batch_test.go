package irc

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
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
			c := &channel{name: "#c", local: "#c%irc.test", joined: true, members: map[string]string{"bob": "", "carol": "", "alice": ""}}
			for i := range maxBatchLines {
				c.members[fmt.Sprintf("n%d", i)] = ""
			}
			n.channels["#c"] = c
			n.channels["#d"] = &channel{name: "#d", local: "#d%irc.test", joined: true, members: map[string]string{"bob": "", "alice": ""}}
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
	n.channels["#c"] = &channel{name: "#c", local: "#c%irc.test", joined: true, members: map[string]string{"bob": "", "alice": ""}}
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

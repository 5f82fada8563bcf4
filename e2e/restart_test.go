package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
	"github.com/ferry-xmpp/ferry/internal/testenv"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// Rooms survive a restart of Ferry. A user's clients stay in the room
// while Ferry restarts and an IRC user keeps talking: with ergo
// (CHATHISTORY) the user gets every line, in order, exactly once — the
// lines said while Ferry was down delayed, with their own time — and the
// room's archive holds them all; on ngIRCd the room says which stretch
// may be missing. A client that went away while Ferry was down is
// noticed after the restart and taken out, and as it was its user's last
// one in the room, the user leaves the channel.

const restartLines = 30

func TestRoomsSurviveRestartOnErgo(t *testing.T) {
	testRoomsSurviveRestart(t, startIRCWith(t, "prosody", testenv.StartErgo(t, testenv.ErgoOptions{})), "ergo.test", true)
}

func TestRoomsSurviveRestartOnNgircd(t *testing.T) {
	testRoomsSurviveRestart(t, startIRC(t, testenv.NgircdOptions{}), "irc.test", false)
}

func testRoomsSurviveRestart(t *testing.T, s *ircSetup, server string, replays bool) {
	room := "#test%" + server + "@" + ircDomain
	carol := s.irc.Connect(t, "carol")
	carol.Send(t, "JOIN #test")
	carol.Expect(t, wait, command("366"))
	joinedIRC := func(nick string) func(ircmsg.Message) bool {
		return func(m ircmsg.Message) bool { return m.Command == "JOIN" && m.Nick() == nick }
	}

	alice := ircLogin(t, s, "alice", "phone")
	registerIRC(t, alice, "alice", server)
	joinIRCRoom(t, alice, room, "alice")
	carol.Expect(t, wait, joinedIRC("alice"))
	// Bob's only client in the room goes away while Ferry is down.
	bob := ircLogin(t, s, "bob", "gone")
	registerIRC(t, bob, "bobx", server)
	joinIRCRoom(t, bob, room, "bobx")
	carol.Expect(t, wait, joinedIRC("bobx"))

	say := func(from, to int) {
		for i := from; i <= to; i++ {
			carol.Send(t, fmt.Sprintf("PRIVMSG #test :line %d", i))
		}
	}
	isLine := func(st *testenv.Stanza) bool {
		return st.Name == "message" && st.Attr["from"] == room+"/carol" && strings.Contains(st.XML, ">line ")
	}
	say(1, 5)
	var got []*xmlnode.Node
	for i := 1; i <= 5; i++ {
		got = append(got, node(t, alice.Expect(t, wait, isLine)))
	}

	s.ferry.stop(t)
	for _, st := range afterServerPing(t, alice) {
		if st.Name == "presence" && strings.Contains(st.XML, `code="332"`) {
			t.Errorf("a clean stop took alice out of the room: %s", st.XML)
		}
	}
	bob.Close()
	say(6, 10) // while Ferry is down
	carol.Sync(t)
	s.ferry = runFerry(t, s.ferry.cfg)
	say(11, 20) // while Ferry comes back, rejoins, catches up
	carol.Expect(t, 2*wait, joinedIRC("alice"))
	say(21, restartLines) // once it is back in the channel

	// Bob's client is gone: after the restart Ferry finds out (its ping
	// fails) and bob does not stay in the channel — whether his connection
	// had rejoined before that verdict (then it parts) or not (then it
	// never joins: the ping can beat the reconnection).
	waitLogged(t, s.ferry, "a restored room resource is gone")
	deadline := time.Now().Add(2 * wait)
	for inChannel(t, carol, "#test", "bobx") {
		if time.Now().After(deadline) {
			t.Fatal("bob's gone client kept him in the channel")
		}
		time.Sleep(100 * time.Millisecond) // asking the IRC server again: its NAMES has no event to wait on
	}

	rest, gap := linesUntil(t, alice, room, restartLines)
	got = append(got, rest...)
	if replays {
		if gap != nil {
			t.Errorf("a gap notice where the server replays: %s", gap)
		}
		if len(got) != restartLines {
			t.Fatalf("alice got lines %v, want 1 to %d once each, in order", numbers(got), restartLines)
		}
		for i, n := range got {
			delayed := n.Child(nsDelayTime, "delay") != nil
			if numbers(got)[i] != i+1 || (i >= 5 && i < 10 && !delayed) {
				t.Fatalf("line %d of %v (delayed %v): %s", i+1, numbers(got), delayed, n)
			}
		}
		ids := mamAll(t, alice, room)
		if len(ids) != restartLines {
			t.Errorf("the archive holds %d of the %d lines for alice: %v", len(ids), restartLines, ids)
		}
		for i, n := range got {
			if i < len(ids) && n.Child(nsSID, "stanza-id").Attr("id") != ids[i] {
				t.Errorf("line %d has stanza-id %s, the archive %s", i+1, n.Child(nsSID, "stanza-id").Attr("id"), ids[i])
			}
		}
		return
	}
	// ngIRCd: what was said while Ferry was away is gone, and the room
	// says so; nothing comes twice or out of order.
	if gap == nil {
		t.Fatalf("no gap notice; alice got lines %v", numbers(got))
	}
	nums := numbers(got)
	for i := 1; i < len(nums); i++ {
		if nums[i] <= nums[i-1] {
			t.Fatalf("lines out of order or twice: %v", nums)
		}
	}
	if len(nums) < 6 || nums[4] != 5 || nums[len(nums)-1] != restartLines {
		t.Errorf("alice got lines %v", nums)
	}
}

// registerIRC registers c on the IRC transport with nick on server.
func registerIRC(t *testing.T, c *testenv.Client, nick, server string) {
	t.Helper()
	r := c.IQ(t, wait, `<iq type="set" to="`+ircDomain+`"><query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit">`+
		`<field var="nick"><value>`+nick+`</value></field><field var="server"><value>`+server+`</value></field></x></query></iq>`)
	if r.Attr["type"] != "result" {
		t.Fatalf("IRC registration: %s", r.XML)
	}
	acceptTransport(t, c, ircDomain)
}

// joinIRCRoom joins room as nick and waits for the subject.
func joinIRCRoom(t *testing.T, c *testenv.Client, room, nick string) {
	t.Helper()
	c.SendRaw(t, `<presence to="`+room+`/`+nick+`"><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="0"/></x></presence>`)
	c.Expect(t, 2*wait, func(st *testenv.Stanza) bool {
		return strings.HasPrefix(st.Attr["from"], room) && strings.Contains(st.XML, "<subject")
	})
}

// linesUntil collects the room's "line N" messages (and a gap notice)
// until line last has come.
func linesUntil(t *testing.T, c *testenv.Client, room string, last int) (lines []*xmlnode.Node, gap *xmlnode.Node) {
	t.Helper()
	for {
		n := node(t, c.Expect(t, 3*wait, func(st *testenv.Stanza) bool {
			return st.Name == "message" && (st.Attr["from"] == room+"/carol" && strings.Contains(st.XML, ">line ") ||
				st.Attr["from"] == room && strings.Contains(st.XML, "may be missing"))
		}))
		if n.Attr("from") == room {
			gap = n
			continue
		}
		lines = append(lines, n)
		if n.ChildText("", "body") == fmt.Sprintf("line %d", last) {
			return lines, gap
		}
	}
}

func numbers(lines []*xmlnode.Node) []int {
	var out []int
	for _, n := range lines {
		v, _ := strconv.Atoi(strings.TrimPrefix(n.ChildText("", "body"), "line "))
		out = append(out, v)
	}
	return out
}

// mamAll reads the ids of every line of room's archive c's user may read.
func mamAll(t *testing.T, c *testenv.Client, room string) []string {
	t.Helper()
	r := node(t, c.IQ(t, wait, `<iq type="set" to="`+room+`"><query xmlns="`+nsMAM+`" queryid="all">`+fmt.Sprintf(rsm, 100, "")+`</query></iq>`))
	if r.Attr("type") != "result" {
		t.Fatalf("MAM query: %s", r)
	}
	var ids []string
	for _, st := range c.Pending() {
		res := node(t, st).Child(nsMAM, "result")
		if res == nil || res.Attr("queryid") != "all" {
			continue
		}
		c.Expect(t, wait, func(x *testenv.Stanza) bool { return x == st })
		msg := res.Child("urn:xmpp:forward:0", "forwarded").Child("jabber:client", "message")
		if strings.HasPrefix(msg.ChildText("jabber:client", "body"), "line ") {
			ids = append(ids, res.Attr("id"))
		}
	}
	return ids
}

// afterServerPing returns what c received up to the answer of a ping to
// its server: everything the server routed to c before (the stanzas of a
// component that has stopped, say) has then arrived.
func afterServerPing(t *testing.T, c *testenv.Client) []*testenv.Stanza {
	t.Helper()
	if r := c.IQ(t, wait, `<iq type="get" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>`); r.Attr["type"] != "result" {
		t.Fatalf("server ping: %s", r.XML)
	}
	return c.TakeAll()
}

// waitLogged waits until Ferry has logged text.
func waitLogged(t *testing.T, f *ferry, text string) {
	t.Helper()
	deadline := time.Now().Add(2 * wait)
	for !strings.Contains(f.logs.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("Ferry never logged %q", text)
		}
		time.Sleep(50 * time.Millisecond) // polling the log: it has no event to wait on
	}
}

// inChannel asks the IRC server, through c, whether nick is in channel.
func inChannel(t *testing.T, c *testenv.IRCClient, channel, nick string) bool {
	t.Helper()
	c.Send(t, "NAMES "+channel)
	in := false
	for {
		m := c.Expect(t, wait, func(m ircmsg.Message) bool { return m.Command == "353" || m.Command == "366" })
		if m.Command == "366" {
			return in
		}
		for _, name := range strings.Fields(m.Params[len(m.Params)-1]) {
			if strings.TrimLeft(name, "~&@%+") == nick {
				in = true
			}
		}
	}
}

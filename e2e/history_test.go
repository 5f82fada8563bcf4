package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ergochat/irc-go/ircmsg"
	"github.com/ferry-xmpp/ferry/internal/testenv"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

const (
	histJID = "#hist%irc.test@" + ircDomain
	nsMAM   = "urn:xmpp:mam:2"
	nsSID   = "urn:xmpp:sid:0"
)

// joinHist joins #hist as nick and returns the stanzas up to the subject.
func joinHist(t *testing.T, c *testenv.Client, nick, history string) []*xmlnode.Node {
	t.Helper()
	c.SendRaw(t, `<presence to="`+histJID+`/`+nick+`"><x xmlns="http://jabber.org/protocol/muc">`+history+`</x></presence>`)
	var got []*xmlnode.Node
	for {
		n := node(t, c.Expect(t, 2*wait, func(s *testenv.Stanza) bool { return strings.HasPrefix(s.Attr["from"], histJID) }))
		got = append(got, n)
		if n.Local == "message" && n.Child("", "subject") != nil {
			return got
		}
	}
}

// liveLine waits for a live line of #hist and returns its stanza-id.
func liveLine(t *testing.T, c *testenv.Client, body string) string {
	t.Helper()
	n := node(t, c.Expect(t, wait, func(s *testenv.Stanza) bool {
		return strings.HasPrefix(s.Attr["from"], histJID) && strings.Contains(s.XML, ">"+body+"</body>")
	}))
	sid := n.Child(nsSID, "stanza-id")
	if sid == nil || sid.Attr("by") != histJID || sid.Attr("id") == "" {
		t.Fatalf("live line without the room's stanza-id: %s", n)
	}
	return sid.Attr("id")
}

// mamPage queries #hist's archive and returns the results' ids and bodies
// and the fin.
func mamPage(t *testing.T, c *testenv.Client, qid, inner string) (ids, bodies []string, fin *xmlnode.Node) {
	t.Helper()
	r := node(t, c.IQ(t, wait, `<iq type="set" to="`+histJID+`"><query xmlns="`+nsMAM+`" queryid="`+qid+`">`+inner+`</query></iq>`))
	if r.Attr("type") != "result" {
		t.Fatalf("MAM query %s: %s", qid, r)
	}
	// The results come before the answer, from the same stream.
	for _, s := range c.Pending() {
		res := node(t, s).Child(nsMAM, "result")
		if res == nil || res.Attr("queryid") != qid {
			continue
		}
		c.Expect(t, wait, func(x *testenv.Stanza) bool { return x == s })
		msg := res.Child("urn:xmpp:forward:0", "forwarded").Child("jabber:client", "message")
		ids = append(ids, res.Attr("id"))
		bodies = append(bodies, msg.ChildText("jabber:client", "body"))
	}
	return ids, bodies, r.Child(nsMAM, "fin")
}

const rsm = `<set xmlns="http://jabber.org/protocol/rsm"><max>%d</max>%s</set>`

// An IRC channel remembers: lines said while a user was in the room come
// back to them on join and through MAM, with the ids they saw live, and
// a user who joins later cannot read what was said before.
func TestIRCRoomHistory(t *testing.T) {
	s := startIRC(t, testenv.NgircdOptions{})
	carol := s.irc.Connect(t, "carol")
	carol.Send(t, "JOIN #hist")
	carol.Expect(t, wait, command("366"))
	joinedIRC := func(nick string) func(ircmsg.Message) bool {
		return func(m ircmsg.Message) bool { return m.Command == "JOIN" && m.Nick() == nick }
	}

	alice := ircLogin(t, s, "alice", "one")
	ircRegister(t, alice, "alice")
	joinHist(t, alice, "alice", "")
	carol.Expect(t, wait, joinedIRC("alice"))
	var ids []string
	for i := 1; i <= 3; i++ {
		carol.Send(t, fmt.Sprintf("PRIVMSG #hist :line %d", i))
		ids = append(ids, liveLine(t, alice, fmt.Sprintf("line %d", i)))
	}

	// Bob joins later: no history on join, nothing in MAM.
	bob := ircLogin(t, s, "bob", "one")
	ircRegister(t, bob, "bobx")
	for _, n := range joinHist(t, bob, "bobx", "") {
		if n.Local == "message" && n.Child("", "subject") == nil {
			t.Errorf("a newcomer got history: %s", n)
		}
	}
	carol.Expect(t, wait, joinedIRC("bobx"))
	if got, _, fin := mamPage(t, bob, "b0", ""); len(got) != 0 || fin.Attr("complete") != "true" {
		t.Errorf("a newcomer read %v from the archive (fin %s)", got, fin)
	}

	// The next line reaches both through their own IRC connections, stored
	// once: the same id for both.
	carol.Send(t, "PRIVMSG #hist :line 4")
	four := liveLine(t, alice, "line 4")
	if bobs := liveLine(t, bob, "line 4"); bobs != four {
		t.Errorf("line 4 has id %s for alice and %s for bob", four, bobs)
	}
	ids = append(ids, four)

	// Alice pages through everything, forward and back, with the live ids.
	p1, bodies, fin1 := mamPage(t, alice, "a1", fmt.Sprintf(rsm, 2, ""))
	if !slices.Equal(p1, ids[:2]) || bodies[0] != "line 1" || fin1.Attr("complete") == "true" {
		t.Errorf("first page %v %v (fin %s), want %v", p1, bodies, fin1, ids[:2])
	}
	last := fin1.Child("http://jabber.org/protocol/rsm", "set").ChildText("http://jabber.org/protocol/rsm", "last")
	if p2, _, fin2 := mamPage(t, alice, "a2", fmt.Sprintf(rsm, 2, "<after>"+last+"</after>")); !slices.Equal(p2, ids[2:]) || fin2.Attr("complete") != "true" {
		t.Errorf("second page %v (fin %s), want %v, complete", p2, fin2, ids[2:])
	}
	if back, _, _ := mamPage(t, alice, "a3", fmt.Sprintf(rsm, 3, "<before/>")); !slices.Equal(back, ids[1:]) {
		t.Errorf("last page %v, want %v", back, ids[1:])
	}
	// Bob reads only what was said while he was there.
	if got, _, _ := mamPage(t, bob, "b1", ""); !slices.Equal(got, ids[3:]) {
		t.Errorf("bob read %v, want only %v", got, ids[3:])
	}

	// Alice leaves and comes back asking for two lines: they arrive with
	// their times and ids after her presence, before the subject.
	alice.SendRaw(t, `<presence to="`+histJID+`/alice" type="unavailable"/>`)
	alice.Expect(t, wait, func(s *testenv.Stanza) bool {
		return s.Attr["from"] == histJID+"/alice" && s.Attr["type"] == "unavailable"
	})
	carol.Expect(t, wait, command("PART"))
	var hist []string
	for _, n := range joinHist(t, alice, "alice", `<history maxstanzas="2"/>`) {
		if n.Local == "message" && n.Child("", "subject") == nil {
			if n.Child("urn:xmpp:delay", "delay") == nil {
				t.Errorf("history without its time: %s", n)
			}
			hist = append(hist, n.Child(nsSID, "stanza-id").Attr("id"))
		}
	}
	if !slices.Equal(hist, ids[2:]) {
		t.Errorf("history on join %v, want %v", hist, ids[2:])
	}

	// The admin sees what is kept; bob turns history off and can read
	// nothing any more.
	admin := ircLogin(t, s, "admin", "one")
	admin.SendRaw(t, `<message type="chat" to="`+ircDomain+`"><body>history</body></message>`)
	admin.Expect(t, wait, chatOrPresence(ircDomain, "4 message(s) in 1 room(s)"))
	bob.SendRaw(t, `<message type="chat" to="`+ircDomain+`"><body>set record_history no</body></message>`)
	bob.Expect(t, wait, chatOrPresence(ircDomain, "Settings saved"))
	r := node(t, bob.IQ(t, wait, `<iq type="set" to="`+histJID+`"><query xmlns="`+nsMAM+`"/></iq>`))
	if errorCondition(r) != "forbidden" {
		t.Errorf("MAM with history off: %s", r)
	}
}

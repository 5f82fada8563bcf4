package e2e

import (
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/internal/testenv"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

const (
	nsMUCUser = "http://jabber.org/protocol/muc#user"
	room      = `#room@echo.localhost`
)

func fromRoom(s *testenv.Stanza) bool {
	return strings.HasPrefix(s.Attr["from"], room)
}

// joinRoom joins and returns the room stanzas up to the subject, in order.
func joinRoom(t *testing.T, c *testenv.Client, nick string) []*xmlnode.Node {
	t.Helper()
	c.SendRaw(t, `<presence to="`+room+`/`+nick+`"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	var got []*xmlnode.Node
	for {
		s := c.Expect(t, wait, fromRoom)
		n := node(t, s)
		got = append(got, n)
		if n.Local == "message" && n.Child("", "subject") != nil {
			return got
		}
	}
}

func statusCodes(n *xmlnode.Node) map[string]bool {
	codes := map[string]bool{}
	for _, st := range n.Child(nsMUCUser, "x").ChildrenNamed(nsMUCUser, "status") {
		codes[st.Attr("code")] = true
	}
	return codes
}

func TestRooms(t *testing.T) { forEachServer(t, testRooms) }

func testRooms(t *testing.T, server string) {
	s := startOn(t, server, serverOptions{}, nil)
	c1 := s.login(t, "alice", "one")
	register(t, c1)
	sess := waitSession(t, s, "alice@localhost")
	c2 := s.login(t, "alice", "two")

	// Join order: the other occupants, then ourselves (110, 100), then the subject.
	got := joinRoom(t, c1, "Alice")
	if len(got) != 3 {
		t.Fatalf("join replay has %d stanzas: %v", len(got), got)
	}
	bot, self, subject := got[0], got[1], got[2]
	if bot.Attr("from") != room+"/echobot" || bot.Child(nsMUCUser, "x").Child(nsMUCUser, "item").Attr("role") != "moderator" {
		t.Errorf("occupant presence: %s", bot)
	}
	if codes := statusCodes(self); self.Attr("from") != room+"/Alice" || !codes["110"] || !codes["100"] || codes["210"] {
		t.Errorf("self presence: %s", self)
	}
	if subject.ChildText("", "subject") != "Echo room" {
		t.Errorf("subject: %s", subject)
	}

	// A second resource gets the same replay without a second network join.
	if got2 := joinRoom(t, c2, "Alice"); len(got2) != 3 {
		t.Fatalf("second resource replay: %v", got2)
	}
	if joins, _ := sess.Counts(); joins != 1 {
		t.Errorf("network joins = %d, want 1", joins)
	}

	// A message is reflected to both resources with the client's id, then echoed.
	c1.SendRaw(t, `<message to="`+room+`" type="groupchat" id="g1"><body>hi all</body><origin-id xmlns="urn:xmpp:sid:0" id="o1"/></message>`)
	for _, c := range []*testenv.Client{c1, c2} {
		r := node(t, c.Expect(t, wait, func(s *testenv.Stanza) bool { return s.Attr["id"] == "g1" }))
		if r.Attr("from") != room+"/Alice" || r.ChildText("", "body") != "hi all" || r.Child("urn:xmpp:sid:0", "origin-id").Attr("id") != "o1" {
			t.Errorf("reflection: %s", r)
		}
		if sid := r.Child("urn:xmpp:sid:0", "stanza-id"); sid == nil || sid.Attr("by") != room || sid.Attr("id") == "" {
			t.Errorf("reflection without the room's stanza-id: %s", r)
		}
		c.Expect(t, wait, chatOrPresence(room, "echo: hi all"))
	}

	// XEP-0410 self-ping: joined resources are in, others are not.
	if r := c1.IQ(t, wait, `<iq type="get" to="`+room+`/Alice"><ping xmlns="urn:xmpp:ping"/></iq>`); r.Attr["type"] != "result" {
		t.Errorf("self-ping of a joined resource: %s", r.XML)
	}
	c3 := s.login(t, "alice", "three")
	if r := node(t, c3.IQ(t, wait, `<iq type="get" to="`+room+`/Alice"><ping xmlns="urn:xmpp:ping"/></iq>`)); errorCondition(r) != "not-acceptable" {
		t.Errorf("self-ping of a resource not in the room: %s", r)
	}
	info := node(t, c1.IQ(t, wait, `<iq type="get" to="`+room+`"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`))
	if !strings.Contains(info.String(), `category="conference"`) {
		t.Errorf("room disco: %s", info)
	}

	// Subject change.
	c1.SendRaw(t, `<message to="`+room+`" type="groupchat"><subject>New topic</subject></message>`)
	c2.Expect(t, wait, func(s *testenv.Stanza) bool { return fromRoom(s) && strings.Contains(s.XML, "New topic") })

	// Nick change: 303 with the new nick, then the new presence.
	c1.SendRaw(t, `<presence to="`+room+`/Alicia"/>`)
	gone := node(t, c2.Expect(t, wait, func(s *testenv.Stanza) bool {
		return s.Attr["from"] == room+"/Alice" && s.Attr["type"] == "unavailable"
	}))
	if !statusCodes(gone)["303"] || gone.Child(nsMUCUser, "x").Child(nsMUCUser, "item").Attr("nick") != "Alicia" {
		t.Errorf("nick change presence: %s", gone)
	}
	c2.Expect(t, wait, func(s *testenv.Stanza) bool { return s.Attr["from"] == room+"/Alicia" && s.Attr["type"] == "" })

	// Kick through muc#admin.
	kick := c1.IQ(t, wait, `<iq type="set" to="`+room+`"><query xmlns="http://jabber.org/protocol/muc#admin"><item nick="echobot" role="none"><reason>bye</reason></item></query></iq>`)
	if kick.Attr["type"] != "result" {
		t.Fatalf("kick: %s", kick.XML)
	}
	kicked := node(t, c2.Expect(t, wait, func(s *testenv.Stanza) bool {
		return s.Attr["from"] == room+"/echobot" && s.Attr["type"] == "unavailable"
	}))
	if !statusCodes(kicked)["307"] {
		t.Errorf("kick presence: %s", kicked)
	}
	denied := node(t, c1.IQ(t, wait, `<iq type="set" to="`+room+`"><query xmlns="http://jabber.org/protocol/muc#admin"><item nick="someone" role="none"/></query></iq>`))
	if errorCondition(denied) != "not-allowed" || !strings.Contains(errorText(denied), "operator") {
		t.Errorf("refused kick: %s", denied)
	}

	// Leaving with one resource keeps the network membership; the last one
	// parts, and is confirmed only once the network was told: the
	// confirmation is the barrier.
	c2.SendRaw(t, `<presence to="`+room+`/Alicia" type="unavailable"/>`)
	c2.Expect(t, wait, ownLeave)
	if _, leaves := sess.Counts(); leaves != 0 {
		t.Errorf("left the network room with a resource still in it")
	}
	c1.SendRaw(t, `<presence to="`+room+`/Alicia" type="unavailable"/>`)
	c1.Expect(t, wait, ownLeave)
	if _, leaves := sess.Counts(); leaves != 1 {
		t.Errorf("network leaves = %d, want 1", leaves)
	}
}

// ownLeave matches the confirmation of leaving the room as Alicia: her
// own unavailable presence (110), not a nick change (303) or another
// occupant leaving, which may still wait unread.
func ownLeave(s *testenv.Stanza) bool {
	if s.Attr["from"] != room+"/Alicia" || s.Attr["type"] != "unavailable" {
		return false
	}
	n, err := xmlnode.Parse([]byte(s.XML))
	if err != nil {
		return false
	}
	codes := statusCodes(n)
	return codes["110"] && !codes["303"]
}

func TestRoomJoinErrorsAndNickChangedByNetwork(t *testing.T) {
	s := start(t, nil)
	c := s.login(t, "alice", "err")
	c.SendRaw(t, `<presence to="#x@echo.localhost/me"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	unreg := node(t, c.Expect(t, wait, func(s *testenv.Stanza) bool { return s.Attr["type"] == "error" }))
	if errorCondition(unreg) != "registration-required" {
		t.Errorf("join before registering: %s", unreg)
	}
	register(t, c)
	c.SendRaw(t, `<presence to="#banned@echo.localhost/me"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	banned := node(t, c.Expect(t, wait, func(s *testenv.Stanza) bool {
		return strings.HasPrefix(s.Attr["from"], "#banned@") && s.Attr["type"] == "error"
	}))
	if errorCondition(banned) != "forbidden" || !strings.Contains(errorText(banned), "banned") {
		t.Errorf("banned join: %s", banned)
	}
	got := joinRoom(t, c, "taken")
	if codes := statusCodes(got[len(got)-2]); !codes["210"] || got[len(got)-2].Attr("from") != room+"/taken_" {
		t.Errorf("nick changed by the network: %s", got[len(got)-2])
	}
	// A clean stop of the gateway keeps the user in the room (no 332):
	// the room is restored when it is back (TestRoomsSurviveRestart*).
	s.ferry.stop(t)
	for _, st := range afterServerPing(t, c) {
		if fromRoom(st) && st.Attr["type"] == "unavailable" {
			t.Errorf("a clean stop took the user out of the room: %s", st.XML)
		}
	}
}

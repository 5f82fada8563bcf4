package e2e

import (
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/config"
	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// TestHostileIRCServer: a scripted network sends what no well-behaved
// server would. A nick that cannot be an XMPP resourcepart becomes a
// stable escaped occupant, never the bare room; garbage lines are
// skipped; a line that never ends drops the connection, which Ferry
// reports and makes again, rejoining the room.
func TestHostileIRCServer(t *testing.T) {
	srv := testenv.StartScriptedIRC(t, "scripted.test")
	s := start(t, func(c *config.Config) {
		c.Transports = []config.Transport{{Kind: "irc", Domain: ircDomain, Secret: secret, Name: "IRC",
			Options: map[string]any{
				"network": []map[string]any{{"name": "scripted.test", "address": srv.Addr, "tls": false}},
				"burst":   int64(50), "rate": float64(50),
				"reconnect_min": "50ms", "reconnect_max": "500ms",
			}}}
	})
	room := "#room%scripted.test@" + ircDomain
	c := s.xmpp.Login(t, "alice", passwords["alice"], "hostile")
	waitTransport(t, c, ircDomain)
	c.SendRaw(t, `<presence to="`+room+`/alice"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)

	irc := srv.Accept(t, wait)
	irc.Expect(t, wait, "JOIN")
	me := irc.Nick
	strange := "bad\x7fnick"
	irc.Send(t,
		":"+me+"!u@h JOIN #room",
		":scripted.test 353 "+me+" = #room :"+me+" @normal "+strange,
		":scripted.test 366 "+me+" #room :End of /NAMES list.",
		":scripted.test 332 "+me+" #room :a topic",
		"\x00\x00\x00",       // garbage
		"   ",                // blank
		":scripted.test 999", // a numeric with nothing
		":"+strange+"!u@h PRIVMSG #room :from a strange nick")

	occupants := map[string]bool{}
	c.Expect(t, wait, func(st *testenv.Stanza) bool {
		if st.Name == "presence" && strings.HasPrefix(st.Attr["from"], room) {
			occupants[st.Attr["from"]] = true
		}
		return st.Name == "message" && strings.Contains(st.XML, "<subject")
	})
	if occupants[room] {
		t.Fatalf("an occupant's presence came from the bare room: %v", occupants)
	}
	var strangeJID string
	for jid := range occupants {
		res := strings.TrimPrefix(jid, room+"/")
		if res != me && res != "alice" && res != "normal" {
			strangeJID = jid
		}
	}
	t.Logf("occupants: %v", occupants)
	if strangeJID == "" {
		t.Fatalf("no occupant for the strange nick: %v", occupants)
	}
	msg := c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Name == "message" && strings.Contains(st.XML, "from a strange nick")
	})
	if msg.Attr["from"] != strangeJID {
		t.Fatalf("the strange nick's message came from %s, its presence from %s", msg.Attr["from"], strangeJID)
	}

	// A line that never ends: the connection is dropped, the user told
	// (the room shows the connection lost), and it is made again.
	irc.SendUntilDropped(t, ":"+me+"!u@h PRIVMSG #room :"+strings.Repeat("x", 1<<20))
	c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Name == "presence" && st.Attr["type"] == "unavailable" && st.Attr["from"] == room+"/"+me &&
			strings.Contains(st.XML, `code="332"`)
	})
	again := srv.Accept(t, wait)
	if j := again.Expect(t, wait, "JOIN"); len(j.Params) == 0 || j.Params[0] != "#room" {
		t.Fatalf("rejoin after the reconnect: %v", j)
	}
}

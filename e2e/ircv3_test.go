package e2e

import (
	"strings"
	"testing"

	"github.com/ergochat/irc-go/ircmsg"
	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// End-to-end tests against ergo, an IRCv3 server: the same flows as
// against ngIRCd, plus what modern IRC adds.

// startErgo is Prosody + ergo + Ferry with an IRC transport that knows
// ergo as "ergo.test".
func startErgo(t *testing.T) *ircSetup {
	t.Helper()
	return startIRCWith(t, "prosody", testenv.StartErgo(t, testenv.ErgoOptions{}))
}

// TestIRCChannelsAndChatsOnErgo runs the ngIRCd flow against ergo, named
// irc.test: everything users do works the same on an IRCv3 server,
// where Ferry asks for echo-message, server-time and the rest.
func TestIRCChannelsAndChatsOnErgo(t *testing.T) {
	testIRCChannelsAndChats(t, startIRCWith(t, "prosody", testenv.StartErgo(t, testenv.ErgoOptions{Name: "irc.test"})))
}

// TestIRCVersionAndPingOnErgo: CTCP queries work where the server echoes
// them back to Ferry.
func TestIRCVersionAndPingOnErgo(t *testing.T) {
	testIRCVersionAndPingReachTheUser(t, startIRCWith(t, "prosody", testenv.StartErgo(t, testenv.ErgoOptions{Name: "irc.test"})))
}

// ergoRegister registers c with nick on ergo.test; extra are more form
// fields (var, value). It returns the answer.
func ergoRegister(t *testing.T, c *testenv.Client, nick string, extra ...string) *testenv.Stanza {
	t.Helper()
	fields := `<field var="nick"><value>` + nick + `</value></field><field var="server"><value>ergo.test</value></field>`
	for i := 0; i+1 < len(extra); i += 2 {
		fields += `<field var="` + extra[i] + `"><value>` + extra[i+1] + `</value></field>`
	}
	return c.IQ(t, wait, `<iq type="set" to="`+ircDomain+`"><query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit">`+
		fields+`</x></query></iq>`)
}

// TestErgoSASLSCRAM: a user with a services account logs in with
// SCRAM-SHA-256, which ergo offers beside PLAIN, so the password never
// crosses the wire; a wrong password is refused at registration.
func TestErgoSASLSCRAM(t *testing.T) {
	s := startErgo(t)
	s.irc.RegisterAccount(t, "alice", "correct-horse")
	c := ircLogin(t, s, "alice", "scram")

	r := ergoRegister(t, c, "alice", "sasl_user", "alice", "sasl_password", "wrong-horse")
	if r.Attr["type"] != "error" || !strings.Contains(r.XML, "not-authorized") {
		t.Fatalf("a wrong SASL password was not refused: %s", r.XML)
	}
	r = ergoRegister(t, c, "alice", "sasl_user", "alice", "sasl_password", "correct-horse")
	if r.Attr["type"] != "result" {
		t.Fatalf("registration with the right password: %s", r.XML)
	}
	acceptTransport(t, c, ircDomain)

	// The session's connection is logged in to the account.
	c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Name == "presence" && st.Attr["from"] == ircDomain && strings.Contains(st.XML, "Connected to ergo.test as alice")
	})
	bob := s.irc.Connect(t, "bob")
	bob.Send(t, "WHOIS alice")
	m := bob.Expect(t, wait, func(m ircmsg.Message) bool { return m.Command == "330" || m.Command == "318" })
	if m.Command != "330" || m.Params[2] != "alice" {
		t.Fatalf("alice is not logged in to her account: %v", m)
	}
}

const (
	ergoRoom    = "#test%ergo.test@" + ircDomain
	nsDelayTime = "urn:xmpp:delay"
)

// TestErgoEchoServerTimeAndMsgid: on a server with echo-message,
// server-time and message-tags, the reflection of a room message is the
// server's echo, exactly once, with the client's id and origin-id; every
// room message carries the server's msgid as its stanza-id, and a live
// one no delay (the server's time is used when a message is late); private messages are not echoed back to the user, and a
// refused one gets its error as against ngIRCd; members going away and
// back are occupant presences.
func TestErgoEchoServerTimeAndMsgid(t *testing.T) {
	s := startErgo(t)
	bob := s.irc.Connect(t, "bob")
	bob.Send(t, "JOIN #test")
	bob.Expect(t, wait, command("366"))
	c := aliceInErgoRoom(t, s, "echo")

	c.SendRaw(t, `<message to="`+ergoRoom+`" type="groupchat" id="x1"><body>hello ergo</body><origin-id xmlns="`+nsSID+`" id="o1"/></message>`)
	bob.Expect(t, wait, privmsg("#test", "hello ergo"))
	isX1 := func(st *testenv.Stanza) bool { return st.Name == "message" && st.Attr["id"] == "x1" }
	echo := node(t, c.Expect(t, wait, isX1))
	if echo.Attr("type") != "groupchat" || echo.Attr("from") != ergoRoom+"/alice" || echo.ChildText("", "body") != "hello ergo" ||
		echo.Child(nsSID, "origin-id").Attr("id") != "o1" || !strings.HasPrefix(echo.Child(nsSID, "stanza-id").Attr("id"), "ergo.test/") {
		t.Errorf("reflection: %s", echo)
	}

	// A message from bob: the server's msgid and time. It is causally
	// after alice's echo, so a second reflection would have come first.
	bob.Send(t, "PRIVMSG #test :hi alice")
	hi := node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Name == "message" && strings.Contains(st.XML, "hi alice")
	}))
	sid := hi.Child(nsSID, "stanza-id")
	if sid.Attr("by") != ergoRoom || !strings.HasPrefix(sid.Attr("id"), "ergo.test/") || hi.Attr("id") != sid.Attr("id") {
		t.Errorf("bob's message has no stanza-id from the server's msgid: %s", hi)
	}
	if hi.Child(nsDelayTime, "delay") != nil {
		t.Errorf("a live message is shown as delayed: %s", hi)
	}
	for _, st := range c.TakeAll() {
		if isX1(st) {
			t.Errorf("reflected twice: %s", st.XML)
		}
	}

	// Private messages: bob gets it, alice does not get her own echo; a
	// message to nobody is refused on the message itself.
	c.SendRaw(t, `<message to="bob%ergo.test@`+ircDomain+`" type="chat" id="p1"><body>psst</body></message>`)
	bob.Expect(t, wait, privmsg("bob", "psst"))
	c.SendRaw(t, `<message to="nobody%ergo.test@`+ircDomain+`" type="chat" id="p2"><body>anyone?</body></message>`)
	wantRefusal(t, c, "nobody%ergo.test@"+ircDomain, "p2", "item-not-found", "No such nick")
	for _, st := range c.TakeAll() {
		if strings.Contains(st.XML, "psst") {
			t.Errorf("the user's own private message came back: %s", st.XML)
		}
	}

	// away-notify: bob going away and coming back.
	bobInRoom := func(st *testenv.Stanza) bool { return st.Name == "presence" && st.Attr["from"] == ergoRoom+"/bob" }
	bob.Send(t, "AWAY :lunch")
	away := node(t, c.Expect(t, wait, bobInRoom))
	if away.ChildText("", "show") != "away" || !strings.HasPrefix(away.ChildText("", "status"), "lunch") || away.Attr("type") != "" {
		t.Errorf("away presence: %s", away)
	}
	bob.Send(t, "AWAY")
	back := node(t, c.Expect(t, wait, bobInRoom))
	if back.Child("", "show") != nil || back.Attr("type") != "" {
		t.Errorf("back presence: %s", back)
	}
}

// aliceInErgoRoom logs alice in with resource, registers her on ergo and
// joins her to ergoRoom, waiting for its subject.
func aliceInErgoRoom(t *testing.T, s *ircSetup, resource string) *testenv.Client {
	t.Helper()
	c := ircLogin(t, s, "alice", resource)
	if r := ergoRegister(t, c, "alice"); r.Attr["type"] != "result" {
		t.Fatalf("registration: %s", r.XML)
	}
	acceptTransport(t, c, ircDomain)
	c.SendRaw(t, `<presence to="`+ergoRoom+`/alice"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	c.Expect(t, 2*wait, func(st *testenv.Stanza) bool {
		return strings.HasPrefix(st.Attr["from"], ergoRoom) && strings.Contains(st.XML, "<subject")
	})
	return c
}

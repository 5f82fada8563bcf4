package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
	"github.com/ferry-xmpp/ferry/config"
	"github.com/ferry-xmpp/ferry/internal/testenv"
)

const (
	ircDomain   = "irc.localhost"
	nsDiscoInfo = "http://jabber.org/protocol/disco#info"
)

// ircSetup is an XMPP server (Prosody unless chosen) + ngircd + Ferry with an IRC transport that knows
// the ngircd as "irc.test" (plain TCP on loopback).
type ircSetup struct {
	*setup
	irc *testenv.IRCServer
}

func startIRC(t *testing.T, ngircd testenv.NgircdOptions) *ircSetup {
	t.Helper()
	return startIRCOn(t, "prosody", ngircd)
}

// startIRCOn is startIRC on the named XMPP server.
func startIRCOn(t *testing.T, server string, ngircd testenv.NgircdOptions) *ircSetup {
	t.Helper()
	testenv.NeedNgircd(t)
	if ngircd.Name == "" {
		ngircd.Name = "irc.test"
	}
	return startIRCWith(t, server, testenv.StartNgircd(t, ngircd))
}

// startIRCWith is an XMPP server + Ferry with an IRC transport that knows
// srv by its name.
func startIRCWith(t *testing.T, server string, srv *testenv.IRCServer) *ircSetup {
	t.Helper()
	s := startOn(t, server, serverOptions{}, func(c *config.Config) {
		c.Transports = []config.Transport{{Kind: "irc", Domain: ircDomain, Secret: secret, Name: "IRC",
			Options: map[string]any{
				"network": []map[string]any{{"name": srv.Name, "address": srv.Addr, "tls": false}},
				"burst":   int64(50), "rate": float64(50),
				"reconnect_min": "50ms", "reconnect_max": "500ms",
			}}}
	})
	return &ircSetup{setup: s, irc: srv}
}

func ircLogin(t *testing.T, s *ircSetup, user, resource string) *testenv.Client {
	t.Helper()
	c := s.xmpp.Login(t, user, passwords[user], resource)
	waitTransport(t, c, ircDomain)
	return c
}

func waitTransport(t *testing.T, c *testenv.Client, domain string) {
	t.Helper()
	for i := 0; ; i++ {
		r := c.IQ(t, wait, `<iq type="get" to="`+domain+`"><ping xmlns="urn:xmpp:ping"/></iq>`)
		if r.Attr["type"] == "result" {
			return
		}
		if i > 200 {
			t.Fatalf("%s never answered: %s", domain, r.XML)
		}
	}
}

// waitTransportGone waits until the XMPP server answers for domain with an
// error: its component stream is gone. A ping the server routed to the
// dying stream just before it noticed is lost, hence the short waits.
func waitTransportGone(t *testing.T, c *testenv.Client, domain string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		r, err := c.TryIQ(t, time.Second, `<iq type="get" to="`+domain+`"><ping xmlns="urn:xmpp:ping"/></iq>`)
		if err == nil && r.Attr["type"] == "error" {
			return
		}
	}
	t.Fatalf("%s still answers after its component died", domain)
}

func ircRegister(t *testing.T, c *testenv.Client, nick string) {
	t.Helper()
	r := c.IQ(t, wait, `<iq type="set" to="`+ircDomain+`"><query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit">`+
		`<field var="nick"><value>`+nick+`</value></field><field var="server"><value>irc.test</value></field></x></query></iq>`)
	if r.Attr["type"] != "result" {
		t.Fatalf("IRC registration: %s", r.XML)
	}
	acceptTransport(t, c, ircDomain)
}

// acceptTransport accepts the transport's subscription request, as a
// client does once the user adds it: the user's server then tells the
// transport when they are online, which keeps their IRC connection open.
func acceptTransport(t *testing.T, c *testenv.Client, domain string) {
	t.Helper()
	c.Expect(t, wait, func(s *testenv.Stanza) bool {
		return s.Name == "presence" && s.Attr["from"] == domain && s.Attr["type"] == "subscribe"
	})
	c.SendRaw(t, `<presence to="`+domain+`" type="subscribed"/>`)
	c.SendRaw(t, `<presence to="`+domain+`" type="subscribe"/>`)
}

func privmsg(target, text string) func(ircmsg.Message) bool {
	return func(m ircmsg.Message) bool {
		return m.Command == "PRIVMSG" && len(m.Params) == 2 && m.Params[0] == target && m.Params[1] == text
	}
}

func command(cmd string) func(ircmsg.Message) bool {
	return func(m ircmsg.Message) bool { return m.Command == cmd }
}

const chanJID = "#test%irc.test@" + ircDomain

func fromChan(s *testenv.Stanza) bool { return strings.HasPrefix(s.Attr["from"], chanJID) }

func TestIRCChannelsAndChats(t *testing.T) {
	forEachServer(t, func(t *testing.T, server string) {
		testIRCChannelsAndChats(t, startIRCOn(t, server, testenv.NgircdOptions{}))
	})
}

func testIRCChannelsAndChats(t *testing.T, s *ircSetup) {
	bob := s.irc.Connect(t, "bob")
	bob.Send(t, "JOIN #test")
	bob.Expect(t, wait, command("366"))
	bob.Send(t, "TOPIC #test :Welcome to test")
	bob.Expect(t, wait, command("TOPIC"))

	c := ircLogin(t, s, "alice", "one")
	// Before registering, the channel is already a room to the client.
	info := node(t, c.IQ(t, wait, `<iq type="get" to="`+chanJID+`"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`))
	if id := info.Child(nsDiscoInfo, "query").Child(nsDiscoInfo, "identity"); id.Attr("category") != "conference" || id.Attr("type") != "irc" ||
		!strings.Contains(info.String(), `var="http://jabber.org/protocol/muc"`) {
		t.Errorf("room disco#info before registering: %s", info)
	}
	ircRegister(t, c, "alice")

	// Join: bob (op, as channel creator) first, then ourselves, then the topic.
	c.SendRaw(t, `<presence to="`+chanJID+`/alice"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	var got []string
	for {
		st := node(t, c.Expect(t, 2*wait, fromChan))
		got = append(got, st.Attr("from"))
		if st.Local == "presence" && st.Attr("from") == chanJID+"/bob" {
			item := st.Child(nsMUCUser, "x").Child(nsMUCUser, "item")
			if item.Attr("role") != "moderator" || item.Attr("affiliation") != "admin" || item.Attr("jid") != "bob%irc.test@"+ircDomain {
				t.Errorf("bob's occupant item: %s", item)
			}
		}
		if st.Local == "presence" && st.Attr("from") == chanJID+"/alice" && !statusCodes(st)["110"] {
			t.Errorf("self presence without 110: %s", st)
		}
		if st.Local == "message" {
			if st.ChildText("", "subject") != "Welcome to test" {
				t.Errorf("subject: %s", st)
			}
			break
		}
	}
	if len(got) != 3 || got[0] != chanJID+"/bob" || got[1] != chanJID+"/alice" {
		t.Errorf("join order: %v", got)
	}
	bob.Expect(t, wait, func(m ircmsg.Message) bool { return m.Command == "JOIN" && m.Nick() == "alice" })

	// XMPP -> IRC, with a multi-line body and an injection attempt.
	c.SendRaw(t, `<message to="`+chanJID+`" type="groupchat" id="x1"><body>hello irc
QUIT :pwned</body></message>`)
	bob.Expect(t, wait, privmsg("#test", "hello irc"))
	bob.Expect(t, wait, privmsg("#test", "QUIT :pwned"))
	c.Expect(t, wait, func(s *testenv.Stanza) bool { return s.Attr["id"] == "x1" })

	// IRC -> XMPP, including /me.
	bob.Send(t, "PRIVMSG #test :hello xmpp")
	c.Expect(t, wait, func(s *testenv.Stanza) bool { return fromChan(s) && strings.Contains(s.XML, "hello xmpp") })
	bob.Send(t, "PRIVMSG #test :\x01ACTION waves\x01")
	c.Expect(t, wait, func(s *testenv.Stanza) bool { return fromChan(s) && strings.Contains(s.XML, "/me waves") })

	// 1:1 chats both ways, from the server-wide nick JID.
	bob.Send(t, "PRIVMSG alice :psst")
	pm := node(t, c.Expect(t, wait, chatFrom("bob%irc.test@"+ircDomain, "psst")))
	if pm.Attr("type") != "chat" {
		t.Errorf("private message type: %s", pm)
	}
	c.SendRaw(t, `<message to="bob%irc.test@`+ircDomain+`" type="chat" id="p1"><body>psst back</body></message>`)
	bob.Expect(t, wait, privmsg("bob", "psst back"))

	// A refused message comes back as an error on it, with the server's text.
	c.SendRaw(t, `<message to="nobody%irc.test@`+ircDomain+`" type="chat" id="p2"><body>anyone?</body></message>`)
	wantRefusal(t, c, "nobody%irc.test@"+ircDomain, "p2", "item-not-found", "No such nick")
	bob.Send(t, "MODE #test +m")
	bob.Expect(t, wait, command("MODE"))
	c.SendRaw(t, `<message to="`+chanJID+`" type="groupchat" id="x2"><body>may I?</body></message>`)
	wantRefusal(t, c, chanJID, "x2", "forbidden", "Cannot send to channel")
	bob.Send(t, "MODE #test -m")
	bob.Expect(t, wait, command("MODE"))

	// A mediated invitation becomes an IRC INVITE.
	dave := s.irc.Connect(t, "dave")
	c.SendRaw(t, `<message to="`+chanJID+`"><x xmlns="http://jabber.org/protocol/muc#user"><invite to="dave%irc.test@`+ircDomain+`"/></x></message>`)
	dave.Expect(t, wait, func(m ircmsg.Message) bool { return m.Command == "INVITE" && m.Params[1] == "#test" })

	// A second resource joins without new IRC traffic.
	c2 := ircLogin(t, s, "alice", "two")
	c2.SendRaw(t, `<presence to="`+chanJID+`/alice"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	c2.Expect(t, wait, func(s *testenv.Stanza) bool { return fromChan(s) && strings.Contains(s.XML, "<subject") })
	bob.Sync(t)
	bob.ExpectNone(t, 0, func(m ircmsg.Message) bool { return m.Command == "JOIN" && m.Nick() == "alice" })

	// Topic from XMPP (open to everyone, as ergo's channels start +t), nick
	// change and kick from IRC.
	bob.Send(t, "MODE #test -t")
	bob.Sync(t)
	c.SendRaw(t, `<message to="`+chanJID+`" type="groupchat"><subject>New topic</subject></message>`)
	bob.Expect(t, wait, func(m ircmsg.Message) bool { return m.Command == "TOPIC" && m.Params[1] == "New topic" })
	bob.Send(t, "NICK bobby")
	nick := node(t, c.Expect(t, wait, func(s *testenv.Stanza) bool {
		return s.Attr["from"] == chanJID+"/bob" && s.Attr["type"] == "unavailable"
	}))
	if !statusCodes(nick)["303"] {
		t.Errorf("nick change: %s", nick)
	}
	bob.Send(t, "KICK #test alice :out")
	kicked := node(t, c2.Expect(t, wait, func(s *testenv.Stanza) bool {
		return s.Attr["from"] == chanJID+"/alice" && s.Attr["type"] == "unavailable"
	}))
	if codes := statusCodes(kicked); !codes["307"] || !codes["110"] {
		t.Errorf("kick: %s", kicked)
	}
}

// wantRefusal waits for the error on message id from addr: condition
// cond, a text containing text, and not a chat from the server's JID.
func wantRefusal(t *testing.T, c *testenv.Client, addr, id, cond, text string) {
	t.Helper()
	st := node(t, c.Expect(t, wait, func(s *testenv.Stanza) bool {
		return s.Name == "message" && s.Attr["id"] == id && s.Attr["type"] == "error"
	}))
	e := st.Child("", "error")
	if st.Attr("from") != addr || e.Child(nsStanzas, cond) == nil || !strings.Contains(e.ChildText(nsStanzas, "text"), text) {
		t.Errorf("refusal of %s: %s; want from %s, %s, %q", id, st, addr, cond, text)
	}
}

func TestIRCFloodArrivesCompleteAndInOrder(t *testing.T) {
	s := startIRC(t, testenv.NgircdOptions{})
	c := ircLogin(t, s, "alice", "flood")
	ircRegister(t, c, "alice")
	bob := s.irc.Connect(t, "bob")
	c.SendRaw(t, `<message to="bob%irc.test@`+ircDomain+`" type="chat"><body>ready</body></message>`)
	bob.Expect(t, wait, privmsg("bob", "ready"))
	const n = 200
	for i := 0; i < n; i++ {
		bob.Send(t, fmt.Sprintf("PRIVMSG alice :line %d", i))
	}
	for i := 0; i < n; i++ {
		want := fmt.Sprintf("line %d<", i)
		st := c.Expect(t, 3*wait, chatFrom("bob%irc.test@"+ircDomain, "line "))
		if !strings.Contains(st.XML, want) {
			t.Fatalf("message %d out of order: %s", i, st.XML)
		}
	}
}

func TestIRCServerRestartRejoins(t *testing.T) {
	s := startIRC(t, testenv.NgircdOptions{})
	c := ircLogin(t, s, "alice", "restart")
	ircRegister(t, c, "alice")
	c.SendRaw(t, `<presence to="`+chanJID+`/alice"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	// Consume the whole join replay, so later expectations see only new stanzas.
	for {
		if st := c.Expect(t, 2*wait, fromChan); strings.Contains(st.XML, "<subject") {
			break
		}
	}

	s.irc.Stop(t)
	lost := node(t, c.Expect(t, wait, func(s *testenv.Stanza) bool {
		return s.Attr["from"] == chanJID+"/alice" && s.Attr["type"] == "unavailable"
	}))
	if !statusCodes(lost)["332"] {
		t.Errorf("connection lost presence: %s", lost)
	}
	// Stay down through failed attempts: the room must survive them.
	c.Expect(t, wait, chatFrom("irc.test@"+ircDomain, "Cannot connect"))
	s.irc.Start(t)
	// Ferry reconnects and rejoins by itself: the self-presence comes back.
	back := node(t, c.Expect(t, 3*wait, func(s *testenv.Stanza) bool {
		return s.Attr["from"] == chanJID+"/alice" && s.Attr["type"] == ""
	}))
	if !statusCodes(back)["110"] {
		t.Errorf("rejoin presence: %s", back)
	}
	bob := s.irc.Connect(t, "bob")
	bob.Send(t, "JOIN #test")
	// Talk only once alice is in the channel on the IRC side.
	bob.Expect(t, wait, func(m ircmsg.Message) bool {
		return m.Command == "353" && strings.Contains(" "+m.Params[len(m.Params)-1]+" ", "alice ") ||
			m.Command == "JOIN" && m.Nick() == "alice"
	})
	bob.Send(t, "PRIVMSG #test :are you back?")
	c.Expect(t, wait, func(s *testenv.Stanza) bool { return fromChan(s) && strings.Contains(s.XML, "are you back?") })
}

// Joining without registering registers implicitly with the join nick; a
// nick already taken on IRC comes back as a 409 conflict.
func TestIRCImplicitRegistrationAndNickConflict(t *testing.T) {
	forEachServer(t, testIRCImplicitRegistrationAndNickConflict)
}

func testIRCImplicitRegistrationAndNickConflict(t *testing.T, server string) {
	s := startIRCOn(t, server, testenv.NgircdOptions{})
	bob := s.irc.Connect(t, "bob")
	bob.Send(t, "JOIN #test")
	bob.Expect(t, wait, command("366"))
	c := ircLogin(t, s, "alice", "implicit")
	c.SendRaw(t, `<presence to="`+chanJID+`/carol"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	c.Expect(t, 2*wait, func(s *testenv.Stanza) bool {
		return s.Attr["from"] == chanJID+"/carol" && strings.Contains(s.XML, `code="110"`)
	})
	bob.Expect(t, wait, func(m ircmsg.Message) bool { return m.Command == "JOIN" && m.Nick() == "carol" })
	reg := node(t, c.IQ(t, wait, `<iq type="get" to="`+ircDomain+`"><query xmlns="jabber:iq:register"/></iq>`))
	if q := reg.Child(nsRegister, "query"); q.Child(nsRegister, "registered") == nil || q.ChildText(nsRegister, "nick") != "carol" {
		t.Errorf("implicit registration: %s", reg)
	}
	if strings.Contains(reg.String(), "client_cert") || strings.Contains(reg.String(), "PRIVATE KEY") {
		t.Errorf("the form shows the hidden client certificate: %s", reg)
	}

	c.SendRaw(t, `<presence to="`+chanJID+`/bob"/>`)
	conflict := node(t, c.Expect(t, wait, func(s *testenv.Stanza) bool {
		return fromChan(s) && s.Name == "presence" && s.Attr["type"] == "error"
	}))
	if errorCondition(conflict) != "conflict" {
		t.Errorf("nick in use: %s", conflict)
	}
}

// XEP-0092 and XEP-0199 to an IRC user's JID become CTCP VERSION and PING.
func TestIRCVersionAndPingReachTheUser(t *testing.T) {
	forEachServer(t, func(t *testing.T, server string) {
		testIRCVersionAndPingReachTheUser(t, startIRCOn(t, server, testenv.NgircdOptions{}))
	})
}

func testIRCVersionAndPingReachTheUser(t *testing.T, s *ircSetup) {
	c := ircLogin(t, s, "alice", "ctcp")
	ircRegister(t, c, "alice")
	bob := s.irc.Connect(t, "bob")
	c.SendRaw(t, `<message to="bob%irc.test@`+ircDomain+`" type="chat"><body>hi</body></message>`)
	bob.Expect(t, wait, privmsg("bob", "hi"))

	done := make(chan *testenv.Stanza, 1)
	go func() {
		done <- c.IQ(t, wait, `<iq type="get" to="bob%irc.test@`+ircDomain+`"><query xmlns="jabber:iq:version"/></iq>`)
	}()
	bob.Expect(t, wait, privmsg("bob", "\x01VERSION\x01"))
	bob.Send(t, "NOTICE alice :\x01VERSION irssi v1.4.3\x01")
	r := node(t, <-done)
	if q := r.Child("jabber:iq:version", "query"); q.ChildText("jabber:iq:version", "name") != "irssi" || q.ChildText("jabber:iq:version", "version") != "v1.4.3" {
		t.Errorf("version: %s", r)
	}

	go func() {
		done <- c.IQ(t, wait, `<iq type="get" to="bob%irc.test@`+ircDomain+`"><ping xmlns="urn:xmpp:ping"/></iq>`)
	}()
	ping := bob.Expect(t, wait, func(m ircmsg.Message) bool {
		return m.Command == "PRIVMSG" && strings.HasPrefix(m.Params[1], "\x01PING ")
	})
	bob.Send(t, "NOTICE alice :"+ping.Params[1])
	if r := <-done; r.Attr["type"] != "result" {
		t.Errorf("ping: %s", r.XML)
	}
}

// TLS is verified: with the server's CA the puppet connects; without it the
// user is told the certificate was refused, and nothing is sent in clear.
func TestIRCTLSIsVerified(t *testing.T) {
	testenv.NeedNgircd(t)
	srv := testenv.StartNgircd(t, testenv.NgircdOptions{Name: "irc.test", TLS: true})
	s := start(t, func(c *config.Config) {
		c.Transports = []config.Transport{{Kind: "irc", Domain: ircDomain, Secret: secret, Options: map[string]any{
			"network": []map[string]any{
				{"name": "irc.test", "address": srv.TLSAddr, "ca_file": srv.CACertFile()},
				{"name": "untrusted.test", "address": srv.TLSAddr},
			}}}}
	})
	setup := &ircSetup{setup: s, irc: srv}
	c := ircLogin(t, setup, "alice", "tls")
	ircRegister(t, c, "alice")
	c.Expect(t, wait, chatOrPresence(ircDomain, "Connected to irc.test as alice"))
	bob := srv.ConnectTLS(t, "bob")
	bob.Send(t, "PRIVMSG alice :over tls")
	c.Expect(t, wait, chatFrom("bob%irc.test@"+ircDomain, "over tls"))

	c.SendRaw(t, `<message to="bob%untrusted.test@`+ircDomain+`" type="chat"><body>x</body></message>`)
	refused := c.Expect(t, wait, chatFrom("untrusted.test@"+ircDomain, "TLS"))
	// Said in words the user can act on, without Go's error text.
	if !strings.Contains(refused.XML, "certificate is not valid for untrusted.test") || strings.Contains(refused.XML, "x509") {
		t.Errorf("the refused certificate is explained as: %s", refused.XML)
	}
}

func TestIRCChatRegistrationInOneLine(t *testing.T) {
	forEachServer(t, testIRCChatRegistrationInOneLine)
}

// A Conversations user registers in one line; a bad nick is refused at
// once, before anything else is asked, with what a nick may be.
func testIRCChatRegistrationInOneLine(t *testing.T, server string) {
	s := startIRCOn(t, server, testenv.NgircdOptions{})
	c := ircLogin(t, s, "alice", "oneline")
	say := func(text string) {
		c.SendRaw(t, `<message to="`+ircDomain+`" type="chat"><body>`+text+`</body></message>`)
	}
	say("register 9lives irc.test")
	refused := c.Expect(t, wait, chatFrom(ircDomain, "not a valid IRC nickname"))
	if body, _ := refused.Find("body"); !strings.Contains(body, "Usage: register NICKNAME [DEFAULT_IRC_SERVER]") {
		t.Errorf("refusal: %s", body)
	}
	say("register alice irc.test")
	c.Expect(t, wait, chatFrom(ircDomain, "Registered with "+ircDomain))
	acceptTransport(t, c, ircDomain)
	c.Expect(t, wait, chatOrPresence(ircDomain, "Connected to irc.test as alice"))
	for _, st := range c.Pending() {
		if body, _ := st.Find("body"); strings.Contains(body, "SASL") || strings.Contains(body, "User name") {
			t.Errorf("asked an advanced question: %s", body)
		}
	}
}

// An IRC connection lives while its user needs it: a join-only user's
// connection quits when they leave their last room; a registered user's
// when they leave their rooms and go offline; one who chose to stay
// connected keeps theirs while away.
func TestIRCConnectionFollowsTheUser(t *testing.T) {
	s := startIRC(t, testenv.NgircdOptions{})
	bob := s.irc.Connect(t, "bob")
	bob.Send(t, "JOIN #test")
	bob.Expect(t, wait, command("366"))
	// gone waits until the IRC server no longer knows nick: its QUIT is
	// seen only by those sharing a channel, so ask the server.
	gone := func(nick string) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for {
			bob.Send(t, "WHOIS "+nick)
			m := bob.Expect(t, wait, func(m ircmsg.Message) bool { return m.Command == "401" || m.Command == "318" })
			if m.Command == "401" {
				bob.Expect(t, wait, command("318"))
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s is still connected", nick)
			}
		}
	}
	joins := func(nick string) func(ircmsg.Message) bool {
		return func(m ircmsg.Message) bool { return m.Command == "JOIN" && m.Nick() == nick }
	}
	join := func(c *testenv.Client, nick string) {
		t.Helper()
		c.SendRaw(t, `<presence to="`+chanJID+`/`+nick+`"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
		c.Expect(t, wait, func(s *testenv.Stanza) bool {
			return s.Attr["from"] == chanJID+"/"+nick && strings.Contains(s.XML, `code="110"`)
		})
		bob.Expect(t, wait, joins(nick))
	}
	leave := func(c *testenv.Client, nick string) {
		t.Helper()
		c.SendRaw(t, `<presence to="`+chanJID+`/`+nick+`" type="unavailable"/>`)
		c.Expect(t, wait, func(s *testenv.Stanza) bool {
			return s.Attr["from"] == chanJID+"/"+nick && s.Attr["type"] == "unavailable"
		})
	}

	// Join-only: leaving the last room ends the connection.
	carol := ircLogin(t, s, "alice", "implicit")
	join(carol, "carol")
	leave(carol, "carol")
	gone("carol")

	// Registered and online: leaving the room keeps the connection (the
	// user is online); going offline then ends it.
	dave := ircLogin(t, s, "bob", "online")
	ircRegister(t, dave, "dave")
	dave.Expect(t, wait, chatOrPresence(ircDomain, "Connected to irc.test as dave"))
	join(dave, "dave")
	leave(dave, "dave")
	bob.Send(t, "WHOIS dave")
	bob.Expect(t, wait, command("311")) // still connected
	dave.Close()
	gone("dave")

	// Staying connected: offline, the connection stays. (The client left
	// the room as it went: the channel is parted, as in any MUC.)
	erin := ircLogin(t, s, "admin", "stay")
	ircRegister(t, erin, "erin")
	erin.SendRaw(t, `<message to="`+ircDomain+`" type="chat"><body>set stay_connected yes</body></message>`)
	erin.Expect(t, wait, chatFrom(ircDomain, "Settings saved"))
	join(erin, "erin")
	erin.Close()
	// A barrier through erin's actor, from a session that is not
	// available: it answers after handling erin going offline.
	check := s.xmpp.Connect(t, "admin", passwords["admin"], "check")
	status := check.IQ(t, wait, `<iq type="set" to="`+ircDomain+`"><command xmlns="http://jabber.org/protocol/commands" node="status" action="execute"/></iq>`)
	if !strings.Contains(status.XML, "Connection: connected") {
		t.Errorf("staying connected, yet: %s", status.XML)
	}
	bob.Send(t, "WHOIS erin")
	bob.Expect(t, wait, func(m ircmsg.Message) bool { return m.Command == "311" && len(m.Params) > 1 && m.Params[1] == "erin" })
}

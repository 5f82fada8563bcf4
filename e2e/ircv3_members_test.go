package e2e

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/config"
	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// TestErgoMembers: what IRCv3 tells of channel members reaches XMPP users
// as occupant presences — who was already away and logged in when they
// joined (one WHO), accounts of those joining (extended-join) and logging
// in later (account-notify), real names changed (setname) — and invites
// of others are a room notice (invite-notify).
func TestErgoMembers(t *testing.T) {
	s := startErgo(t)
	s.irc.RegisterAccount(t, "bob", "bob-secret")
	s.irc.RegisterAccount(t, "carol", "carol-secret")
	// An account reserves its nick: they connect under another and ergo
	// gives them theirs when they log in.
	bob := s.irc.Connect(t, "bob_")
	bob.Send(t, "PRIVMSG NickServ :IDENTIFY bob bob-secret")
	bob.Expect(t, wait, func(m ircmsg.Message) bool { return m.Command == "900" || m.Nick() == "NickServ" })
	bob.Send(t, "AWAY :lunch")
	bob.Send(t, "JOIN #test")
	bob.Expect(t, wait, command("366"))

	c := ircLogin(t, s, "alice", "members")
	if r := ergoRegister(t, c, "alice"); r.Attr["type"] != "result" {
		t.Fatalf("registration: %s", r.XML)
	}
	acceptTransport(t, c, ircDomain)
	c.SendRaw(t, `<presence to="`+ergoRoom+`/alice"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	occupant := func(nick, status string) func(*testenv.Stanza) bool {
		return func(st *testenv.Stanza) bool {
			return st.Name == "presence" && st.Attr["from"] == ergoRoom+"/"+nick && strings.Contains(st.XML, status)
		}
	}
	// bob was away and logged in before alice came: the WHO on joining
	// shows both.
	p := node(t, c.Expect(t, 2*wait, occupant("bob", "account bob")))
	if p.ChildText("", "show") != "away" {
		t.Errorf("bob's presence after the join: %s", p)
	}
	if item := p.Child(nsMUCUser, "x").Child(nsMUCUser, "item"); strings.Contains(item.Attr("jid"), "account") {
		t.Errorf("the account leaked into the occupant's jid: %s", p)
	}
	bob.Send(t, "MODE #test +o alice")

	// carol joins logged in (extended-join), with her real name.
	carol := s.irc.Connect(t, "carol_")
	carol.Send(t, "PRIVMSG NickServ :IDENTIFY carol carol-secret")
	carol.Expect(t, wait, func(m ircmsg.Message) bool { return m.Command == "900" || m.Nick() == "NickServ" })
	carol.Send(t, "JOIN #test")
	p = node(t, c.Expect(t, wait, occupant("carol", "account carol")))
	if got := p.ChildText("", "status"); got != "testenv user carol_ · account carol" {
		t.Errorf("carol's status: %q", got)
	}

	// dave joins without an account, changes his real name, then
	// registers one (ergo logs him in at once): account-notify.
	dave := s.irc.Connect(t, "dave")
	dave.Send(t, "CAP REQ :setname")
	dave.Expect(t, wait, command("CAP"))
	dave.Send(t, "JOIN #test")
	c.Expect(t, wait, occupant("dave", "testenv user dave"))
	dave.Send(t, "SETNAME :Dave Davis")
	c.Expect(t, wait, occupant("dave", ">Dave Davis<"))
	dave.Send(t, "PRIVMSG NickServ :REGISTER dave-secret")
	c.Expect(t, wait, occupant("dave", ">Dave Davis · account dave<"))

	// bob invites erin: alice, an operator, reads it in the room.
	erin := s.irc.Connect(t, "erin")
	defer erin.Close()
	bob.Send(t, "INVITE erin #test")
	c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Name == "message" && st.Attr["from"] == ergoRoom && strings.Contains(st.XML, "bob invited erin to #test")
	})
}

// TestIRCNetsplitBatch: a netsplit the server wraps in a batch takes its
// members out of the room one by one and is told once, as a room notice.
// Before it, member lists with hosts (userhost-in-names) are read as
// nicks, and a member whose host changes (chghost) does not leave.
func TestIRCNetsplitBatch(t *testing.T) {
	srv := testenv.StartScriptedIRC(t, "scripted.test")
	srv.Caps = "batch chghost userhost-in-names"
	s := start(t, func(c *config.Config) {
		c.Transports = []config.Transport{{Kind: "irc", Domain: ircDomain, Secret: secret, Name: "IRC",
			Options: map[string]any{"network": []map[string]any{{"name": "scripted.test", "address": srv.Addr, "tls": false}}}}}
	})
	room := "#room%scripted.test@" + ircDomain
	c := s.xmpp.Login(t, "alice", passwords["alice"], "split")
	waitTransport(t, c, ircDomain)
	c.SendRaw(t, `<presence to="`+room+`/alice"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	irc := srv.Accept(t, wait)
	irc.Expect(t, wait, "JOIN")
	me := irc.Nick
	irc.Send(t,
		":"+me+"!u@h JOIN #room",
		":scripted.test 353 "+me+" = #room :"+me+"!u@h bob!b@h @carol!c@h dave!d@h",
		":scripted.test 366 "+me+" #room :End of /NAMES list.")
	occupants := map[string]bool{}
	c.Expect(t, wait, func(st *testenv.Stanza) bool {
		if nick, ok := strings.CutPrefix(st.Attr["from"], room+"/"); ok && st.Name == "presence" {
			occupants[nick] = true
		}
		return st.Name == "message" && strings.Contains(st.XML, "<subject")
	})
	c.TakeAll()
	if !occupants["bob"] || !occupants["carol"] || !occupants["dave"] || len(occupants) != 4 {
		t.Errorf("occupants from NAMES with hosts: %v", occupants)
	}
	irc.Send(t, ":dave!d@h CHGHOST d new.host", ":dave!d@new.host PRIVMSG #room :still here")
	c.Expect(t, wait, func(st *testenv.Stanza) bool { return st.Name == "message" && strings.Contains(st.XML, "still here") })
	for _, st := range c.TakeAll() {
		if st.Name == "presence" && st.Attr["from"] == room+"/dave" {
			t.Errorf("a host change showed in the room: %s", st.XML)
		}
	}

	irc.Send(t,
		"BATCH +ns1 netsplit hub.test leaf.test",
		"@batch=ns1 :bob!b@h QUIT :hub.test leaf.test",
		"@batch=ns1 :carol!c@h QUIT :hub.test leaf.test",
		"BATCH -ns1")
	left := map[string]bool{}
	notice := c.Expect(t, wait, func(st *testenv.Stanza) bool {
		if st.Name == "presence" && st.Attr["type"] == "unavailable" {
			left[strings.TrimPrefix(st.Attr["from"], room+"/")] = true
		}
		return st.Name == "message" && st.Attr["from"] == room
	})
	if body := node(t, notice).ChildText("", "body"); body != "netsplit (hub.test leaf.test): 2 left: bob, carol" {
		t.Errorf("netsplit notice: %q", body)
	}
	if !left["bob"] || !left["carol"] || len(left) != 2 {
		t.Errorf("left the room: %v", left)
	}
}

// TestErgoLabeledResponse: a command one resource sends to the network
// is answered to that resource only (labeled-response).
func TestErgoLabeledResponse(t *testing.T) {
	s := startErgo(t)
	bob := s.irc.Connect(t, "bob")
	phone := ircLogin(t, s, "alice", "phone")
	if r := ergoRegister(t, phone, "alice"); r.Attr["type"] != "result" {
		t.Fatalf("registration: %s", r.XML)
	}
	acceptTransport(t, phone, ircDomain)
	desk := ircLogin(t, s, "alice", "desk")
	phone.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Name == "presence" && st.Attr["from"] == ircDomain && strings.Contains(st.XML, "Connected to ergo.test")
	})

	server := "ergo.test@" + ircDomain
	phone.SendRaw(t, `<message to="`+server+`" type="chat" id="w1"><body>WHOIS bob</body></message>`)
	answer := node(t, phone.Expect(t, wait, chatFrom(server, "End of /WHOIS")))
	if body := answer.ChildText("", "body"); !strings.Contains(body, "testenv user bob") || answer.Attr("to") != "alice@localhost/phone" {
		t.Errorf("WHOIS answer: %s", answer)
	}
	// A message to both resources, sent after the answer, reaches the
	// desk; the answer must not have come before it.
	bob.Send(t, "PRIVMSG alice :after")
	desk.Expect(t, wait, chatFrom("bob%ergo.test@"+ircDomain, "after"))
	for _, st := range desk.TakeAll() {
		if strings.Contains(st.XML, "WHOIS") {
			t.Errorf("the other resource got the answer: %s", st.XML)
		}
	}
}

// TestIRCPlainAfterSCRAMRefused: services that refuse SCRAM-SHA-256 for
// an account they hold no SCRAM credentials for (ergo's accounts from
// before 2.8) but offer PLAIN too get the login with PLAIN, and the user
// is connected — at registration and in the session.
func TestIRCPlainAfterSCRAMRefused(t *testing.T) {
	srv := testenv.StartScriptedIRC(t, "scripted.test")
	srv.Caps = "sasl=PLAIN,SCRAM-SHA-256"
	var mechs []string
	srv.Authenticate = func(t testenv.TB, c *testenv.ScriptedConn, mech string) {
		mechs = append(mechs, mech)
		t.Logf("AUTHENTICATE %s", mech)
		c.Send(t, "AUTHENTICATE +")
		payload := c.Read(t, wait)
		login, _ := base64.StdEncoding.DecodeString(payload.Params[0])
		if mech == "PLAIN" && string(login) == "\x00alice\x00old-secret" {
			c.Send(t, ":scripted.test 900 "+c.Nick+" "+c.Nick+"!u@h alice :You are now logged in as alice",
				":scripted.test 903 "+c.Nick+" :SASL authentication successful")
			return
		}
		c.Send(t, ":scripted.test 904 * :SASL authentication failed")
	}
	s := start(t, func(c *config.Config) {
		c.Transports = []config.Transport{{Kind: "irc", Domain: ircDomain, Secret: secret, Name: "IRC",
			Options: map[string]any{"network": []map[string]any{{"name": "scripted.test", "address": srv.Addr, "tls": false}}}}}
	})
	c := s.xmpp.Login(t, "alice", passwords["alice"], "sasl")
	waitTransport(t, c, ircDomain)
	c.SendRaw(t, `<iq type="set" id="reg1" to="`+ircDomain+`"><query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit">`+
		`<field var="nick"><value>alice</value></field><field var="server"><value>scripted.test</value></field>`+
		`<field var="sasl_user"><value>alice</value></field><field var="sasl_password"><value>old-secret</value></field></x></query></iq>`)
	srv.Accept(t, wait).Expect(t, wait, "QUIT") // the login checked at registration
	if r := c.Expect(t, wait, func(st *testenv.Stanza) bool { return st.Attr["id"] == "reg1" }); r.Attr["type"] != "result" {
		t.Fatalf("registration: %s", r.XML)
	}
	acceptTransport(t, c, ircDomain)
	srv.Accept(t, wait)
	c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Name == "presence" && st.Attr["from"] == ircDomain && strings.Contains(st.XML, "Connected to scripted.test")
	})
	if want := []string{"SCRAM-SHA-256", "PLAIN", "SCRAM-SHA-256", "PLAIN"}; strings.Join(mechs, " ") != strings.Join(want, " ") {
		t.Errorf("mechanisms tried: %v, want %v", mechs, want)
	}
}

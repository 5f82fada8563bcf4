package e2e

import (
	"strings"
	"testing"

	"github.com/ergochat/irc-go/ircmsg"

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

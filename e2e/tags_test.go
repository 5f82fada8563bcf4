package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/config"
	"github.com/ferry-xmpp/ferry/internal/testenv"
)

const (
	nsChatStates = "http://jabber.org/protocol/chatstates"
	nsReactions  = "urn:xmpp:reactions:0"
	nsReply      = "urn:xmpp:reply:0"
)

// tagmsg matches a TAGMSG to target carrying tag.
func tagmsg(target, tag string) func(ircmsg.Message) bool {
	return func(m ircmsg.Message) bool {
		present, _ := m.GetTag(tag)
		return m.Command == "TAGMSG" && len(m.Params) == 1 && m.Params[0] == target && present
	}
}

func tagValue(m ircmsg.Message, tag string) string {
	_, v := m.GetTag(tag)
	return v
}

// ergoWithBob is ergo with bob in #test (with message-tags, so he sees
// client tags) and alice in it through Ferry.
func ergoWithBob(t *testing.T) (*testenv.Client, *testenv.IRCClient) {
	t.Helper()
	s := startErgo(t)
	bob := s.irc.Connect(t, "bob")
	bob.Send(t, "CAP REQ :message-tags")
	bob.Expect(t, wait, command("CAP"))
	bob.Send(t, "JOIN #test")
	bob.Expect(t, wait, command("366"))
	c := aliceInErgoRoom(t, s, "tags")
	return c, bob
}

// TestErgoTyping: chat states become +typing both ways, in the room and
// in a chat; a client's burst of <composing/> reaches IRC once, and
// <paused/> after it.
func TestErgoTyping(t *testing.T) {
	c, bob := ergoWithBob(t)

	for range 5 {
		c.SendRaw(t, `<message to="`+ergoRoom+`" type="groupchat"><composing xmlns="`+nsChatStates+`"/></message>`)
	}
	c.SendRaw(t, `<message to="`+ergoRoom+`" type="groupchat"><paused xmlns="`+nsChatStates+`"/></message>`)
	first := bob.Expect(t, wait, tagmsg("#test", "+typing"))
	second := bob.Expect(t, wait, tagmsg("#test", "+typing"))
	if tagValue(first, "+typing") != "active" || tagValue(second, "+typing") != "paused" {
		t.Errorf("typing on IRC: %v then %v; want one active, then paused", first.AllTags(), second.AllTags())
	}

	bob.Send(t, "@+typing=active TAGMSG #test")
	st := node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Name == "message" && st.Attr["from"] == ergoRoom+"/bob" && strings.Contains(st.XML, nsChatStates)
	}))
	if st.Attr("type") != "groupchat" || st.Child(nsChatStates, "composing") == nil || st.Child("", "body") != nil {
		t.Errorf("bob typing in the room: %s", st)
	}

	bobJID := "bob%ergo.test@" + ircDomain
	bob.Send(t, "@+typing=paused TAGMSG alice")
	st = node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Name == "message" && st.Attr["from"] == bobJID && strings.Contains(st.XML, nsChatStates)
	}))
	if st.Attr("type") != "chat" || st.Child(nsChatStates, "paused") == nil {
		t.Errorf("bob typing to alice: %s", st)
	}
	c.SendRaw(t, `<message to="`+bobJID+`" type="chat"><composing xmlns="`+nsChatStates+`"/></message>`)
	if m := bob.Expect(t, wait, tagmsg("bob", "+typing")); tagValue(m, "+typing") != "active" {
		t.Errorf("alice typing to bob: %v", m.AllTags())
	}
}

// TestErgoReactionsAndReplies: reactions and replies both ways; their
// targets are the server's msgids, which are the room's stanza-ids and,
// in a chat, mapped to the ids Ferry gave the messages. A reaction to a
// message Ferry cannot name on IRC is refused.
func TestErgoReactionsAndReplies(t *testing.T) {
	c, bob := ergoWithBob(t)
	info := node(t, c.IQ(t, wait, `<iq type="get" to="`+ergoRoom+`"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)).String()
	for _, f := range []string{nsChatStates, nsReactions, nsReply, "urn:xmpp:chat-markers:0"} {
		if !strings.Contains(info, `var="`+f+`"`) {
			t.Errorf("the room does not advertise %s: %s", f, info)
		}
	}

	// alice's message: bob sees its msgid, alice its stanza-id.
	c.SendRaw(t, `<message to="`+ergoRoom+`" type="groupchat" id="x1"><body>lunch?</body></message>`)
	lunch := bob.Expect(t, wait, privmsg("#test", "lunch?"))
	msgid := tagValue(lunch, "msgid")
	echo := node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool { return st.Name == "message" && st.Attr["id"] == "x1" }))
	if sid := echo.Child(nsSID, "stanza-id").Attr("id"); msgid == "" || sid != "ergo.test/"+msgid {
		t.Fatalf("stanza-id %q for msgid %q", sid, msgid)
	}

	// bob reacts and replies to it.
	fromBob := func(what string) func(*testenv.Stanza) bool {
		return func(st *testenv.Stanza) bool {
			return st.Name == "message" && st.Attr["from"] == ergoRoom+"/bob" && strings.Contains(st.XML, what)
		}
	}
	bob.Send(t, "@+draft/reply="+msgid+";+draft/react=👍 TAGMSG #test")
	r := node(t, c.Expect(t, wait, fromBob(nsReactions))).Child(nsReactions, "reactions")
	if r.Attr("id") != "ergo.test/"+msgid || r.ChildText(nsReactions, "reaction") != "👍" {
		t.Errorf("bob's reaction: %s", r)
	}
	bob.Send(t, "@+draft/reply="+msgid+" PRIVMSG #test :yes, noon")
	yes := node(t, c.Expect(t, wait, fromBob("yes, noon")))
	if yes.Child(nsReply, "reply").Attr("id") != "ergo.test/"+msgid {
		t.Errorf("bob's reply: %s", yes)
	}

	// alice reacts and replies to bob's reply.
	bobID := yes.Child(nsSID, "stanza-id").Attr("id")
	bobMsgid := strings.TrimPrefix(bobID, "ergo.test/")
	c.SendRaw(t, `<message to="`+ergoRoom+`" type="groupchat" id="r1"><reactions xmlns="`+nsReactions+`" id="`+bobID+`"><reaction>🎉</reaction></reactions></message>`)
	m := bob.Expect(t, wait, tagmsg("#test", "+draft/react"))
	if tagValue(m, "+draft/react") != "🎉" || tagValue(m, "+draft/reply") != bobMsgid {
		t.Errorf("alice's reaction on IRC: %v", m.AllTags())
	}
	quote := "> bob: yes, noon\n"
	c.SendRaw(t, `<message to="`+ergoRoom+`" type="groupchat" id="r2"><body>`+quote+`great</body>`+
		`<reply xmlns="`+nsReply+`" id="`+bobID+`"/><fallback xmlns="urn:xmpp:fallback:0" for="`+nsReply+`"><body start="0" end="17"/></fallback></message>`)
	m = bob.Expect(t, wait, privmsg("#test", "great"))
	if tagValue(m, "+draft/reply") != bobMsgid {
		t.Errorf("alice's reply on IRC: %v", m.AllTags())
	}

	// A reaction to a message IRC has no id for: refused, not dropped.
	c.SendRaw(t, `<message to="`+ergoRoom+`" type="groupchat" id="r3"><reactions xmlns="`+nsReactions+`" id="2aaaaaaaaaaaaaaaaaa"><reaction>👍</reaction></reactions></message>`)
	wantRefusal(t, c, ergoRoom, "r3", "item-not-found", "no id")

	// In a chat: bob's message gets an id from Ferry, which alice's
	// reaction names; one to an id Ferry never gave is refused.
	bobJID := "bob%ergo.test@" + ircDomain
	bob.Send(t, "PRIVMSG alice :are you there?")
	there := node(t, c.Expect(t, wait, chatFrom(bobJID, "are you there?")))
	c.SendRaw(t, `<message to="`+bobJID+`" type="chat" id="r4"><reactions xmlns="`+nsReactions+`" id="`+there.Attr("id")+`"><reaction>👋</reaction></reactions></message>`)
	m = bob.Expect(t, wait, tagmsg("bob", "+draft/react"))
	if tagValue(m, "+draft/react") != "👋" || tagValue(m, "+draft/reply") == "" {
		t.Errorf("alice's reaction in the chat: %v", m.AllTags())
	}
	c.SendRaw(t, `<message to="`+bobJID+`" type="chat" id="r5"><reactions xmlns="`+nsReactions+`" id="never-given"><reaction>👋</reaction></reactions></message>`)
	wantRefusal(t, c, bobJID, "r5", "item-not-found", "no id")
}

// TestNgircdWithoutClientTags: a server without message-tags (ngIRCd)
// gets no typing, a reply as the client's quote, and a reaction is
// refused with a reason rather than lost.
func TestNgircdWithoutClientTags(t *testing.T) {
	s := startIRC(t, testenv.NgircdOptions{})
	bob := s.irc.Connect(t, "bob")
	bob.Send(t, "JOIN #test")
	bob.Expect(t, wait, command("366"))
	c := ircLogin(t, s, "alice", "notags")
	ircRegister(t, c, "alice")
	c.SendRaw(t, `<presence to="`+chanJID+`/alice"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	c.Expect(t, 2*wait, func(st *testenv.Stanza) bool { return fromChan(st) && strings.Contains(st.XML, "<subject") })

	bob.Send(t, "PRIVMSG #test :lunch?")
	lunch := node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool { return fromChan(st) && strings.Contains(st.XML, "lunch?") }))
	sid := lunch.Child(nsSID, "stanza-id").Attr("id")

	c.SendRaw(t, `<message to="`+chanJID+`" type="groupchat"><composing xmlns="`+nsChatStates+`"/></message>`)
	c.SendRaw(t, `<message to="`+chanJID+`" type="groupchat" id="q1"><body>&gt; bob: lunch?
yes</body><reply xmlns="`+nsReply+`" id="`+sid+`"/><fallback xmlns="urn:xmpp:fallback:0" for="`+nsReply+`"><body start="0" end="14"/></fallback></message>`)
	// The quote comes first: no TAGMSG (ngIRCd would refuse it) before it.
	first := bob.Expect(t, wait, func(m ircmsg.Message) bool {
		return m.Command == "PRIVMSG" || m.Command == "TAGMSG" || m.Command == "421"
	})
	if first.Command != "PRIVMSG" || first.Params[1] != "> bob: lunch?" {
		t.Errorf("first line on IRC: %v %v, want the quote", first.Command, first.Params)
	}
	bob.Expect(t, wait, privmsg("#test", "yes"))

	c.SendRaw(t, `<message to="`+chanJID+`" type="groupchat" id="r1"><reactions xmlns="`+nsReactions+`" id="`+sid+`"><reaction>👍</reaction></reactions></message>`)
	wantRefusal(t, c, chanJID, "r1", "item-not-found", "no id")
}

// TestErgoReadMarkers: reading on one device clears on the others. The
// user's XMPP client displaying a room message marks it read on the
// server (MARKREAD, seen by another IRC client of the same account); a
// mark made by that other client shows on the XMPP client as a
// displayed marker from the user's own occupant; and on joining again
// the server's mark is shown after the history.
func TestErgoReadMarkers(t *testing.T) {
	s := startErgo(t)
	s.irc.RegisterAccount(t, "alice", "correct-horse")
	bob := s.irc.Connect(t, "bob")
	bob.Send(t, "JOIN #test")
	bob.Expect(t, wait, command("366"))
	c := ircLogin(t, s, "alice", "read")
	if r := ergoRegister(t, c, "alice", "sasl_user", "alice", "sasl_password", "correct-horse"); r.Attr["type"] != "result" {
		t.Fatalf("registration: %s", r.XML)
	}
	acceptTransport(t, c, ircDomain)
	join := func() {
		c.SendRaw(t, `<presence to="`+ergoRoom+`/alice"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
		c.Expect(t, 2*wait, func(st *testenv.Stanza) bool {
			return strings.HasPrefix(st.Attr["from"], ergoRoom) && strings.Contains(st.XML, "<subject")
		})
	}
	join()
	bob.Expect(t, wait, func(m ircmsg.Message) bool { return m.Command == "JOIN" && m.Nick() == "alice" })

	stanzaID := func(text string) string {
		st := node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool {
			return st.Name == "message" && st.Attr["from"] == ergoRoom+"/bob" && strings.Contains(st.XML, text)
		}))
		return st.Child(nsSID, "stanza-id").Attr("id")
	}
	bob.Send(t, "PRIVMSG #test :one")
	one := stanzaID("one")
	bob.Send(t, "PRIVMSG #test :two")
	two := stanzaID("two")

	// alice's other IRC client: the same account, the same nick.
	other := s.irc.ConnectWithPass(t, "alice", "alice:correct-horse")
	other.Send(t, "CAP REQ :draft/read-marker server-time")
	other.Expect(t, wait, command("CAP"))

	isMarkRead := func(m ircmsg.Message) bool {
		return m.Command == "MARKREAD" && len(m.Params) == 2 && m.Params[0] == "#test"
	}
	c.SendRaw(t, `<message to="`+ergoRoom+`" type="groupchat"><displayed xmlns="urn:xmpp:chat-markers:0" id="`+one+`"/></message>`)
	if m := other.Expect(t, wait, isMarkRead); !strings.HasPrefix(m.Params[1], "timestamp=2") {
		t.Errorf("the mark on IRC: %v", m.Params)
	}

	displayed := func(id string) func(*testenv.Stanza) bool {
		return func(st *testenv.Stanza) bool {
			return st.Name == "message" && st.Attr["from"] == ergoRoom+"/alice" && strings.Contains(st.XML, `<displayed`) && strings.Contains(st.XML, id)
		}
	}
	other.Send(t, "MARKREAD #test timestamp="+time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
	c.Expect(t, wait, displayed(two))

	// Leave and join again: the mark comes with the join.
	c.SendRaw(t, `<presence to="`+ergoRoom+`/alice" type="unavailable"/>`)
	c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Name == "presence" && st.Attr["from"] == ergoRoom+"/alice" && st.Attr["type"] == "unavailable"
	})
	join()
	c.Expect(t, wait, displayed(two))
}

// roomArchive reads a room's whole archive (MAM) and returns the bodies.
func roomArchive(t *testing.T, c *testenv.Client, roomJID, qid string) []string {
	t.Helper()
	r := node(t, c.IQ(t, wait, `<iq type="set" to="`+roomJID+`"><query xmlns="`+nsMAM+`" queryid="`+qid+`"/></iq>`))
	if r.Attr("type") != "result" {
		t.Fatalf("MAM query: %s", r)
	}
	var bodies []string
	for _, s := range c.Pending() {
		res := node(t, s).Child(nsMAM, "result")
		if res == nil || res.Attr("queryid") != qid {
			continue
		}
		c.Expect(t, wait, func(x *testenv.Stanza) bool { return x == s })
		bodies = append(bodies, res.Child("urn:xmpp:forward:0", "forwarded").Child("jabber:client", "message").ChildText("jabber:client", "body"))
	}
	return bodies
}

// TestErgoMultiline: a multi-line body goes to ergo as one draft/multiline
// batch (a client with the cap sees one batch; the user sees the
// server's echo once, as one message), and a batch from IRC arrives as
// one XMPP message, archived as one.
func TestErgoMultiline(t *testing.T) {
	c, bob := ergoWithBob(t)
	bob.Send(t, "CAP REQ :batch draft/multiline")
	bob.Expect(t, wait, command("CAP"))

	c.SendRaw(t, `<message to="`+ergoRoom+`" type="groupchat" id="ml1"><body>first line
second line</body></message>`)
	start := bob.Expect(t, wait, command("BATCH"))
	if len(start.Params) < 3 || start.Params[1] != "draft/multiline" || start.Params[2] != "#test" {
		t.Fatalf("batch start: %v", start.Params)
	}
	bob.Expect(t, wait, privmsg("#test", "first line"))
	bob.Expect(t, wait, privmsg("#test", "second line"))
	if end := bob.Expect(t, wait, command("BATCH")); end.Params[0] != "-"+strings.TrimPrefix(start.Params[0], "+") {
		t.Errorf("batch end: %v", end.Params)
	}
	echo := node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool { return st.Name == "message" && st.Attr["id"] == "ml1" }))
	if echo.ChildText("", "body") != "first line\nsecond line" || !strings.HasPrefix(echo.Child(nsSID, "stanza-id").Attr("id"), "ergo.test/") {
		t.Errorf("reflection: %s", echo)
	}

	bob.Send(t, "BATCH +b1 draft/multiline #test")
	bob.Send(t, "@batch=b1 PRIVMSG #test :roses are red")
	bob.Send(t, "@batch=b1 PRIVMSG #test :violets ")
	bob.Send(t, "@batch=b1;draft/multiline-concat PRIVMSG #test :are blue")
	bob.Send(t, "BATCH -b1")
	poem := node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Name == "message" && st.Attr["from"] == ergoRoom+"/bob" && strings.Contains(st.XML, "roses")
	}))
	if poem.ChildText("", "body") != "roses are red\nviolets are blue" {
		t.Errorf("bob's batch: %s", poem)
	}
	for _, st := range c.TakeAll() {
		if strings.Contains(st.XML, "violets") || st.Attr["id"] == "ml1" {
			t.Errorf("more than one message: %s", st.XML)
		}
	}
	got := roomArchive(t, c, ergoRoom, "q1")
	want := []string{"first line\nsecond line", "roses are red\nviolets are blue"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("archive %q, want %q", got, want)
	}
}

// TestErgoChatReadMark: a chat read on another IRC client of the account
// shows on the user's XMPP clients as their own displayed marker of the
// message (a sent carbon through XEP-0356), on a server that granted it.
func TestErgoChatReadMark(t *testing.T) {
	srv := testenv.StartErgo(t, testenv.ErgoOptions{})
	s := &ircSetup{irc: srv, setup: startOn(t, "prosody", serverOptions{privileged: true}, func(c *config.Config) {
		c.Transports = []config.Transport{{Kind: "irc", Domain: ircDomain, Secret: secret, Name: "IRC",
			Options: map[string]any{"network": []map[string]any{{"name": srv.Name, "address": srv.Addr, "tls": false}}}}}
	})}
	srv.RegisterAccount(t, "alice", "correct-horse")
	c := ircLogin(t, s, "alice", "chat")
	if r := c.IQ(t, wait, `<iq type="get"><query xmlns="jabber:iq:roster"/></iq>`); r.Attr["type"] != "result" {
		t.Fatalf("roster: %s", r.XML)
	}
	if r := ergoRegister(t, c, "alice", "sasl_user", "alice", "sasl_password", "correct-horse"); r.Attr["type"] != "result" {
		t.Fatalf("registration: %s", r.XML)
	}
	c.Expect(t, wait, rosterPush(ircDomain, "both"))
	c.SendRaw(t, `<presence/>`) // now that the transport is in her roster, it sees her online
	c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Name == "presence" && st.Attr["from"] == ircDomain && strings.Contains(st.XML, "Connected to ergo.test")
	})
	bob := srv.Connect(t, "bob")
	bobJID := "bob%ergo.test@" + ircDomain
	bob.Send(t, "PRIVMSG alice :are you there?")
	there := node(t, c.Expect(t, wait, chatFrom(bobJID, "are you there?")))

	other := srv.ConnectWithPass(t, "alice", "alice:correct-horse")
	other.Send(t, "MARKREAD bob timestamp="+time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
	carbon := c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Name == "message" && st.FindNode("sent/forwarded/message") != nil && strings.Contains(st.XML, "displayed")
	})
	fwd := carbon.FindNode("sent/forwarded/message")
	if fwd.Attr("to") != bobJID || fwd.Child("urn:xmpp:chat-markers:0", "displayed").Attr("id") != there.Attr("id") {
		t.Errorf("read mark carbon: %s", carbon.XML)
	}
}

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/config"
	"github.com/ferry-xmpp/ferry/internal/testbridge"
)

func waitSession(t *testing.T, s *setup, jid string) *testbridge.Session {
	t.Helper()
	return waitSessionWith(t, s, jid, func(map[string]string) bool { return true })
}

// waitSessionWith waits on the fake network's open events for a session
// of jid whose account values satisfy ok.
func waitSessionWith(t *testing.T, s *setup, jid string, ok func(map[string]string) bool) *testbridge.Session {
	t.Helper()
	deadline := time.After(wait)
	for {
		if sess := s.ferry.net.Session(jid); sess != nil && ok(sess.Account.Values) {
			return sess
		}
		select {
		case <-s.ferry.net.Opened():
		case <-deadline:
			t.Fatalf("no session for %s", jid)
		}
	}
}

func TestAdhocCommands(t *testing.T) { forEachServer(t, testAdhocCommands) }

func testAdhocCommands(t *testing.T, server string) {
	s := startOn(t, server, serverOptions{}, nil)
	c := s.login(t, "alice", "adhoc")
	items := node(t, c.IQ(t, wait, `<iq type="get" to="echo.localhost"><query xmlns="http://jabber.org/protocol/disco#items" node="http://jabber.org/protocol/commands"/></iq>`))
	if !strings.Contains(items.String(), `node="jabber:iq:register"`) || strings.Contains(items.String(), "list-users") {
		t.Fatalf("command list for a user: %s", items)
	}
	start := node(t, c.IQ(t, wait, `<iq type="set" to="echo.localhost"><command xmlns="http://jabber.org/protocol/commands" node="jabber:iq:register" action="execute"/></iq>`))
	cmd := start.Child("http://jabber.org/protocol/commands", "command")
	sid := cmd.Attr("sessionid")
	if cmd.Attr("status") != "executing" || sid == "" || cmd.Child(nsData, "x") == nil {
		t.Fatalf("execute: %s", start)
	}
	// A wrong value keeps the session open and says why.
	bad := node(t, c.IQ(t, wait, `<iq type="set" to="echo.localhost"><command xmlns="http://jabber.org/protocol/commands" node="jabber:iq:register" sessionid="`+sid+`"><x xmlns="jabber:x:data" type="submit"><field var="username"><value>al</value></field><field var="password"><value>wrong</value></field></x></command></iq>`))
	if !strings.Contains(bad.String(), "wrong password") || !strings.Contains(bad.String(), `status="executing"`) {
		t.Fatalf("wrong password via ad-hoc: %s", bad)
	}
	done := node(t, c.IQ(t, wait, `<iq type="set" to="echo.localhost"><command xmlns="http://jabber.org/protocol/commands" node="jabber:iq:register" sessionid="`+sid+`"><x xmlns="jabber:x:data" type="submit"><field var="username"><value>al</value></field><field var="password"><value>good</value></field></x></command></iq>`))
	if !strings.Contains(done.String(), `status="completed"`) {
		t.Fatalf("complete: %s", done)
	}
	waitSession(t, s, "alice@localhost")
	// A finished session cannot be reused.
	stale := node(t, c.IQ(t, wait, `<iq type="set" to="echo.localhost"><command xmlns="http://jabber.org/protocol/commands" node="jabber:iq:register" sessionid="`+sid+`"><x xmlns="jabber:x:data" type="submit"/></command></iq>`))
	if errorCondition(stale) != "bad-request" || !strings.Contains(stale.String(), "bad-sessionid") {
		t.Errorf("stale session: %s", stale)
	}
	// Cancel.
	st := node(t, c.IQ(t, wait, `<iq type="set" to="echo.localhost"><command xmlns="http://jabber.org/protocol/commands" node="settings" action="execute"/></iq>`))
	sid2 := st.Child("http://jabber.org/protocol/commands", "command").Attr("sessionid")
	cancel := node(t, c.IQ(t, wait, `<iq type="set" to="echo.localhost"><command xmlns="http://jabber.org/protocol/commands" node="settings" sessionid="`+sid2+`" action="cancel"/></iq>`))
	if !strings.Contains(cancel.String(), `status="canceled"`) {
		t.Errorf("cancel: %s", cancel)
	}
	status := node(t, c.IQ(t, wait, `<iq type="set" to="echo.localhost"><command xmlns="http://jabber.org/protocol/commands" node="status" action="execute"/></iq>`))
	if !strings.Contains(status.String(), "Registered with echo.localhost") {
		t.Errorf("status: %s", status)
	}
	// Admin commands are refused to users and served to admins.
	denied := node(t, c.IQ(t, wait, `<iq type="set" to="echo.localhost"><command xmlns="http://jabber.org/protocol/commands" node="list-users" action="execute"/></iq>`))
	if errorCondition(denied) == "" {
		t.Errorf("user ran an admin command: %s", denied)
	}
	a := s.login(t, "admin", "adhoc")
	list := node(t, a.IQ(t, wait, `<iq type="set" to="echo.localhost"><command xmlns="http://jabber.org/protocol/commands" node="list-users" action="execute"/></iq>`))
	if !strings.Contains(list.String(), "alice@localhost") {
		t.Errorf("list-users: %s", list)
	}
	del := node(t, a.IQ(t, wait, `<iq type="set" to="echo.localhost"><command xmlns="http://jabber.org/protocol/commands" node="delete-user" action="execute"/></iq>`))
	sid3 := del.Child("http://jabber.org/protocol/commands", "command").Attr("sessionid")
	gone := node(t, a.IQ(t, wait, `<iq type="set" to="echo.localhost"><command xmlns="http://jabber.org/protocol/commands" node="delete-user" sessionid="`+sid3+`"><x xmlns="jabber:x:data" type="submit"><field var="jid"><value>alice@localhost</value></field></x></command></iq>`))
	if !strings.Contains(gone.String(), "unregistered") {
		t.Fatalf("delete-user: %s", gone)
	}
	c.Expect(t, wait, from("presence", transportDomain, "unavailable"))
}

func TestChatCommands(t *testing.T) { forEachServer(t, testChatCommands) }

func testChatCommands(t *testing.T, server string) {
	s := startOn(t, server, serverOptions{}, nil)
	c := s.login(t, "alice", "chat")
	c.SendRaw(t, `<message to="echo.localhost" type="chat"><body>help</body></message>`)
	c.Expect(t, wait, chatFrom(transportDomain, "register"))
	c.SendRaw(t, `<message to="echo.localhost" type="chat"><body>register</body></message>`)
	c.Expect(t, wait, chatFrom(transportDomain, "Username"))
	// A bad answer is refused when it is given, and asked again.
	c.SendRaw(t, `<message to="echo.localhost" type="chat"><body>alice chat</body></message>`)
	c.Expect(t, wait, chatFrom(transportDomain, "may not contain spaces"))
	c.SendRaw(t, `<message to="echo.localhost" type="chat"><body>alice-chat</body></message>`)
	c.Expect(t, wait, chatFrom(transportDomain, "Password"))
	// The optional advanced question (the nickname) is not asked.
	c.SendRaw(t, `<message to="echo.localhost" type="chat"><body>chat-pw</body></message>`)
	c.Expect(t, wait, chatFrom(transportDomain, "Registered with"))
	sess := waitSession(t, s, "alice@localhost")
	if sess.Account.Values["username"] != "alice-chat" || sess.Account.Values["password"] != "chat-pw" {
		t.Errorf("chat registration stored %v", sess.Account.Values)
	}
	c.SendRaw(t, `<message to="echo.localhost" type="chat"><body>status</body></message>`)
	c.Expect(t, wait, chatFrom(transportDomain, "Connection: connected"))
	c.SendRaw(t, `<message to="echo.localhost" type="chat"><body>set stay_connected maybe</body></message>`)
	c.Expect(t, wait, chatFrom(transportDomain, "must be yes or no"))
	c.SendRaw(t, `<message to="echo.localhost" type="chat"><body>set colour blue</body></message>`)
	c.Expect(t, wait, chatFrom(transportDomain, "Usage: set KEY VALUE, where KEY is one of: stay_connected"))
	c.SendRaw(t, `<message to="echo.localhost" type="chat"><body>set stay_connected yes</body></message>`)
	c.Expect(t, wait, chatFrom(transportDomain, "Settings saved"))
	c.SendRaw(t, `<message to="echo.localhost" type="chat"><body>unregister</body></message>`)
	c.Expect(t, wait, chatFrom(transportDomain, "yes/no"))
	c.SendRaw(t, `<message to="echo.localhost" type="chat"><body>perhaps</body></message>`)
	c.Expect(t, wait, chatFrom(transportDomain, "Please answer yes or no"))
	c.SendRaw(t, `<message to="echo.localhost" type="chat"><body>yes</body></message>`)
	c.Expect(t, wait, chatFrom(transportDomain, "deleted"))
}

func TestMessagesBothWays(t *testing.T) { forEachServer(t, testMessagesBothWays) }

func testMessagesBothWays(t *testing.T, server string) {
	s := startOn(t, server, serverOptions{}, nil)
	c := s.login(t, "alice", "msg")
	unreg := node(t, c.IQ(t, wait, `<iq type="get" to="bob@echo.localhost"><query xmlns="urn:example:x"/></iq>`))
	if errorCondition(unreg) != "service-unavailable" {
		t.Errorf("IQ to puppet: %s", unreg)
	}
	c.SendRaw(t, `<message to="bob@echo.localhost" type="chat" id="m0"><body>too early</body></message>`)
	early := node(t, c.Expect(t, wait, from("message", "bob@echo.localhost", "error")))
	if errorCondition(early) != "registration-required" {
		t.Errorf("message before registering: %s", early)
	}
	register(t, c)
	sess := waitSession(t, s, "alice@localhost")

	c.SendRaw(t, `<message to="bob@echo.localhost" type="chat" id="m1"><body>hello
second line</body></message>`)
	echo := node(t, c.Expect(t, wait, chatFrom("bob@echo.localhost", "echo: hello")))
	if echo.ChildText("", "body") != "echo: hello\nsecond line" {
		t.Errorf("echo body = %q", echo.ChildText("", "body"))
	}
	if got := sess.Sent(); len(got) != 1 || got[0].Peer != "bob" || got[0].ID != "m1" {
		t.Errorf("legacy side got %+v", got)
	}
	c.SendRaw(t, `<message to="unreachable@echo.localhost" type="chat" id="m2"><body>x</body></message>`)
	fail := node(t, c.Expect(t, wait, from("message", "unreachable@echo.localhost", "error")))
	if errorCondition(fail) != "remote-server-not-found" || fail.Attr("id") != "m2" {
		t.Errorf("failed send: %s", fail)
	}

	// The same legacy message id is delivered once.
	ctx := context.Background()
	for _, m := range []bridges.Message{{ID: "L1", Peer: "carol", Body: "first"}, {ID: "L1", Peer: "carol", Body: "first"}, {ID: "L2", Peer: "carol", Body: "second"}} {
		if err := sess.Inject(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	c.Expect(t, wait, chatFrom("carol@echo.localhost", "first"))
	next := node(t, c.Expect(t, wait, from("message", "carol@echo.localhost", "chat")))
	if next.ChildText("", "body") != "second" {
		t.Errorf("duplicate delivered: %s", next)
	}
}

func TestProsodyRestartLosesNothing(t *testing.T) {
	s := start(t, nil)
	c := s.login(t, "alice", "restart")
	register(t, c)
	sess := waitSession(t, s, "alice@localhost")

	s.xmpp.Stop(t)
	// Handed over while the server is down: stored, not lost.
	if err := sess.Inject(context.Background(), bridges.Message{ID: "down-1", Peer: "dave", Body: "sent while the server was down"}); err != nil {
		t.Fatalf("inject while down: %v", err)
	}
	s.xmpp.Start(t)

	c2 := s.xmpp.Login(t, "alice", "alicepw", "after")
	c2.Expect(t, 2*wait, chatFrom("dave@echo.localhost", "sent while the server was down"))
	waitLinkUp(t, c2)
	// The session resumed: messages flow again without restarting Ferry.
	c2.SendRaw(t, `<message to="bob@echo.localhost" type="chat" id="r1"><body>back</body></message>`)
	c2.Expect(t, wait, chatFrom("bob@echo.localhost", "echo: back"))
}

func TestWrongSecretDoesNotTakeOthersDown(t *testing.T) {
	s := start(t, func(c *config.Config) {
		c.Transports = append(c.Transports, config.Transport{Kind: testbridge.Kind, Domain: "broken.localhost", Secret: "wrong-secret"})
	})
	c := s.login(t, "alice", "secret")
	register(t, c)
	deadline := time.Now().Add(wait)
	for !strings.Contains(s.ferry.logs.String(), "configuration error") {
		if time.Now().After(deadline) {
			t.Fatalf("no configuration error logged; logs:\n%s", s.ferry.logs.String())
		}
		// Each ping is a round trip through the healthy transport.
		waitLinkUp(t, c)
	}
	logs := s.ferry.logs.String()
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "configuration error") && !strings.Contains(line, "broken.localhost") {
			t.Errorf("configuration error does not name the transport: %s", line)
		}
	}
}

func TestShutdownSaysGoodbye(t *testing.T) { forEachServer(t, testShutdownSaysGoodbye) }

func testShutdownSaysGoodbye(t *testing.T, server string) {
	s := startOn(t, server, serverOptions{}, nil)
	c := s.login(t, "alice", "bye")
	register(t, c)
	sess := waitSession(t, s, "alice@localhost")
	sess.Presence("erin", true)
	c.Expect(t, wait, from("presence", "erin@echo.localhost", ""))
	s.ferry.stop(t)
	c.Expect(t, wait, from("presence", "erin@echo.localhost", "unavailable"))
	c.Expect(t, wait, from("presence", transportDomain, "unavailable"))
}

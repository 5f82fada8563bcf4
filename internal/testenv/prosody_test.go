package testenv

import (
	"net"
	"strings"
	"testing"
	"time"
)

const waitStanza = 5 * time.Second

// startTestProsody runs the test in parallel with the others (each has its
// own server on its own ports) and starts a Prosody with one transport and
// two users.
func startTestProsody(t *testing.T) *Prosody {
	t.Helper()
	t.Parallel()
	Need(t, "prosody")
	return StartProsody(t, ProsodyOptions{
		Components: map[string]string{"irc.localhost": "s3cret"},
		Users:      map[string]string{"alice": "alice-pw", "bob": `b"o\b pw`},
	})
}

func isChat(from string) func(*Stanza) bool {
	return func(s *Stanza) bool {
		return s.Name == "message" && strings.HasPrefix(s.Attr["from"], from)
	}
}

func TestMessageBetweenUsers(t *testing.T) {
	p := startTestProsody(t)
	if p.Domain != "localhost" || !strings.HasPrefix(p.C2SAddr, "127.0.0.1:") || !strings.HasPrefix(p.ComponentAddr, "127.0.0.1:") {
		t.Fatalf("unexpected addresses: %+v", p)
	}
	alice := p.Login(t, "alice", "alice-pw", "test")
	bob := p.Login(t, "bob", `b"o\b pw`, "phone")
	if got := alice.JID.String(); got != "alice@localhost/test" {
		t.Errorf("alice bound %s", got)
	}

	alice.SendRaw(t, `<message to="bob@localhost" type="chat"><body>hello &amp; welcome</body></message>`)
	m := bob.Expect(t, waitStanza, isChat("alice@localhost/test"))
	if body, _ := m.Find("body"); body != "hello & welcome" {
		t.Errorf("body %q in %s", body, m.XML)
	}
	if typ, _ := m.Find("@type"); typ != "chat" {
		t.Errorf("type %q", typ)
	}

	// A ping to the server is answered, and IQ matches the reply by id.
	res := alice.IQ(t, waitStanza, `<iq type="get" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>`)
	if res.Attr["type"] != "result" {
		t.Errorf("ping: %s", res.XML)
	}

	// The component port speaks XEP-0114: it answers a stream header with
	// its own, naming the component's domain.
	conn, err := net.DialTimeout("tcp", p.ComponentAddr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = conn.Write([]byte(`<stream:stream xmlns="jabber:component:accept" xmlns:stream="http://etherx.jabber.org/streams" to="irc.localhost">`))
	_ = conn.SetReadDeadline(time.Now().Add(waitStanza))
	buf := make([]byte, 512)
	n, _ := conn.Read(buf)
	if !strings.Contains(string(buf[:n]), "irc.localhost") {
		t.Errorf("component stream header: %q", buf[:n])
	}
}

func TestBacklogKeepsUnmatched(t *testing.T) {
	p := startTestProsody(t)
	alice := p.Login(t, "alice", "alice-pw", "a")
	bob := p.Login(t, "bob", `b"o\b pw`, "b")
	for _, body := range []string{"one", "two", "three"} {
		alice.SendRaw(t, `<message to="bob@localhost/b" type="chat"><body>`+body+`</body></message>`)
	}
	withBody := func(want string) func(*Stanza) bool {
		return func(s *Stanza) bool { b, _ := s.Find("body"); return s.Name == "message" && b == want }
	}
	bob.Expect(t, waitStanza, withBody("three"))
	// A failed wait lists what is still queued.
	if _, err := bob.expect(50*time.Millisecond, withBody("four")); err == nil || !strings.Contains(err.Error(), "<body xmlns=\"jabber:client\">two</body>") {
		t.Errorf("expect error: %v", err)
	}
	bob.Expect(t, waitStanza, withBody("one"))
	bob.Expect(t, waitStanza, withBody("two"))
	bob.ExpectNone(t, 200*time.Millisecond, func(s *Stanza) bool { return s.Name == "message" })
}

func TestOfflineMessageAndAddUser(t *testing.T) {
	p := startTestProsody(t)
	alice := p.Login(t, "alice", "alice-pw", "a")
	p.AddUser(t, "carol", "carol-pw") // while Prosody runs
	alice.SendRaw(t, `<message to="carol@localhost" type="chat"><body>while you were out</body></message>`)
	// Make sure Prosody has handled the message before carol comes online.
	alice.IQ(t, waitStanza, `<iq type="get" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>`)
	carol := p.Login(t, "carol", "carol-pw", "c")
	m := carol.Expect(t, waitStanza, isChat("alice@localhost/a"))
	if body, _ := m.Find("body"); body != "while you were out" {
		t.Errorf("offline message: %s", m.XML)
	}
}

func TestRestart(t *testing.T) {
	p := startTestProsody(t)
	c2s, comp := p.C2SAddr, p.ComponentAddr
	alice := p.Login(t, "alice", "alice-pw", "a")
	p.Stop(t)
	select {
	case <-alice.Done():
	case <-time.After(waitStanza):
		t.Fatal("alice's stream still open after Prosody stopped")
	}
	if accepts(c2s) {
		t.Fatal("c2s port still accepts after Stop")
	}
	p.Stop(t) // stopping twice is harmless
	p.Start(t)
	if p.C2SAddr != c2s || p.ComponentAddr != comp {
		t.Fatalf("addresses changed over restart: %s %s", p.C2SAddr, p.ComponentAddr)
	}
	alice = p.Login(t, "alice", "alice-pw", "a")
	bob := p.Login(t, "bob", `b"o\b pw`, "b")
	bob.SendRaw(t, `<message to="alice@localhost" type="chat"><body>back</body></message>`)
	alice.Expect(t, waitStanza, isChat("bob@localhost/b"))
	if !strings.Contains(p.Log(), "Shutdown complete") {
		t.Error("log does not show the first run's shutdown")
	}
}

func TestWrongPassword(t *testing.T) {
	p := startTestProsody(t)
	if _, err := dialC2S(p.Domain, p.C2SAddr, "alice", "nope", "x"); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
}

func TestFind(t *testing.T) {
	toks, err := parseStanza(`<iq type="result" from="irc.localhost" id="1"><query xmlns="jabber:iq:register"><instructions> Fill in </instructions><registered/><x xmlns="jabber:x:data"><field var="a"/><field var="b"><value>2</value></field></x></query></iq>`)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newStanza(toks)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"query/instructions":   " Fill in ",
		"query/registered":     "",
		"query/x/field/value":  "2",
		"query/x/field@var":    "a",
		"@from":                "irc.localhost",
		"query/x/field/value/": "2",
	} {
		if got, ok := s.Find(path); !ok || got != want {
			t.Errorf("Find(%q) = %q, %v; want %q", path, got, ok, want)
		}
	}
	for _, path := range []string{"query/missing", "body", "query@nope"} {
		if _, ok := s.Find(path); ok {
			t.Errorf("Find(%q) found something", path)
		}
	}
	if s.Name != "iq" || s.Attr["id"] != "1" || !strings.Contains(s.XML, "jabber:iq:register") {
		t.Errorf("stanza %+v", s)
	}
}

func TestLuaStringAndEncodePath(t *testing.T) {
	if got := luaString("a\"b\\c\nd"); got != `"a\"b\\c\010d"` {
		t.Errorf("luaString: %s", got)
	}
	if got := encodePath("example.org"); got != "example%2eorg" {
		t.Errorf("encodePath: %s", got)
	}
}

// A port taken by someone else between FreePort and Prosody's bind is
// reported as errPortTaken (StartProsody then retries with new ports).
func TestPortTakenDetected(t *testing.T) {
	p := startTestProsody(t)
	p.Stop(t)
	l, err := net.Listen("tcp", p.C2SAddr)
	if err != nil {
		t.Skipf("port already reused: %v", err)
	}
	defer l.Close()
	if err := p.start(); err != errPortTaken {
		t.Errorf("start with c2s port taken: %v", err)
	}
	p.Stop(t)
}

func TestFreePort(t *testing.T) {
	lo, hi := portRange()
	seen := map[int]bool{}
	for range 20 {
		p := FreePort(t)
		if p < lo || p > hi || seen[p] {
			t.Fatalf("FreePort gave %d (range %d-%d, seen before: %v)", p, lo, hi, seen[p])
		}
		seen[p] = true
	}
}

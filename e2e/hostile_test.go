package e2e

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
	"github.com/ferry-xmpp/ferry/config"
	"github.com/ferry-xmpp/ferry/internal/testbridge"
	"github.com/ferry-xmpp/ferry/internal/testenv"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// The hostile suite: what an attacker or a failing machine did to Ferry
// (issue 13), kept as tests a person would recognise.

// TestHostileHugeStanzas: stanzas a real server would never pass on (it
// limits what clients send) reach Ferry through a scripted server. The
// size limit counts everything, the root element's own attributes
// included; the error reply echoes none of the bulk.
func TestHostileHugeStanzas(t *testing.T) {
	cs := testenv.StartComponentServer(t, "localhost", secret)
	cfg := config.Defaults()
	dir := t.TempDir()
	cfg.Database, cfg.SecretsKeyFile = filepath.Join(dir, "ferry.db"), filepath.Join(dir, "ferry.key")
	cfg.XMPP.Address, cfg.XMPP.ServerDomain = cs.Addr, "localhost"
	cfg.XMPP.ReconnectMin, cfg.XMPP.ReconnectMax = 50*time.Millisecond, 500*time.Millisecond
	cfg.Registration.AllowedDomains = []string{"localhost"}
	cfg.Transports = []config.Transport{{Kind: testbridge.Kind, Domain: transportDomain, Secret: secret, Name: "Echo"}}
	runFerry(t, cfg)
	cs.WaitConnected(t, wait)
	reply := func(id string) func(*xmlnode.Node) bool {
		return func(n *xmlnode.Node) bool { return n.Attr("id") == id }
	}
	bulk := strings.Repeat("x", 10<<20)

	// A childless message whose one attribute is 10 MB.
	cs.SendRaw(t, `<message from="alice@localhost/r" to="`+transportDomain+`" type="chat" id="fat-attr" junk="`+bulk+`"/>`)
	n := cs.Expect(t, wait, reply("fat-attr"))
	if n.Attr("type") != "error" || n.Child("", "error").Child("urn:ietf:params:xml:ns:xmpp-stanzas", "policy-violation") == nil {
		t.Fatalf("10 MB attribute: %.300s", n)
	}
	if b, _ := xmlnode.Marshal(n); len(b) > 4096 {
		t.Fatalf("the error reply is %d bytes", len(b))
	}
	// An IQ whose id alone is 10 MB cannot be answered; nothing id-less
	// comes back, and the stream goes on.
	cs.SendRaw(t, `<iq from="alice@localhost/r" to="`+transportDomain+`" type="get" id="`+bulk+`"><ping xmlns="urn:xmpp:ping"/></iq>`)
	cs.SendRaw(t, `<iq from="alice@localhost/r" to="`+transportDomain+`" type="get" id="after"><ping xmlns="urn:xmpp:ping"/></iq>`)
	if n := cs.Expect(t, wait, func(n *xmlnode.Node) bool { return n.Local == "iq" }); n.Attr("id") != "after" || n.Attr("type") != "result" {
		t.Fatalf("first IQ answered after a 10 MB id: %.300s", n)
	}
}

// TestHostileRegistrationForms: a cancelled form changes nothing (no
// re-registration, no reconnect) and a field given twice is refused.
func TestHostileRegistrationForms(t *testing.T) {
	s := start(t, nil)
	c := s.login(t, "alice", "forms")
	form := func(typ string, fields ...[2]string) string {
		var b strings.Builder
		b.WriteString(`<iq type="set" to="` + transportDomain + `"><query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="` + typ + `">`)
		b.WriteString(`<field var="FORM_TYPE"><value>jabber:iq:register</value></field>`)
		for _, f := range fields {
			fmt.Fprintf(&b, `<field var="%s"><value>%s</value></field>`, f[0], f[1])
		}
		b.WriteString(`</x></query></iq>`)
		return b.String()
	}
	if r := c.IQ(t, wait, form("submit", [2]string{"username", "alice"}, [2]string{"password", "pw"})); r.Attr["type"] != "result" {
		t.Fatalf("register: %s", r.XML)
	}
	c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Name == "presence" && st.Attr["from"] == transportDomain && strings.Contains(st.XML, "Connected as alice")
	})
	fromTransport := func() int {
		n := 0
		for _, st := range c.Pending() {
			if st.Name == "presence" && st.Attr["from"] == transportDomain {
				n++
			}
		}
		return n
	}
	before := fromTransport()

	if r := c.IQ(t, wait, form("cancel", [2]string{"username", "mallory"})); r.Attr["type"] != "result" {
		t.Fatalf("cancel: %s", r.XML)
	}
	r := c.IQ(t, wait, form("submit", [2]string{"username", "bob"}, [2]string{"username", "carol"}, [2]string{"password", "pw"}))
	if e := node(t, r); errorCondition(e) != "bad-request" || !strings.Contains(errorText(e), `"username" more than once`) {
		t.Fatalf("field given twice: %s", r.XML)
	}
	// Still alice, and no session was closed or opened (which would have
	// announced itself with the transport's presence before the answers).
	get := c.IQ(t, wait, `<iq type="get" to="`+transportDomain+`"><query xmlns="jabber:iq:register"/></iq>`)
	if u := node(t, get).Child(nsRegister, "query").ChildText(nsRegister, "username"); u != "alice" {
		t.Fatalf("registered as %q: %s", u, get.XML)
	}
	if n := fromTransport(); n != before {
		t.Fatalf("the transport's presence changed %d times: the session was restarted", n-before)
	}
}

// TestHostileIRCRegistration: values no IRC server can take are refused at
// registration, and the logins registrations make are rate-limited.
func TestHostileIRCRegistration(t *testing.T) {
	s := startIRC(t, testenv.NgircdOptions{Password: "letmein"})
	c := ircLogin(t, s, "alice", "irc")
	reg := func(fields string) *xmlnode.Node {
		r := c.IQ(t, wait, `<iq type="set" to="`+ircDomain+`"><query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit">`+
			`<field var="server"><value>irc.test</value></field>`+fields+`</x></query></iq>`)
		return node(t, r)
	}
	for _, tc := range []struct{ fields, field string }{
		{`<field var="nick"><value>alice</value></field><field var="realname"><value>Alice&#10;QUIT :bye</value></field>`, "real name"},
		{`<field var="nick"><value>alice</value></field><field var="username"><value>al ice</value></field>`, "user name"},
		{`<field var="nick"><value>alice</value></field><field var="realname"><value>` + strings.Repeat("r", 100<<10) + `</value></field>`, "real name"},
		{`<field var="nick"><value>9lives</value></field>`, "nickname"},
	} {
		if e := reg(tc.fields); errorCondition(e) != "not-acceptable" || !strings.Contains(errorText(e), tc.field) {
			t.Errorf("registration with a bad %s: %.300s", tc.field, e)
		}
	}
	// Three logins at once are fine (a user retrying a password); the
	// fourth waits, with a wait-type error saying for how long.
	withPassword := `<field var="nick"><value>alice</value></field><field var="server_password"><value>letmein</value></field>`
	for i := range 3 {
		if e := reg(withPassword); e.Attr("type") != "result" {
			t.Fatalf("login %d: %s", i+1, e)
		}
	}
	e := reg(withPassword)
	var wait int
	if errorCondition(e) != "resource-constraint" || e.Child("", "error").Attr("type") != "wait" {
		t.Fatalf("fourth login in a row: %s", e)
	}
	// One login every 20 s after the first three: the wait left depends
	// on how long the three took.
	if _, err := fmt.Sscanf(errorText(e)[strings.Index(errorText(e), "try again in "):], "try again in %d s", &wait); err != nil || wait < 1 || wait > 20 {
		t.Fatalf("fourth login in a row: %q", errorText(e))
	}
}

// TestHostileMailServers: a registration naming a special-purpose address
// is refused, in the words used for a server that does not answer.
func TestHostileMailServers(t *testing.T) {
	s := startMail(t)
	c := mailLogin(t, s, "alice")
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := strings.Split(closed.Addr().String(), ":")[1]
	closed.Close()
	var texts []string
	for _, hp := range [][2]string{
		{"100.100.100.200", "993"}, // cloud metadata
		{"127.0.0.2", "22"},        // loopback, not on the allowed list
		{"127.0.0.1", closedPort},  // allowed, nothing listening
	} {
		f := s.aliceFields()
		f["imap_host"], f["imap_port"] = hp[0], hp[1]
		e := node(t, mailRegister(t, c, f))
		if errorCondition(e) != "remote-server-not-found" {
			t.Fatalf("registration naming %s: %s", hp, e)
		}
		texts = append(texts, strings.ReplaceAll(errorText(e), net.JoinHostPort(hp[0], hp[1]), "HOST"))
	}
	for _, text := range texts[1:] {
		if text != texts[0] {
			t.Errorf("the errors tell the hosts apart:\n%s", strings.Join(texts, "\n"))
		}
	}
}

// TestHostileDiskFull: /healthz says the gateway cannot store what it
// accepts while the disk is full, and is healthy again once there is room.
func TestHostileDiskFull(t *testing.T) {
	dir := testenv.Tmpfs(t, 8<<20)
	port := testenv.FreePort(t)
	s := start(t, func(c *config.Config) {
		c.Database = filepath.Join(dir, "ferry.db")
		c.HTTP.Listen = fmt.Sprintf("127.0.0.1:%d", port)
	})
	c := s.login(t, "alice", "disk")
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
	var health struct {
		OK            bool   `json:"ok"`
		Database      string `json:"database"`
		DatabaseError string `json:"database_error"`
	}
	if code := getJSON(t, url, &health); code != http.StatusOK || health.Database != "ok" {
		t.Fatalf("healthz on an empty disk: %d %+v", code, health)
	}

	free := testenv.FillDisk(t, dir)
	if code := getJSON(t, url, &health); code != http.StatusServiceUnavailable || health.OK || health.Database != "error" ||
		!strings.Contains(health.DatabaseError, "no space left") && !strings.Contains(health.DatabaseError, "full") {
		t.Fatalf("healthz on a full disk: %d %+v", code, health)
	}
	// And indeed nothing can be stored: a registration fails.
	r := c.IQ(t, wait, `<iq type="set" to="echo.localhost"><query xmlns="jabber:iq:register"><username>u</username><password>pw</password></query></iq>`)
	if e := node(t, r); errorCondition(e) != "internal-server-error" {
		t.Fatalf("registration on a full disk: %s", r.XML)
	}

	free()
	if code := getJSON(t, url, &health); code != http.StatusOK || !health.OK {
		t.Fatalf("healthz with room again: %d %+v", code, health)
	}
	register(t, c)
}

// Free text with line breaks (a leave status, a kick reason) still reaches
// IRC, as one line: the user is really gone, the kick really happens.
func TestHostileReasonsReachIRC(t *testing.T) {
	s := startIRC(t, testenv.NgircdOptions{})
	bob := s.irc.Connect(t, "bob")
	bob.Send(t, "JOIN #test")
	bob.Expect(t, wait, command("366"))
	c := ircLogin(t, s, "alice", "reasons")
	c.SendRaw(t, `<presence to="`+chanJID+`/carol"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	c.Expect(t, wait, func(s *testenv.Stanza) bool {
		return s.Attr["from"] == chanJID+"/carol" && strings.Contains(s.XML, `code="110"`)
	})
	bob.Expect(t, wait, func(m ircmsg.Message) bool { return m.Command == "JOIN" && m.Nick() == "carol" })
	bob.Send(t, "MODE #test +o carol")
	c.Expect(t, wait, func(s *testenv.Stanza) bool {
		return s.Attr["from"] == chanJID+"/carol" && strings.Contains(s.XML, `role="moderator"`)
	})
	bob.Send(t, "MODE #test -o bob")

	kick := c.IQ(t, wait, `<iq type="set" to="`+chanJID+`"><query xmlns="http://jabber.org/protocol/muc#admin"><item nick="bob" role="none"><reason>spam&#13;&#10;QUIT :injected</reason></item></query></iq>`)
	if kick.Attr["type"] != "result" {
		t.Fatalf("kick: %s", kick.XML)
	}
	kicked := bob.Expect(t, wait, command("KICK"))
	if got := kicked.Params[len(kicked.Params)-1]; got != "spam QUIT :injected" {
		t.Errorf("kick reason on IRC: %q", got)
	}
	bob.Send(t, "JOIN #test")
	bob.Expect(t, wait, command("366"))

	c.SendRaw(t, `<presence to="`+chanJID+`/carol" type="unavailable"><status>bye&#13;&#10;PRIVMSG #test :injected</status></presence>`)
	part := bob.Expect(t, wait, func(m ircmsg.Message) bool { return m.Command == "PART" && m.Nick() == "carol" })
	if got := part.Params[len(part.Params)-1]; got != "bye PRIVMSG #test :injected" {
		t.Errorf("part reason on IRC: %q", got)
	}
	bob.ExpectNone(t, 200*time.Millisecond, func(m ircmsg.Message) bool { return m.Command == "PRIVMSG" })
}

// TestHostileOneClientFloods: one user's client sends 12,000 stanzas as
// fast as it can. Another user's conversation goes on meanwhile, the
// component link stays up (the watchdog does not take a busy Ferry for a
// dead server), and every one of the flood's messages gets its answer:
// refused as too much, or handled.
func TestHostileOneClientFloods(t *testing.T) {
	const flood = 12000
	// The watchdog pings often, with the default patience: a server busy
	// with the flood may take seconds to answer, and is not dead.
	s := start(t, func(c *config.Config) { c.XMPP.PingTimeout = config.Defaults().XMPP.PingTimeout })
	bob := s.login(t, "bob", "r")
	register(t, bob)
	waitSession(t, s, "bob@localhost")
	alice := s.login(t, "alice", "flood")
	for i := 0; i < flood; i++ {
		alice.SendRaw(t, fmt.Sprintf(`<message to="peer%d@echo.localhost" type="chat" id="f%d"><body>flood</body></message>`, i%50, i))
	}
	// Bob is heard while Ferry works through the flood.
	bob.SendRaw(t, `<message to="carol@echo.localhost" type="chat" id="b1"><body>still there?</body></message>`)
	bob.Expect(t, wait, chatFrom("carol@echo.localhost", "echo: still there?"))

	answered := map[string]bool{}
	for len(answered) < flood {
		st := alice.Expect(t, 2*wait, func(st *testenv.Stanza) bool {
			return st.Name == "message" && st.Attr["type"] == "error" && strings.HasPrefix(st.Attr["id"], "f")
		})
		answered[st.Attr["id"]] = true
	}
	if logs := s.ferry.logs.String(); strings.Count(logs, "XMPP server link up") != 1 {
		var why []string
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") || strings.Contains(l, "link") {
				why = append(why, l)
			}
		}
		t.Fatalf("the component link went down during the flood:\n%s", strings.Join(why, "\n"))
	}
}

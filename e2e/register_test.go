package e2e

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/config"
	"github.com/ferry-xmpp/ferry/internal/testenv"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

const (
	nsRegister = "jabber:iq:register"
	nsData     = "jabber:x:data"
	nsStanzas  = "urn:ietf:params:xml:ns:xmpp-stanzas"
)

func TestDiscovery(t *testing.T) { forEachServer(t, testDiscovery) }

func testDiscovery(t *testing.T, server string) {
	s := startOn(t, server, serverOptions{}, nil)
	c := s.login(t, "alice", "disco")

	info := node(t, c.IQ(t, wait, `<iq type="get" to="echo.localhost"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`))
	q := info.Child("http://jabber.org/protocol/disco#info", "query")
	id := q.Child("http://jabber.org/protocol/disco#info", "identity")
	if id.Attr("category") != "gateway" || id.Attr("type") != "echo" || id.Attr("name") != "Echo" {
		t.Errorf("identity = %s", id)
	}
	features := map[string]bool{}
	for _, f := range q.ChildrenNamed("http://jabber.org/protocol/disco#info", "feature") {
		features[f.Attr("var")] = true
	}
	for _, want := range []string{nsRegister, "jabber:iq:gateway", "http://jabber.org/protocol/commands",
		"http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items", "urn:xmpp:ping", "jabber:iq:version"} {
		if !features[want] {
			t.Errorf("feature %s missing", want)
		}
	}
	if features["urn:xmpp:http:upload:0"] {
		t.Error("transport advertises HTTP upload")
	}

	ver := node(t, c.IQ(t, wait, `<iq type="get" to="echo.localhost"><query xmlns="jabber:iq:version"/></iq>`))
	if got := ver.Child("jabber:iq:version", "query").ChildText("jabber:iq:version", "name"); got != "Ferry" {
		t.Errorf("version name = %q", got)
	}
	unknown := node(t, c.IQ(t, wait, `<iq type="get" to="echo.localhost"><query xmlns="urn:example:unknown"/></iq>`))
	if errorCondition(unknown) != "service-unavailable" {
		t.Errorf("unknown IQ: %s", unknown)
	}

	gw := node(t, c.IQ(t, wait, `<iq type="set" to="echo.localhost"><query xmlns="jabber:iq:gateway"><prompt>Bob</prompt></query></iq>`))
	if got := gw.Child("jabber:iq:gateway", "query").ChildText("jabber:iq:gateway", "jid"); got != "bob@echo.localhost" {
		t.Errorf("XEP-0100 mapping = %q (%s)", got, gw)
	}
	bad := node(t, c.IQ(t, wait, `<iq type="set" to="echo.localhost"><query xmlns="jabber:iq:gateway"><prompt>two words</prompt></query></iq>`))
	if errorCondition(bad) != "jid-malformed" {
		t.Errorf("bad prompt: %s", bad)
	}
}

func TestRegisterWithDataForm(t *testing.T) { forEachServer(t, testRegisterWithDataForm) }

func testRegisterWithDataForm(t *testing.T, server string) {
	s := startOn(t, server, serverOptions{}, nil)
	c := s.login(t, "alice", "reg")

	form := node(t, c.IQ(t, wait, `<iq type="get" to="echo.localhost"><query xmlns="jabber:iq:register"/></iq>`))
	q := form.Child(nsRegister, "query")
	if q.Child(nsRegister, "registered") != nil {
		t.Fatal("new user shown as registered")
	}
	if q.Child(nsRegister, "instructions") == nil || q.Child(nsRegister, "username") == nil || q.Child(nsRegister, "password") == nil {
		t.Errorf("legacy fields missing: %s", q)
	}
	x := q.Child(nsData, "x")
	fields := dataFields(x)
	if fields["FORM_TYPE"].Attr("type") != "hidden" || fields["FORM_TYPE"].ChildText(nsData, "value") != nsRegister {
		t.Errorf("FORM_TYPE missing: %s", x)
	}
	if fields["password"].Attr("type") != "text-private" || fields["password"].Child(nsData, "required") == nil {
		t.Errorf("password field: %s", fields["password"])
	}
	if fields["username"].Attr("label") == "" {
		t.Errorf("username has no label")
	}

	submit := `<iq type="set" to="echo.localhost"><query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit">` +
		`<field var="FORM_TYPE"><value>jabber:iq:register</value></field>` +
		`<field var="username"><value>alice-legacy</value></field>` +
		`<field var="password"><value>Sup3r-Secret-Pw</value></field></x></query></iq>`
	if r := c.IQ(t, wait, submit); r.Attr["type"] != "result" {
		t.Fatalf("register: %s", r.XML)
	}
	c.Expect(t, wait, from("presence", transportDomain, "subscribe"))
	c.Expect(t, wait, chatFrom(transportDomain, "Welcome"))

	again := node(t, c.IQ(t, wait, `<iq type="get" to="echo.localhost"><query xmlns="jabber:iq:register"/></iq>`))
	q = again.Child(nsRegister, "query")
	if q.Child(nsRegister, "registered") == nil {
		t.Error("<registered/> missing")
	}
	if q.ChildText(nsRegister, "username") != "alice-legacy" {
		t.Errorf("username not pre-filled: %s", q)
	}
	if strings.Contains(again.String(), "Sup3r-Secret-Pw") {
		t.Fatal("the registration form echoes the stored password")
	}

	// The secret is sealed: it appears nowhere in the database files.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(s.ferry.cfg.Database + suffix)
		if err != nil {
			continue
		}
		if bytes.Contains(b, []byte("Sup3r-Secret-Pw")) {
			t.Fatalf("password found in clear in %s", s.ferry.cfg.Database+suffix)
		}
	}
	// The session opened with the real secret.
	sess := waitSession(t, s, "alice@localhost")
	if sess.Account.Values["password"] != "Sup3r-Secret-Pw" {
		t.Errorf("session got password %q", sess.Account.Values["password"])
	}
}

func TestRegisterLegacyFieldsErrorsChangeAndRemove(t *testing.T) {
	forEachServer(t, testRegisterLegacyFieldsErrorsChangeAndRemove)
}

func testRegisterLegacyFieldsErrorsChangeAndRemove(t *testing.T, server string) {
	s := startOn(t, server, serverOptions{}, nil)
	c := s.login(t, "bob", "reg")

	wrong := node(t, c.IQ(t, wait, `<iq type="set" to="echo.localhost"><query xmlns="jabber:iq:register"><username>bob</username><password>wrong</password></query></iq>`))
	if errorCondition(wrong) != "not-authorized" || !strings.Contains(errorText(wrong), "wrong password") {
		t.Errorf("wrong password: %s", wrong)
	}
	missing := node(t, c.IQ(t, wait, `<iq type="set" to="echo.localhost"><query xmlns="jabber:iq:register"><username>bob</username></query></iq>`))
	if errorCondition(missing) != "not-acceptable" || !strings.Contains(errorText(missing), "Password") {
		t.Errorf("missing password: %s", missing)
	}
	badValue := node(t, c.IQ(t, wait, `<iq type="set" to="echo.localhost"><query xmlns="jabber:iq:register"><username>b ob</username><password>x</password></query></iq>`))
	if errorCondition(badValue) != "not-acceptable" {
		t.Errorf("bad username: %s", badValue)
	}
	removeFirst := node(t, c.IQ(t, wait, `<iq type="set" to="echo.localhost"><query xmlns="jabber:iq:register"><remove/></query></iq>`))
	if errorCondition(removeFirst) == "" {
		t.Errorf("remove while unregistered succeeded: %s", removeFirst)
	}

	if r := c.IQ(t, wait, `<iq type="set" to="echo.localhost"><query xmlns="jabber:iq:register"><username>bob1</username><password>pw1</password></query></iq>`); r.Attr["type"] != "result" {
		t.Fatalf("register: %s", r.XML)
	}
	waitSession(t, s, "bob@localhost")
	// Changing the username without re-typing the password keeps the password.
	if r := c.IQ(t, wait, `<iq type="set" to="echo.localhost"><query xmlns="jabber:iq:register"><username>bob2</username><password></password></query></iq>`); r.Attr["type"] != "result" {
		t.Fatalf("change: %s", r.XML)
	}
	sess := waitSessionWith(t, s, "bob@localhost", func(v map[string]string) bool { return v["username"] == "bob2" })
	if sess.Account.Values["password"] != "pw1" {
		t.Errorf("password after change = %q", sess.Account.Values["password"])
	}

	// A puppet that talked to bob must leave his roster on removal.
	sess.Presence("carol", true)
	c.Expect(t, wait, from("presence", "carol@echo.localhost", ""))
	if r := c.IQ(t, wait, `<iq type="set" to="echo.localhost"><query xmlns="jabber:iq:register"><remove/></query></iq>`); r.Attr["type"] != "result" {
		t.Fatalf("remove: %s", r.XML)
	}
	// (Prosody passes "unsubscribed" on only where a subscription exists;
	// TestSubscriptionHandshakeAndUnsubscribe covers that case.)
	c.Expect(t, wait, from("presence", "carol@echo.localhost", "unavailable"))
	c.Expect(t, wait, from("presence", transportDomain, "unavailable"))
	after := node(t, c.IQ(t, wait, `<iq type="get" to="echo.localhost"><query xmlns="jabber:iq:register"/></iq>`))
	if after.Child(nsRegister, "query").Child(nsRegister, "registered") != nil {
		t.Error("still registered after remove")
	}
}

func TestRegistrationPolicy(t *testing.T) {
	s := start(t, func(c *config.Config) { c.Registration.AllowedDomains = []string{"example.org"} })
	c := s.login(t, "alice", "policy")
	r := node(t, c.IQ(t, wait, `<iq type="set" to="echo.localhost"><query xmlns="jabber:iq:register"><username>a</username><password>p</password></query></iq>`))
	if errorCondition(r) != "not-allowed" {
		t.Errorf("registration from a domain not allowed: %s", r)
	}
	// Admins are not bound by the allow-list.
	a := s.login(t, "admin", "policy")
	if r := a.IQ(t, wait, `<iq type="set" to="echo.localhost"><query xmlns="jabber:iq:register"><username>a</username><password>p</password></query></iq>`); r.Attr["type"] != "result" {
		t.Errorf("admin registration: %s", r.XML)
	}
}

func TestSubscriptionHandshakeAndUnsubscribe(t *testing.T) {
	forEachServer(t, testSubscriptionHandshakeAndUnsubscribe)
}

func testSubscriptionHandshakeAndUnsubscribe(t *testing.T, server string) {
	s := startOn(t, server, serverOptions{}, nil)
	c := s.login(t, "alice", "sub")
	// Fetching the roster makes this resource "interested": it gets pushes.
	if r := c.IQ(t, wait, `<iq type="get"><query xmlns="jabber:iq:roster"/></iq>`); r.Attr["type"] != "result" {
		t.Fatalf("roster: %s", r.XML)
	}
	register(t, c)
	c.Expect(t, wait, from("presence", transportDomain, "subscribe"))
	// The user accepts and subscribes back, as clients do.
	c.SendRaw(t, `<presence to="echo.localhost" type="subscribed"/>`)
	c.SendRaw(t, `<presence to="echo.localhost" type="subscribe"/>`)
	// The server records the transport's "subscribed" answer as a roster
	// push with a mutual subscription.
	c.Expect(t, wait, func(s *testenv.Stanza) bool {
		return s.Name == "iq" && strings.Contains(s.XML, `jid="echo.localhost"`) && strings.Contains(s.XML, `subscription="both"`)
	})
	// Removing the transport from the roster unregisters.
	c.SendRaw(t, `<presence to="echo.localhost" type="unsubscribe"/>`)
	c.Expect(t, wait, chatFrom(transportDomain, "registration was deleted"))
	c.Expect(t, wait, func(s *testenv.Stanza) bool {
		return s.Name == "iq" && strings.Contains(s.XML, `jid="echo.localhost"`) && strings.Contains(s.XML, `subscription="none"`)
	})
	r := node(t, c.IQ(t, wait, `<iq type="get" to="echo.localhost"><query xmlns="jabber:iq:register"/></iq>`))
	if r.Child(nsRegister, "query").Child(nsRegister, "registered") != nil {
		t.Error("still registered after unsubscribe")
	}
}

func register(t *testing.T, c *testenv.Client) {
	t.Helper()
	r := c.IQ(t, wait, `<iq type="set" to="echo.localhost"><query xmlns="jabber:iq:register"><username>u</username><password>pw</password></query></iq>`)
	if r.Attr["type"] != "result" {
		t.Fatalf("register: %s", r.XML)
	}
}

func dataFields(x *xmlnode.Node) map[string]*xmlnode.Node {
	m := map[string]*xmlnode.Node{}
	for _, f := range x.ChildrenNamed(nsData, "field") {
		m[f.Attr("var")] = f
	}
	return m
}

func errorCondition(n *xmlnode.Node) string {
	if n.Attr("type") != "error" {
		return ""
	}
	for _, c := range n.Child("", "error").Children {
		if c.Space == nsStanzas && c.Local != "text" {
			return c.Local
		}
	}
	return ""
}

func errorText(n *xmlnode.Node) string {
	return n.Child("", "error").ChildText(nsStanzas, "text")
}

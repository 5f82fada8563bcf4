package component

import (
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

func isRosterSet(n *xmlnode.Node) bool {
	return n.Local == "iq" && n.Attr("type") == "set" && n.Child(nsRoster, "query") != nil
}

func isSubscribe(n *xmlnode.Node) bool {
	return n.Local == "presence" && n.Attr("type") == "subscribe"
}

// What a registration does to the user's roster depends on what the server
// granted (XEP-0356) right after the handshake: a roster push of the
// transport, in its group, or today's subscription request.
func TestRegistrationUsesGrantedRosterAccess(t *testing.T) {
	const register = `<iq type="set" id="reg" from="u@x.test/r" to="gw.test"><query xmlns="jabber:iq:register"><username>u</username><password>pw</password></query></iq>`
	tests := []struct {
		name  string
		grant string // injected before registering; "" for none
		// refuse answers the roster push with an error, as ejabberd 23.01 does.
		refuse   bool
		wantPush bool
	}{
		{"no grant", "", false, false},
		{"Prosody's privilege:2", `<message from="x.test" to="gw.test"><privilege xmlns="urn:xmpp:privilege:2"><perm access="roster" type="both"/><perm access="message" type="outgoing"/></privilege></message>`, false, true},
		{"ejabberd's privilege:1", `<message from="x.test" to="gw.test"><privilege xmlns="urn:xmpp:privilege:1"><perm type="outgoing" access="message"/><perm type="both" access="roster"/><perm type="none" access="presence"/></privilege></message>`, false, true},
		{"roster set only", `<message from="x.test" to="gw.test"><privilege xmlns="urn:xmpp:privilege:2"><perm access="roster" type="set"/></privilege></message>`, false, true},
		{"roster get only", `<message from="x.test" to="gw.test"><privilege xmlns="urn:xmpp:privilege:2"><perm access="roster" type="get"/></privilege></message>`, false, false},
		{"another host's users", `<message from="y.test" to="gw.test"><privilege xmlns="urn:xmpp:privilege:2"><perm access="roster" type="both"/></privilege></message>`, false, false},
		{"another component's grant", `<message from="x.test" to="other.test"><privilege xmlns="urn:xmpp:privilege:2"><perm access="roster" type="both"/></privilege></message>`, false, false},
		{"from a user, not a server", `<message from="evil@x.test/r" to="gw.test"><privilege xmlns="urn:xmpp:privilege:2"><perm access="roster" type="both"/></privilege></message>`, false, false},
		{"granted but refused", `<message from="x.test" to="gw.test"><privilege xmlns="urn:xmpp:privilege:1"><perm type="both" access="roster"/></privilege></message>`, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := startTransport(t)
			if tc.grant != "" {
				srv.inject(tc.grant)
			}
			srv.inject(register)
			n := srv.next(func(n *xmlnode.Node) bool { return isRosterSet(n) || isSubscribe(n) })
			if got := isRosterSet(n); got != tc.wantPush {
				t.Fatalf("got %s, want a roster push: %v", n, tc.wantPush)
			}
			if !tc.wantPush {
				return
			}
			item := n.Child(nsRoster, "query").Child(nsRoster, "item")
			if n.Attr("to") != "u@x.test" || item.Attr("jid") != "gw.test" || item.Attr("subscription") != "both" || item.ChildText(nsRoster, "group") != "Echo gateway" {
				t.Errorf("roster push: %s", n)
			}
			if !tc.refuse {
				return
			}
			srv.inject(`<iq type="error" id="` + n.Attr("id") + `" from="u@x.test" to="gw.test"><query xmlns="jabber:iq:roster"/><error type="wait"><internal-server-error xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></iq>`)
			if p := srv.next(isSubscribe); p.Attr("from") != "gw.test" || p.Attr("to") != "u@x.test" {
				t.Errorf("fallback after a refused push: %s", p)
			}
		})
	}
}

// The carbon wraps the user's message the way XEP-0356 and XEP-0280 say,
// with the forwarded messages in jabber:client.
func TestSentCarbonShape(t *testing.T) {
	inner := xmlnode.New(nsClient, "message").SetAttr("from", "u@x.test").SetAttr("to", "p@gw.test").
		SetAttr("type", "chat").Add(xmlnode.Elem("", "body", "hi"))
	b, err := xmlnode.Marshal(sentCarbon("gw.test", "x.test", nsPrivilege1, "u@x.test", inner))
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{
		`<message from="gw.test" to="x.test"`,
		`<privilege xmlns="urn:xmpp:privilege:1"><forwarded xmlns="urn:xmpp:forward:0"><message xmlns="jabber:client" from="u@x.test" to="u@x.test" type="chat"`,
		`<sent xmlns="urn:xmpp:carbons:2"><forwarded xmlns="urn:xmpp:forward:0"><message xmlns="jabber:client" from="u@x.test" to="p@gw.test" type="chat"><body>hi</body>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("carbon lacks %s:\n%s", want, got)
		}
	}
}

// A refused registration never sends the submitted password back, neither
// in the legacy fields nor in the form, nor in the error text.
func TestRegistrationErrorDoesNotEchoPassword(t *testing.T) {
	srv, _ := startTransport(t)
	for id, payload := range map[string]string{
		"legacy": `<username>has space</username><password>hunter2-secret</password>`,
		"form": `<x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE"><value>jabber:iq:register</value></field>` +
			`<field var="username"><value>has space</value></field><field var="password"><value>hunter2-secret</value></field></x>`,
	} {
		srv.inject(`<iq type="set" id="` + id + `" from="u@x.test/r" to="gw.test"><query xmlns="jabber:iq:register">` + payload + `</query></iq>`)
		n := srv.next(isReply(id))
		if n.Attr("type") != "error" || condition(n) != "not-acceptable" {
			t.Fatalf("%s: %s", id, n)
		}
		if strings.Contains(n.String(), "hunter2") {
			t.Errorf("%s: the error repeats the password: %s", id, n)
		}
		if q := n.Child(nsRegister, "query"); q == nil || len(q.Children) != 0 {
			t.Errorf("%s: the error should name the query, empty: %s", id, n)
		}
	}
}

package component

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/internal/testbridge"
)

const regForm = `<iq type="set" id="%s" from="u@x.test/r" to="gw.test"><query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="%s">` +
	`<field var="FORM_TYPE"><value>jabber:iq:register</value></field>%s</x></query></iq>`

func field(v, val string) string {
	return `<field var="` + v + `"><value>` + val + `</value></field>`
}

func regIQ(id, typ string, fields ...string) string {
	return fmt.Sprintf(regForm, id, typ, strings.Join(fields, ""))
}

// registeredUsername asks for the registration and returns the stored
// username.
func registeredUsername(t *testing.T, srv *fakeServer, id string) string {
	t.Helper()
	srv.inject(`<iq type="get" id="` + id + `" from="u@x.test/r" to="gw.test"><query xmlns="jabber:iq:register"/></iq>`)
	r := srv.next(isReply(id))
	q := r.Child(nsRegister, "query")
	if q == nil || q.Child(nsRegister, "registered") == nil {
		t.Fatalf("not registered: %s", r)
	}
	return q.ChildText(nsRegister, "username")
}

// noSessionChange fails if the user's legacy session was closed or opened.
func noSessionChange(t *testing.T, net *testbridge.Network, what string) {
	t.Helper()
	select {
	case j := <-net.Closed():
		t.Fatalf("%s closed the session of %s", what, j)
	case j := <-net.Opened():
		t.Fatalf("%s opened a session for %s", what, j)
	default:
	}
}

// TestRegistrationFormsThatChangeNothing: a cancelled form and a form
// with a field given twice leave the account and its session alone.
func TestRegistrationFormsThatChangeNothing(t *testing.T) {
	net := testbridge.NewNetwork()
	srv, _ := startTransportOn(t, net)
	srv.inject(regIQ("r1", "submit", field("username", "alice"), field("password", "pw")))
	if r := srv.next(isReply("r1")); r.Attr("type") != "result" {
		t.Fatalf("register: %s", r)
	}
	<-net.Opened()

	tests := []struct {
		name, id, raw string
		want          string // condition; "" for a result
		text          string
	}{
		{"cancelled data form", "c1", regIQ("c1", "cancel"), "", ""},
		{"cancelled data form carrying values", "c2", regIQ("c2", "cancel", field("username", "mallory"), field("password", "other")), "", ""},
		{"field given twice", "d1", regIQ("d1", "submit", field("username", "bob"), field("username", "carol"), field("password", "pw")), "bad-request", `"username" more than once`},
		{"FORM_TYPE given twice", "d2", regIQ("d2", "submit", field("FORM_TYPE", "jabber:iq:register"), field("username", "bob")), "bad-request", "more than once"},
		{"legacy element given twice", "d3", `<iq type="set" id="d3" from="u@x.test/r" to="gw.test"><query xmlns="jabber:iq:register">` +
			`<username>bob</username><username>carol</username><password>pw</password></query></iq>`, "bad-request", "<username/> more than once"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.inject(tc.raw)
			r := srv.next(isReply(tc.id))
			if tc.want == "" && r.Attr("type") != "result" || tc.want != "" && condition(r) != tc.want {
				t.Fatalf("reply %s, want %q", r, tc.want)
			}
			if tc.text != "" && !strings.Contains(r.Child("", "error").ChildText(nsStanzas, "text"), tc.text) {
				t.Errorf("error text of %s, want %q", r, tc.text)
			}
			if u := registeredUsername(t, srv, "g-"+tc.name); u != "alice" {
				t.Fatalf("username is now %q", u)
			}
			noSessionChange(t, net, tc.name)
		})
	}
}

// TestCommandFormCancelled: an ad-hoc command answered with a cancel form
// ends the command and changes nothing.
func TestCommandFormCancelled(t *testing.T) {
	net := testbridge.NewNetwork()
	srv, _ := startTransportOn(t, net)
	srv.inject(regIQ("r1", "submit", field("username", "alice"), field("password", "pw")))
	srv.next(isReply("r1"))
	<-net.Opened()
	srv.inject(`<iq type="set" id="e1" from="u@x.test/r" to="gw.test"><command xmlns="http://jabber.org/protocol/commands" node="jabber:iq:register" action="execute"/></iq>`)
	sid := srv.next(isReply("e1")).Child(nsCommands, "command").Attr("sessionid")
	srv.inject(`<iq type="set" id="e2" from="u@x.test/r" to="gw.test"><command xmlns="http://jabber.org/protocol/commands" node="jabber:iq:register" sessionid="` + sid + `">` +
		`<x xmlns="jabber:x:data" type="cancel"/></command></iq>`)
	if c := srv.next(isReply("e2")).Child(nsCommands, "command"); c == nil || c.Attr("status") != "canceled" {
		t.Fatalf("cancel: %v", c)
	}
	if u := registeredUsername(t, srv, "g1"); u != "alice" {
		t.Fatalf("username is now %q", u)
	}
	noSessionChange(t, net, "a cancelled command")
}

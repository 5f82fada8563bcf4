package component

import (
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/internal/testbridge"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

const itemNotFound = `<error type="cancel"><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">no such resource</text></error>`

// registerAlice registers u@x.test and waits for the session.
func registerAlice(t *testing.T, srv *fakeServer, net *testbridge.Network) *testbridge.Session {
	t.Helper()
	srv.inject(regIQ("reg", "submit", field("username", "alice"), field("password", "pw")))
	if r := srv.next(isReply("reg")); r.Attr("type") != "result" {
		t.Fatalf("register: %s", r)
	}
	<-net.Opened()
	return net.Session("u@x.test")
}

// waitFor polls cond (state the fake network keeps) until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s never happened", what)
		}
		time.Sleep(time.Millisecond) // the fake network records on the user's legacy goroutine
	}
}

// A resource that is gone (its server bounces the room's messages) is
// taken out of the room, and the network room is left with the last one.
func TestGroupChatBounceRemovesGhost(t *testing.T) {
	net := testbridge.NewNetwork()
	srv, _ := startTransportOn(t, net)
	sess := registerAlice(t, srv, net)
	srv.inject(`<presence from="u@x.test/phone" to="#room@gw.test/alice"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	srv.next(func(n *xmlnode.Node) bool { return n.Attr("to") == "u@x.test/phone" && isSelfPresence(n) })

	srv.inject(`<message type="error" from="u@x.test/phone" to="#room@gw.test/echobot">` + itemNotFound + `</message>`)
	bye := srv.next(func(n *xmlnode.Node) bool {
		return n.Local == "presence" && n.Attr("type") == "unavailable" && n.Attr("to") == "u@x.test/phone"
	})
	if !strings.HasPrefix(bye.Attr("from"), "#room@gw.test/") {
		t.Fatalf("leave from %s", bye)
	}
	waitFor(t, "the part on the network", func() bool { _, leaves := sess.Counts(); return leaves == 1 })
}

// A bounce that does not mean the resource is gone leaves it in the room.
func TestGroupChatBounceOtherErrorKeepsOccupant(t *testing.T) {
	net := testbridge.NewNetwork()
	srv, _ := startTransportOn(t, net)
	sess := registerAlice(t, srv, net)
	srv.inject(`<presence from="u@x.test/phone" to="#room@gw.test/alice"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	srv.next(func(n *xmlnode.Node) bool { return n.Attr("to") == "u@x.test/phone" && isSelfPresence(n) })
	srv.inject(`<message type="error" from="u@x.test/phone" to="#room@gw.test/echobot"><error type="wait"><resource-constraint xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></message>`)
	// The echo that follows proves the bounce was handled first (one
	// actor) and the resource is still in the room.
	srv.inject(`<message type="groupchat" id="g1" from="u@x.test/phone" to="#room@gw.test"><body>still here</body></message>`)
	srv.next(func(n *xmlnode.Node) bool {
		return n.Attr("to") == "u@x.test/phone" && n.ChildText("", "body") == "echo: still here"
	})
	if _, leaves := sess.Counts(); leaves != 0 {
		t.Fatalf("left the network room %d times", leaves)
	}
}

// A private message the user's server refuses is reported to the legacy
// person who wrote it, with the reason and the quoted body.
func TestChatBounceReportedToSender(t *testing.T) {
	net := testbridge.NewNetwork()
	srv, _ := startTransportOn(t, net)
	sess := registerAlice(t, srv, net)
	srv.inject(`<message type="error" from="u@x.test" to="bob@gw.test"><body>hi alice</body>` + itemNotFound + `</message>`)
	waitFor(t, "the report", func() bool { return len(sess.UndeliveredReports()) == 1 })
	got := sess.UndeliveredReports()[0]
	if got.Peer != "bob" || got.Body != "hi alice" || got.Reason != "no such resource" {
		t.Fatalf("report = %+v", got)
	}
}

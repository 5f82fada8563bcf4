package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// rosterPush matches a roster push about jid with the given subscription.
func rosterPush(jid, subscription string) func(*testenv.Stanza) bool {
	return func(s *testenv.Stanza) bool {
		item := s.FindNode("query/item")
		return s.Name == "iq" && s.Attr["type"] == "set" && item != nil &&
			item.Attr("jid") == jid && item.Attr("subscription") == subscription
	}
}

// With XEP-0356 permissions (Prosody's mod_privilege, ejabberd's built-in
// one): the transport and the puppets a user talks to are pushed into the
// roster, in a group named after the transport, without any subscription
// request; a message the user sent elsewhere appears in their chat as an
// XEP-0280 sent carbon; unregistering removes every item again.
func TestPrivilegedEntity(t *testing.T) { forEachServer(t, testPrivilegedEntity) }

func testPrivilegedEntity(t *testing.T, server string) {
	// ejabberd 23.01 (Debian 12) grants roster access but refuses every
	// roster change (its issue 3942, fixed in later releases): there Ferry
	// notices and falls back to the subscription handshake.
	rosterWorks := server != "ejabberd"
	s := startOn(t, server, serverOptions{privileged: true}, nil)
	c := s.login(t, "alice", "priv")
	// Fetching the roster makes this resource "interested": it gets pushes.
	if r := c.IQ(t, wait, `<iq type="get"><query xmlns="jabber:iq:roster"/></iq>`); r.Attr["type"] != "result" {
		t.Fatalf("roster: %s", r.XML)
	}
	register(t, c)
	if rosterWorks {
		push := c.Expect(t, wait, rosterPush(transportDomain, "both"))
		if g, _ := push.Find("query/item/group"); g != "Echo" {
			t.Errorf("the transport's roster group is %q, want the transport's name: %s", g, push.XML)
		}
	} else {
		c.Expect(t, wait, from("presence", transportDomain, "subscribe"))
	}
	c.Expect(t, wait, chatFrom(transportDomain, "Welcome"))
	sess := waitSession(t, s, "alice@localhost")
	ctx := context.Background()

	// A peer writes first: it joins the roster with the message.
	if err := sess.Inject(ctx, bridges.Message{Peer: "carol", Body: "hi alice"}); err != nil {
		t.Fatal(err)
	}
	carol := "carol@" + transportDomain
	if rosterWorks {
		push := c.Expect(t, wait, rosterPush(carol, "both"))
		if g, _ := push.Find("query/item/group"); g != "Echo" {
			t.Errorf("carol's roster group is %q: %s", g, push.XML)
		}
	}
	c.Expect(t, wait, chatFrom(carol, "hi alice"))

	// The user writes to a new peer: it joins the roster too.
	c.SendRaw(t, `<message to="dave@`+transportDomain+`" type="chat" id="d1"><body>hello dave</body></message>`)
	if rosterWorks {
		c.Expect(t, wait, rosterPush("dave@"+transportDomain, "both"))
	}

	// What she sent to carol from elsewhere shows as her own message.
	if err := sess.InjectSent(ctx, bridges.Message{ID: "elsewhere-1", Peer: "carol", Body: "sent from my other client"}); err != nil {
		t.Fatal(err)
	}
	carbon := c.Expect(t, wait, func(st *testenv.Stanza) bool {
		// From her own account: the bare JID, or no from at all (the test
		// client, like mellium, blanks a from that is the account's).
		own := st.Attr["from"] == "alice@localhost" || st.Attr["from"] == ""
		return st.Name == "message" && own && st.FindNode("sent/forwarded/message") != nil
	})
	fwd := carbon.FindNode("sent/forwarded/message")
	if body, _ := carbon.Find("sent/forwarded/message/body"); fwd.Attr("from") != "alice@localhost" || fwd.Attr("to") != carol || body != "sent from my other client" {
		t.Errorf("sent carbon: %s", carbon.XML)
	}
	if ns := carbon.FindNode("sent").Space; ns != "urn:xmpp:carbons:2" {
		t.Errorf("carbon namespace %q: %s", ns, carbon.XML)
	}
	// The same legacy message reported again is not shown twice.
	if err := sess.InjectSent(ctx, bridges.Message{ID: "elsewhere-1", Peer: "carol", Body: "sent from my other client"}); err != nil {
		t.Fatal(err)
	}
	// Unregistering takes every item out of the roster, with no
	// subscription presences needed.
	if r := c.IQ(t, wait, `<iq type="set" to="echo.localhost"><query xmlns="jabber:iq:register"><remove/></query></iq>`); r.Attr["type"] != "result" {
		t.Fatalf("unregister: %s", r.XML)
	}
	if !rosterWorks {
		// The handshake's end (unsubscribed) is dropped by the server, as
		// the test never accepted the subscription; the goodbye arrives.
		c.Expect(t, wait, from("presence", transportDomain, "unavailable"))
		return
	}
	for _, j := range []string{transportDomain, carol, "dave@" + transportDomain} {
		c.Expect(t, wait, rosterPush(j, "remove"))
	}
	for _, st := range c.Pending() {
		if st.Name == "presence" && strings.HasPrefix(st.Attr["type"], "subscribe") {
			t.Errorf("a subscription request with XEP-0356 roster access: %s", st.XML)
		}
		if st.Name == "message" && st.FindNode("sent") != nil {
			t.Errorf("the same sent message shown twice: %s", st.XML)
		}
	}
}

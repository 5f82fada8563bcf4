package component

import (
	"context"
	"testing"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/testbridge"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// On a network that cannot send a message again, a private message
// without a legacy id is delivered without being stored first; one with
// an id is stored (so a replay is delivered once). The server here
// confirms nothing, so whatever was stored stays pending.
func TestVolatileInboundSkipsTheStore(t *testing.T) {
	net := testbridge.NewNetwork()
	net.VolatileInbound = true
	h := startHarness(t, net, nil)
	h.srv.setAnswerPings(false)
	sess := registerAlice(t, h.srv, net)
	ctx := context.Background()
	pending := func() int {
		n, err := h.store.PendingCount(ctx, "gw.test")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	base := pending()

	if err := sess.Inject(ctx, bridges.Message{Peer: "bob", Body: "said once"}); err != nil {
		t.Fatal(err)
	}
	h.srv.next(func(n *xmlnode.Node) bool { return n.ChildText("", "body") == "said once" })
	if got := pending(); got != base {
		t.Fatalf("a message nothing could send again was stored: %d pending, %d before", got, base)
	}

	if err := sess.Inject(ctx, bridges.Message{ID: "m1", Peer: "bob", Body: "replayable"}); err != nil {
		t.Fatal(err)
	}
	h.srv.next(func(n *xmlnode.Node) bool { return n.ChildText("", "body") == "replayable" })
	if got := pending(); got != base+1 {
		t.Fatalf("a message with a legacy id was not stored: %d pending, %d before", got, base)
	}
	h.srv.setAnswerPings(true) // shutdown waits for the stored one to be confirmed
}

// A message that answers what one resource asked goes to that resource;
// a To naming anyone else's resource is ignored (the bare JID).
func TestAnswerGoesToTheResourceThatAsked(t *testing.T) {
	net := testbridge.NewNetwork()
	h := startHarness(t, net, nil)
	sess := registerAlice(t, h.srv, net)
	ctx := context.Background()
	for _, c := range []struct{ to, want string }{{"u@x.test/phone", "u@x.test/phone"}, {"mallory@x.test/r", "u@x.test"}, {"u@x.testing/r", "u@x.test"}} {
		if err := sess.Inject(ctx, bridges.Message{Peer: "bob", To: c.to, Body: "answer for " + c.to}); err != nil {
			t.Fatal(err)
		}
		m := h.srv.next(func(n *xmlnode.Node) bool { return n.ChildText("", "body") == "answer for "+c.to })
		if m.Attr("to") != c.want {
			t.Errorf("To %q: sent to %q, want %q", c.to, m.Attr("to"), c.want)
		}
	}
}

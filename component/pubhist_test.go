package component

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/testbridge"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// On a room the operator made public, a user who joins later reads what
// was said before they came, on join and through MAM; a room that is not
// public still shows them nothing from before (TestRoomHistory covers it
// in full), and a user who is not registered reads nothing.
func TestPublicRoomHistory(t *testing.T) {
	net := testbridge.NewNetwork()
	net.PublicHistory = func(room string) bool { return strings.HasPrefix(room, "#pub") }
	h := startHarness(t, net, nil)
	srv, clk := h.srv, h.clk
	alice, bob := "alice@x.test/phone", "bob@x.test/pc"
	as := registerAs(t, srv, net, "alice@x.test")
	registerAs(t, srv, net, "bob@x.test")

	for _, room := range []string{"#pub", "#private"} {
		joinAs(t, srv, alice, room, "")
		clk.advance(time.Second)
		for i := range 3 {
			as.Events().RoomMessage(room, "carol", bridges.Message{Body: fmt.Sprintf("%s early %d", room, i)})
			roomLines(t, srv, 1, alice)
			clk.advance(time.Second)
		}
	}
	want := []string{"#pub early 0", "#pub early 1", "#pub early 2"}

	// Before joining, bob may already read the public room's archive.
	if _, bodies, fin := mam(t, srv, bob, "#pub", "b0", ""); !slices.Equal(bodies, want) || fin.Attr("complete") != "true" {
		t.Errorf("bob's MAM before joining #pub: %v (fin %s), want %v", bodies, fin, want)
	}
	if _, _, e := mam(t, srv, bob, "#private", "b1", ""); condition(e) != "forbidden" {
		t.Errorf("bob's MAM on #private before joining: %s", e)
	}

	// Joining, he gets the lines said before he came, as history.
	replay := joinAs(t, srv, bob, "#pub", `<history maxstanzas="2"/>`)
	if got := historyBodies(replay); !slices.Equal(got, want[1:]) {
		t.Errorf("history on joining #pub: %v, want %v", got, want[1:])
	}
	if got := historyBodies(joinAs(t, srv, bob, "#private", "")); len(got) != 0 {
		t.Errorf("history on joining #private: %v, want none", got)
	}
	if _, bodies, _ := mam(t, srv, bob, "#private", "b2", ""); len(bodies) != 0 {
		t.Errorf("bob read %v of #private from before he joined", bodies)
	}

	// Paging the public archive backwards from its end.
	if _, bodies, fin := mam(t, srv, bob, "#pub", "b3", fmt.Sprintf(rsmMax, 2, "<before/>")); !slices.Equal(bodies, want[1:]) || fin.Attr("complete") == "true" {
		t.Errorf("bob's last page of #pub: %v (fin %s)", bodies, fin)
	}

	// Someone not registered reads nothing, public or not.
	if _, _, e := mam(t, srv, "eve@x.test/x", "#pub", "e1", ""); condition(e) != "forbidden" {
		t.Errorf("an unregistered user's MAM on #pub: %s", e)
	}

	// A user who turned history off for themselves gets none.
	chat(t, srv, bob, "set record_history no")
	if _, _, e := mam(t, srv, bob, "#pub", "b4", ""); condition(e) != "forbidden" {
		t.Errorf("with history off, bob's MAM on #pub: %s", e)
	}
}

// historyBodies are the bodies of the delayed messages among what a join
// got.
func historyBodies(got []*xmlnode.Node) []string {
	var out []string
	for _, n := range got {
		if n.Local == "message" && n.Child(nsDelay, "delay") != nil {
			out = append(out, n.ChildText("", "body"))
		}
	}
	return out
}

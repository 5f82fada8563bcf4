package component

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/testbridge"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
)

// A room message the network reports right after the join reaches the
// user after their own presence (status 110), never before and never
// lost, although messages skip the user's actor when it is idle.
func TestRoomMessageFollowsJoin(t *testing.T) {
	net := testbridge.NewNetwork()
	srv, _ := startTransportOn(t, net)
	srv.inject(regIQ("r1", "submit", field("username", "alice"), field("password", "pw")))
	if r := srv.next(isReply("r1")); r.Attr("type") != "result" {
		t.Fatalf("register: %s", r)
	}
	<-net.Opened()
	sess := net.Session("u@x.test")

	const rooms = 50
	for i := 0; i < rooms; i++ {
		srv.inject(fmt.Sprintf(`<presence from="u@x.test/r" to="#slow%d@gw.test/alice"><x xmlns="http://jabber.org/protocol/muc"/></presence>`, i))
	}
	deadline := time.Now().Add(10 * time.Second)
	for joins, _ := sess.Counts(); joins < rooms; joins, _ = sess.Counts() {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d joins reached the network", joins, rooms)
		}
		time.Sleep(time.Millisecond) // the joins reach the network on the user's legacy goroutine
	}

	ev := sess.Events()
	self := bridges.Occupant{Nick: "alice", Role: "participant", Affiliation: "none"}
	for i := 0; i < rooms; i++ {
		room := fmt.Sprintf("#slow%d", i)
		ev.RoomJoined(room, self, []bridges.Occupant{self}, "", "")
		ev.RoomMessage(room, "bob", bridges.Message{Body: "hello " + room})
	}

	joined := map[string]bool{}
	for got := 0; got < rooms; {
		n := srv.next(func(n *xmlnode.Node) bool {
			return strings.HasPrefix(n.Attr("from"), "#slow") && (isSelfPresence(n) || n.Local == "message" && n.Child("", "subject") == nil)
		})
		room, _, _ := strings.Cut(n.Attr("from"), "@")
		if n.Local == "presence" {
			joined[room] = true
			continue
		}
		if !joined[room] {
			t.Fatalf("message before the join in %s: %s", room, n)
		}
		if want := "hello " + room; n.ChildText("", "body") != want {
			t.Fatalf("in %s got %q, want %q", room, n.ChildText("", "body"), want)
		}
		got++
	}
}

func isSelfPresence(n *xmlnode.Node) bool {
	if n.Local != "presence" || n.Attr("type") != "" {
		return false
	}
	x := n.Child(nsMUCUser, "x")
	if x == nil {
		return false
	}
	for _, s := range x.Children {
		if s.Local == "status" && s.Attr("code") == "110" {
			return true
		}
	}
	return false
}

// TestEchoAndAwayRendering: a room message the network echoed back is
// shown with the client's id and origin-id and the network's id as
// stanza-id; an occupant who is away shows it with their text.
func TestEchoAndAwayRendering(t *testing.T) {
	net := testbridge.NewNetwork()
	srv, _ := startTransportOn(t, net)
	srv.inject(regIQ("r1", "submit", field("username", "alice"), field("password", "pw")))
	if r := srv.next(isReply("r1")); r.Attr("type") != "result" {
		t.Fatalf("register: %s", r)
	}
	<-net.Opened()
	sess := net.Session("u@x.test")
	srv.inject(`<presence from="u@x.test/r" to="#c@gw.test/alice"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	deadline := time.Now().Add(10 * time.Second)
	for joins, _ := sess.Counts(); joins < 1; joins, _ = sess.Counts() {
		if time.Now().After(deadline) {
			t.Fatal("the join never reached the network")
		}
		time.Sleep(time.Millisecond) // the join reaches the network on the user's legacy goroutine
	}
	ev := sess.Events()
	self := bridges.Occupant{Nick: "alice", Role: "participant", Affiliation: "none"}
	ev.RoomJoined("#c", self, nil, "", "")
	srv.next(isSelfPresence)

	ev.OccupantPresence("#c", bridges.Occupant{Nick: "bob", Role: "participant", Affiliation: "none", Away: "lunch"})
	away := srv.next(func(n *xmlnode.Node) bool { return n.Local == "presence" && n.Attr("from") == "#c@gw.test/bob" })
	if away.ChildText("", "show") != "away" || away.ChildText("", "status") != "lunch" {
		t.Errorf("away occupant: %s", away)
	}
	// Who they are (an IRC account, a real name) follows the away text
	// in the status, and is the status when they are back.
	for _, c := range []struct{ away, show, status string }{{"lunch", "away", "lunch · Bob B · account bob"}, {"", "", "Bob B · account bob"}} {
		ev.OccupantPresence("#c", bridges.Occupant{Nick: "bob", Role: "participant", Affiliation: "none", Away: c.away, About: "Bob B · account bob"})
		p := srv.next(func(n *xmlnode.Node) bool { return n.Local == "presence" && n.Attr("from") == "#c@gw.test/bob" })
		if p.ChildText("", "show") != c.show || p.ChildText("", "status") != c.status || strings.Contains(p.String(), "account bob%") {
			t.Errorf("occupant away=%q: %s", c.away, p)
		}
	}
	ev.RoomMessage("#c", "alice", bridges.Message{ID: "net-1", EchoOf: "c1", OriginID: "o1", Body: "hi"})
	echo := srv.next(func(n *xmlnode.Node) bool { return n.Local == "message" && n.ChildText("", "body") == "hi" })
	if echo.Attr("id") != "c1" || echo.Attr("from") != "#c@gw.test/alice" || echo.Child(nsStanzaID, "origin-id").Attr("id") != "o1" ||
		echo.Child(nsStanzaID, "stanza-id").Attr("id") != "net-1" {
		t.Errorf("echo: %s", echo)
	}
}

// A room answers disco#info as a room to anyone, registered or not, so
// clients offer to join it; other addresses stay what they are.
func TestRoomDiscoBeforeRegistering(t *testing.T) {
	h := startHarness(t, testbridge.NewNetwork(), nil)
	cases := []struct {
		to, category, typ string
		muc               bool
	}{
		{"#lobby@gw.test", "conference", "echo", true},
		{"bob@gw.test", "client", "pc", false},
	}
	for i, c := range cases {
		id := fmt.Sprintf("d%d", i)
		h.srv.inject(`<iq type="get" id="` + id + `" from="stranger@x.test/r" to="` + c.to + `"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
		r := h.srv.next(isReply(id))
		q := r.Child(nsDiscoInfo, "query")
		ident := q.Child(nsDiscoInfo, "identity")
		if r.Attr("type") != "result" || ident.Attr("category") != c.category || ident.Attr("type") != c.typ {
			t.Errorf("%s: %s", c.to, r)
		}
		features := map[string]bool{}
		for _, f := range q.ChildrenNamed(nsDiscoInfo, "feature") {
			features[f.Attr("var")] = true
		}
		if features[nsMUC] != c.muc {
			t.Errorf("%s: MUC feature %v, want %v: %s", c.to, features[nsMUC], c.muc, r)
		}
	}
	if _, err := h.store.GetAccount(context.Background(), "gw.test", "stranger@x.test"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("asking registered the stranger: %v", err)
	}
}

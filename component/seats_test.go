package component

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/testbridge"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
)

// runOn runs a transport on store until the returned stop is called (or
// the test ends), with its own fake server and echo network.
func runOn(t *testing.T, store *registry.SQLite, net *testbridge.Network) (srv *fakeServer, stop func()) {
	t.Helper()
	srv = newFakeServer(t, "pw")
	b, _ := net.Factory()("gw.test", nil, bridges.Deps{})
	tr := New(Options{
		Domain: "gw.test", Bridge: b, Store: store, Version: "test",
		Logger: slog.New(slog.NewTextHandler(testLogWriter(), nil)),
		Link: LinkConfig{Secret: "pw", Address: srv.addr(), PingTo: "server.test",
			PingInterval: time.Minute, PingTimeout: time.Second,
			ReconnectMin: 10 * time.Millisecond, ReconnectMax: 100 * time.Millisecond, LaneSize: 1000},
		Policy: Policy{OpenRegistrate: true},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = tr.Run(ctx); close(done) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	select {
	case <-srv.accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("transport never connected")
	}
	return srv, stop
}

func openStore(t *testing.T) *registry.SQLite {
	t.Helper()
	dir := t.TempDir()
	sealer, err := registry.LoadOrCreateKey(context.Background(), filepath.Join(dir, "key"), filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := registry.Open(context.Background(), filepath.Join(dir, "db"), sealer, registry.Options{AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

func hasStatus(n *xmlnode.Node, code string) bool {
	for _, s := range n.Child(nsMUCUser, "x").ChildrenNamed(nsMUCUser, "status") {
		if s.Attr("code") == code {
			return true
		}
	}
	return false
}

func selfPresenceTo(full string) func(*xmlnode.Node) bool {
	return func(n *xmlnode.Node) bool { return isSelfPresence(n) && n.Attr("to") == full }
}

// A user's resources in a room stay in it across a restart: a clean stop
// tells them nothing (no status 332), the next start rejoins the room
// with the same nick and shows them in it again; the restored resources
// are pinged once, and one that does not answer is taken out of the room
// (and of its stored seat), while the one that answers stays and may
// self-ping (XEP-0410). Someone who left the room meanwhile is shown
// leaving.
func TestRoomsSurviveRestart(t *testing.T) {
	store := openStore(t)
	net1 := testbridge.NewNetwork()
	srv, stop := runOn(t, store, net1)
	srv.inject(regIQ("r1", "submit", field("username", "alice"), field("password", "pw")))
	if r := srv.next(isReply("r1")); r.Attr("type") != "result" {
		t.Fatalf("register: %s", r)
	}
	for _, res := range []string{"a", "b"} {
		srv.inject(`<presence from="u@x.test/` + res + `" to="#room@gw.test/al"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
		srv.next(selfPresenceTo("u@x.test/" + res))
	}
	// Dave is there as Ferry stops, and gone when it is back.
	net1.Session("u@x.test").Events().OccupantPresence("#room", bridges.Occupant{Nick: "dave", Role: "participant"})
	srv.next(func(n *xmlnode.Node) bool {
		return n.Attr("from") == "#room@gw.test/dave" && n.Attr("to") == "u@x.test/b"
	})
	stop()
	for len(srv.stanzas) > 0 {
		if n := <-srv.stanzas; n.Local == "presence" && hasStatus(n, "332") {
			t.Errorf("a clean stop closed the room: %s", n)
		}
	}
	seats, err := store.RoomSeats(t.Context(), "gw.test")
	if err != nil || len(seats) != 1 || seats[0].Nick != "al" || !slices.Equal(seats[0].Resources, []string{"u@x.test/a", "u@x.test/b"}) {
		t.Fatalf("stored seats %+v (%v)", seats, err)
	}

	net2 := testbridge.NewNetwork()
	srv, stop2 := runOn(t, store, net2)
	pings := map[string]*xmlnode.Node{}
	joined := map[string]bool{}
	daveGone := map[string]bool{}
	for len(pings) < 2 || len(joined) < 2 || len(daveGone) < 2 {
		n := srv.next(func(n *xmlnode.Node) bool {
			return isSelfPresence(n) || n.Local == "iq" && n.Child(nsPing, "ping") != nil ||
				n.Attr("from") == "#room@gw.test/dave" && n.Attr("type") == "unavailable"
		})
		if n.Local == "presence" && n.Attr("type") == "unavailable" {
			if !joined[n.Attr("to")] {
				t.Errorf("dave shown gone before the room was back: %s", n)
			}
			daveGone[n.Attr("to")] = true
			continue
		}
		if n.Local == "iq" {
			if n.Attr("from") != "#room@gw.test" {
				t.Errorf("restore ping from %s", n.Attr("from"))
			}
			pings[n.Attr("to")] = n
			continue
		}
		if !strings.HasSuffix(n.Attr("from"), "/al") {
			t.Errorf("rejoined as %s", n.Attr("from"))
		}
		joined[n.Attr("to")] = true
	}
	if joins, _ := net2.Session("u@x.test").Counts(); joins != 1 {
		t.Errorf("%d joins after the restart, want 1", joins)
	}
	a := pings["u@x.test/a"]
	srv.inject(`<iq type="result" id="` + a.Attr("id") + `" from="u@x.test/a" to="#room@gw.test"/>`)
	b := pings["u@x.test/b"]
	srv.inject(`<iq type="error" id="` + b.Attr("id") + `" from="u@x.test/b" to="#room@gw.test"><ping xmlns="urn:xmpp:ping"/>` +
		`<error type="cancel"><service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></iq>`)
	gone := srv.next(func(n *xmlnode.Node) bool { return n.Local == "presence" && n.Attr("type") == "unavailable" })
	if gone.Attr("to") != "u@x.test/b" || !hasStatus(gone, "110") {
		t.Errorf("the ghost was not taken out: %s", gone)
	}

	for _, tc := range []struct{ from, want string }{{"u@x.test/a", "result"}, {"u@x.test/b", "error"}} {
		srv.inject(`<iq type="get" id="sp" from="` + tc.from + `" to="#room@gw.test/al"><ping xmlns="urn:xmpp:ping"/></iq>`)
		if r := srv.next(isReply("sp")); r.Attr("type") != tc.want || tc.want == "error" && condition(r) != "not-acceptable" {
			t.Errorf("self-ping from %s: %s", tc.from, r)
		}
	}
	stop2() // stores what is queued: the seat without the ghost
	seats, err = store.RoomSeats(t.Context(), "gw.test")
	if err != nil || len(seats) != 1 || !slices.Equal(seats[0].Resources, []string{"u@x.test/a"}) {
		t.Fatalf("stored seats after the ghost left: %+v (%v)", seats, err)
	}
}

package irc

import (
	"context"
	"slices"
	"testing"

	"github.com/ferry-xmpp/ferry/bridges"
)

// disco#items on a network: LIST is asked once, its answer sorted and
// kept, so the next page costs the server nothing; a channel or nick
// address is not a network.
func TestListRooms(t *testing.T) {
	n, srv, _ := testNetwork(t)
	n.s.networks["irc.test"] = n
	type answer struct {
		items    []bridges.RoomItem
		complete bool
		err      error
	}
	list := func() <-chan answer {
		ch := make(chan answer, 1)
		go func() {
			items, complete, err := n.s.ListRooms(context.Background(), n.serverLocal())
			ch <- answer{items, complete, err}
		}()
		return ch
	}
	got := list()
	if line := srv.readLine(); line != "LIST" {
		t.Fatalf("asked %q", line)
	}
	n.serverSays(t, ":srv 321 alice Channel :Users Name")
	n.serverSays(t, ":srv 322 alice #zeta 3 :\x02bold\x02 topic")
	n.serverSays(t, ":srv 322 alice #alpha 12 :")
	n.serverSays(t, ":srv 323 alice :End of LIST")
	want := []bridges.RoomItem{{Local: "#alpha%irc.test", Name: "#alpha (12)"}, {Local: "#zeta%irc.test", Name: "#zeta (3): *bold* topic"}}
	a := <-got
	if a.err != nil || !a.complete || !slices.Equal(a.items, want) {
		t.Fatalf("listed %+v complete=%v (%v), want %+v", a.items, a.complete, a.err, want)
	}
	if a := <-list(); a.err != nil || !slices.Equal(a.items, want) {
		t.Fatalf("from the kept answer: %+v (%v)", a.items, a.err)
	}
	for _, local := range []string{"#alpha%irc.test", "bob%irc.test"} {
		if _, _, err := n.s.ListRooms(context.Background(), local); err == nil {
			t.Errorf("%s listed as a network", local)
		}
	}
}

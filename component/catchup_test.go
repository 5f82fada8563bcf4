package component

import (
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/testbridge"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

func TestGapText(t *testing.T) {
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		from, to time.Time
		want     string
	}{
		{day.Add(14*time.Hour + 2*time.Minute), day.Add(14*time.Hour + 5*time.Minute), "Messages said between 14:02 and 14:05 (UTC)"},
		{day.Add(-time.Hour), day.Add(time.Hour), "Messages said between 2026-02-28 23:00 and 2026-03-01 01:00 (UTC)"},
		{time.Time{}, day.Add(time.Hour), "Messages said before 2026-03-01 01:00 (UTC)"},
	}
	for _, tt := range tests {
		if got := gapText(tt.from, tt.to); !strings.HasPrefix(got, tt.want+" may be missing") {
			t.Errorf("gapText(%v, %v) = %q, want %q…", tt.from, tt.to, got, tt.want)
		}
	}
}

// A line the network replays after a rejoin is shown with its own time
// however recent, and its id; a gap the network cannot fill is told to
// the room.
func TestReplayedLinesAndGaps(t *testing.T) {
	net := testbridge.NewNetwork()
	srv, clk := startTransportOn(t, net)
	srv.inject(regIQ("r1", "submit", field("username", "alice"), field("password", "pw")))
	if r := srv.next(isReply("r1")); r.Attr("type") != "result" {
		t.Fatalf("register: %s", r)
	}
	srv.inject(`<presence from="u@x.test/a" to="#room@gw.test/al"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	srv.next(selfPresenceTo("u@x.test/a"))
	ev := net.Session("u@x.test").Events()
	said := clk.Now().Add(-time.Second)
	ev.RoomMessage("#room", "bob", bridges.Message{Body: "missed", Time: said, ID: "irc/m1", Replayed: true})
	m := srv.next(func(n *xmlnode.Node) bool { return n.Local == "message" && n.ChildText("", "body") == "missed" })
	if d := m.Child(nsDelay, "delay"); d == nil || d.Attr("stamp") != said.UTC().Format(time.RFC3339Nano) {
		t.Errorf("replayed line without its time: %s", m)
	}
	if sid := m.Child(nsStanzaID, "stanza-id"); sid == nil || sid.Attr("id") != "irc/m1" {
		t.Errorf("replayed line without its archive id: %s", m)
	}
	ev.RoomGap("#room", said, clk.Now())
	g := srv.next(func(n *xmlnode.Node) bool { return n.Local == "message" && n.Attr("from") == "#room@gw.test" })
	if g.Attr("type") != "groupchat" || g.Attr("to") != "u@x.test/a" || !strings.Contains(g.ChildText("", "body"), "may be missing") {
		t.Errorf("gap notice: %s", g)
	}
}

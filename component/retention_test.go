package component

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/testbridge"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
)

// An admin gives one room a retention of its own, by chat and ad hoc:
// it is stored, history-size shows it, the pruner applies it to that
// room alone, and bad values are refused with nothing stored.
func TestRoomRetentionCommand(t *testing.T) {
	net := testbridge.NewNetwork()
	h := startHarness(t, net, nil)
	srv, clk := h.srv, h.clk
	admin, alice := "admin@x.test/r", "alice@x.test/phone"
	as := registerAs(t, srv, net, "alice@x.test")
	for _, room := range []string{"#short", "#long"} {
		joinAs(t, srv, alice, room, "")
	}
	// A line a day in each room, days 0 to 2.
	for day := range 3 {
		for _, room := range []string{"#short", "#long"} {
			as.Events().RoomMessage(room, "carol", bridges.Message{Body: fmt.Sprint(room, " day ", day)})
			roomLines(t, srv, 1, alice)
		}
		clk.advance(24 * time.Hour)
	}

	if got := chat(t, srv, alice, "retention #short 1 -"); !strings.Contains(got, "Unknown command") {
		t.Errorf("a user ran retention: %q", got)
	}
	for _, bad := range []string{"retention #short -3 -", "retention #short 1 lots", "retention nick 1 -", "retention #short@elsewhere.test 1 -"} {
		if got := chat(t, srv, admin, bad); !strings.HasPrefix(got, "Failed") {
			t.Errorf("%q answered %q", bad, got)
		}
	}
	if got := chat(t, srv, admin, "retention #short@gw.test 1 -"); !strings.Contains(got, "#short keeps 1 days (its own), any number of messages (the gateway's)") {
		t.Errorf("setting a retention: %q", got)
	}
	size := chat(t, srv, admin, "history")
	if !strings.Contains(size, "Kept: forever") || !strings.Contains(size, "Rooms with a retention of their own (1):\n#short: 1 days (its own)") {
		t.Errorf("history size: %q", size)
	}

	// A pruning round (the one the command woke may have run already)
	// leaves #short its last day and #long everything.
	h.tr.archive.prune(t.Context())
	for room, want := range map[string][]string{"#short": {"#short day 2"}, "#long": {"#long day 0", "#long day 1", "#long day 2"}} {
		if _, bodies, _ := mam(t, srv, alice, room, "q"+room, ""); strings.Join(bodies, "|") != strings.Join(want, "|") {
			t.Errorf("%s keeps %v, want %v", room, bodies, want)
		}
	}

	// Ad hoc: a bad value gets the form back with the error; a good one
	// completes. Both bounds left empty: the room follows the gateway.
	srv.inject(`<iq type="set" id="r1" from="` + admin + `" to="gw.test"><command xmlns="http://jabber.org/protocol/commands" node="room-retention" action="execute"/></iq>`)
	sid := srv.next(isReply("r1")).Child(nsCommands, "command").Attr("sessionid")
	submit := func(id string, fields ...string) *xmlnode.Node {
		srv.inject(`<iq type="set" id="` + id + `" from="` + admin + `" to="gw.test"><command xmlns="http://jabber.org/protocol/commands" node="room-retention" sessionid="` + sid +
			`"><x xmlns="jabber:x:data" type="submit">` + strings.Join(fields, "") + `</x></command></iq>`)
		return srv.next(isReply(id)).Child(nsCommands, "command")
	}
	cmd := submit("r2", field("room", "#long"), field("messages", "-1"))
	if cmd.Attr("status") != "executing" || !strings.Contains(cmd.ChildText(nsCommands, "note"), "Messages kept must be a whole number") || cmd.Child(nsData, "x") == nil {
		t.Errorf("a bad value: %s", cmd)
	}
	cmd = submit("r3", field("room", "#short"), field("days", ""), field("messages", ""))
	if cmd.Attr("status") != "completed" || !strings.Contains(cmd.ChildText(nsCommands, "note"), "as the gateway does again") {
		t.Errorf("clearing a retention: %s", cmd)
	}
	rooms, err := h.store.RoomRetentions(t.Context(), "gw.test")
	if err != nil || len(rooms) != 0 {
		t.Errorf("retentions left: %+v, %v", rooms, err)
	}
}

// The pruner runs a round at start, and another as soon as it is woken
// (an admin changed a room's retention), with or without a transport
// retention.
func TestPruneLoopWakes(t *testing.T) {
	db := &countingPrunes{rounds: make(chan registry.Retention, 4)}
	a := newArchiver(db, Retention{}, "gw.test", time.Now, slog.New(slog.DiscardHandler), nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.pruneLoop(ctx) }()
	waitRound := func(what string) {
		t.Helper()
		select {
		case <-db.rounds:
		case <-time.After(10 * time.Second):
			t.Fatalf("no pruning round %s", what)
		}
	}
	waitRound("at start")
	a.pruneSoon()
	waitRound("when woken")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// countingPrunes reports each pruning round.
type countingPrunes struct {
	Archive
	rounds chan registry.Retention
}

func (c *countingPrunes) PruneArchive(_ context.Context, _ string, _ time.Time, keep registry.Retention) (int, error) {
	c.rounds <- keep
	return 0, nil
}

package registry

import (
	"errors"
	"slices"
	"testing"
)

func seat(room, jid, nick string, resources ...string) ArchiveWrite {
	return ArchiveWrite{Room: room, Seat: &RoomSeat{JID: jid, Nick: nick, Resources: resources}}
}

// Seats are kept while users sit in rooms, replaced when their resources
// change, dropped when they leave, and go with the account; a seat of
// someone without an account is not kept.
func TestRoomSeats(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	for _, jid := range []string{"alice@x", "bob@x"} {
		if err := s.PutAccount(ctx, Account{Transport: "irc.gw", JID: jid}); err != nil {
			t.Fatal(err)
		}
	}
	err := s.ArchiveBatch(ctx, "irc.gw", []ArchiveWrite{
		seat("#A%irc.net", "alice@x", "al", "alice@x/phone"),
		seat("#b%irc.net", "alice@x", "al", "alice@x/phone"),
		seat("#A%irc.net", "bob@x", "bob", "bob@x/pc"),
		seat("#A%irc.net", "nobody@x", "who", "nobody@x/pc"),
		seat("#A%irc.net", "alice@x", "al2", "alice@x/laptop", "alice@x/phone"),
		seat("#b%irc.net", "alice@x", "al"),
		{Room: "#A%irc.net", Seat: &RoomSeat{JID: "bob@x", Nick: "bob", Resources: []string{"bob@x/pc"}, Occupants: []string{"al2", "carol"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.RoomSeats(ctx, "irc.gw")
	if err != nil {
		t.Fatal(err)
	}
	want := []RoomSeat{
		{JID: "alice@x", Room: "#A%irc.net", Nick: "al2", Resources: []string{"alice@x/laptop", "alice@x/phone"}},
		{JID: "bob@x", Room: "#A%irc.net", Nick: "bob", Resources: []string{"bob@x/pc"}, Occupants: []string{"al2", "carol"}},
	}
	if !slices.EqualFunc(got, want, func(a, b RoomSeat) bool {
		return a.JID == b.JID && a.Room == b.Room && a.Nick == b.Nick && slices.Equal(a.Resources, b.Resources) && slices.Equal(a.Occupants, b.Occupants)
	}) {
		t.Fatalf("seats %+v, want %+v", got, want)
	}
	if other, _ := s.RoomSeats(ctx, "other.gw"); len(other) != 0 {
		t.Errorf("another transport's seats: %+v", other)
	}
	if err := s.DeleteAccount(ctx, "irc.gw", "bob@x"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.RoomSeats(ctx, "irc.gw"); len(got) != 1 || got[0].JID != "alice@x" {
		t.Errorf("after bob unregistered: %+v", got)
	}
	if err := s.ArchiveBatch(ctx, "irc.gw", []ArchiveWrite{{Room: "#A%irc.net", JID: "alice@x", Seat: &RoomSeat{JID: "alice@x"}}}); err == nil {
		t.Error("a write that is both a membership change and a seat was taken")
	}
}

// At start, memberships a previous run left open end, except where the
// user's seat is kept: their room is restored and their period goes on.
func TestCloseArchivePeriodsKeepsSeated(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	const room = "#Chan%irc.net"
	for _, jid := range []string{"alice@x", "bob@x"} {
		if err := s.PutAccount(ctx, Account{Transport: "irc.gw", JID: jid}); err != nil {
			t.Fatal(err)
		}
	}
	w := []ArchiveWrite{joined(room, "alice@x", 0), joined(room, "bob@x", 0), seat("#chan%IRC.net", "alice@x", "al", "alice@x/phone")}
	for i := 1; i < 5; i++ {
		w = append(w, said(room, i, "carol"))
	}
	if err := s.ArchiveBatch(ctx, "irc.gw", w); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CloseArchivePeriods(ctx, "irc.gw", at(5)); err != nil || n != 1 {
		t.Fatalf("closed %d periods (%v), want bob's only", n, err)
	}
	// Said while Ferry was down, fetched from the network afterwards.
	if err := s.ArchiveBatch(ctx, "irc.gw", []ArchiveWrite{said(room, 6, "carol")}); err != nil {
		t.Fatal(err)
	}
	page, err := s.QueryArchive(ctx, "irc.gw", ArchiveQuery{Room: room, JID: "alice@x", Max: 10})
	if err != nil || len(page.Messages) != 5 {
		t.Errorf("alice reads %v (%v), want lines 1 to 4 and 6", ids(page), err)
	}
	page, err = s.QueryArchive(ctx, "irc.gw", ArchiveQuery{Room: room, JID: "bob@x", Max: 10})
	if err != nil || len(page.Messages) != 4 {
		t.Errorf("bob reads %v (%v), want lines 1 to 4", ids(page), err)
	}
	last, err := s.LastArchived(ctx, "irc.gw", "#CHAN%irc.net")
	if err != nil || last.ID != "m6" || !last.At.Equal(at(6)) {
		t.Errorf("last message %+v, %v; want m6", last, err)
	}
	if _, err := s.LastArchived(ctx, "irc.gw", "#none%irc.net"); !errors.Is(err, ErrNotFound) {
		t.Errorf("last message of an empty room: %v", err)
	}
}

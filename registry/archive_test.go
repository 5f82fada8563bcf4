package registry

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

var archiveT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// at is the test's clock: minute i after archiveT0.
func at(i int) time.Time { return archiveT0.Add(time.Duration(i) * time.Minute) }

func said(room string, i int, nick string) ArchiveWrite {
	return ArchiveWrite{Room: room, At: at(i), ID: fmt.Sprintf("m%d", i), Nick: nick, Body: fmt.Sprintf("line %d", i)}
}

func joined(room, jid string, i int) ArchiveWrite {
	return ArchiveWrite{Room: room, At: at(i), JID: jid, Joined: true}
}

func left(room, jid string, i int) ArchiveWrite {
	return ArchiveWrite{Room: room, At: at(i), JID: jid}
}

func ids(p ArchivePage) []string {
	var out []string
	for _, m := range p.Messages {
		out = append(out, m.ID)
	}
	return out
}

// The room's history: alice is in from minute 0 to 10 and again from 20
// on; bob from minute 5 to 25; a message every minute from 0 to 29, said
// by carol on odd minutes and dave on even ones.
func archiveFixture(t *testing.T) *SQLite {
	t.Helper()
	s, _ := openTestStore(t)
	const room = "#Chan%irc.example.net"
	w := []ArchiveWrite{joined(room, "alice@x", 0)}
	for i := 0; i < 30; i++ {
		switch i {
		case 5:
			w = append(w, joined(room, "bob@x", 5))
		case 10:
			w = append(w, left(room, "alice@x", 10))
		case 20:
			w = append(w, joined(room, "alice@x", 20))
		case 25:
			w = append(w, left(room, "bob@x", 25))
		}
		nick := "dave"
		if i%2 == 1 {
			nick = "carol"
		}
		w = append(w, said(room, i, nick))
	}
	if err := s.ArchiveBatch(t.Context(), "irc.gw", w); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestArchiveQueries(t *testing.T) {
	s := archiveFixture(t)
	seq := func(from, to int) []string { // m<from> .. m<to-1>
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprintf("m%d", i))
		}
		return out
	}
	cases := []struct {
		name     string
		q        ArchiveQuery
		want     []string
		complete bool
	}{
		{"first page", ArchiveQuery{JID: "alice@x", Max: 4}, seq(0, 4), false},
		{"only her periods", ArchiveQuery{JID: "alice@x", Max: 100}, append(seq(0, 10), seq(20, 30)...), true},
		{"across a gap", ArchiveQuery{JID: "alice@x", AfterID: "m8", Max: 3}, []string{"m9", "m20", "m21"}, false},
		{"last page", ArchiveQuery{JID: "alice@x", Last: true, Max: 3}, seq(27, 30), false},
		{"back across a gap", ArchiveQuery{JID: "alice@x", Last: true, BeforeID: "m21", Max: 3}, []string{"m8", "m9", "m20"}, false},
		{"back to the start", ArchiveQuery{JID: "alice@x", Last: true, BeforeID: "m3", Max: 5}, seq(0, 3), true},
		{"forward to the end", ArchiveQuery{JID: "alice@x", AfterID: "m27", Max: 2}, seq(28, 30), true},
		{"between ids", ArchiveQuery{JID: "alice@x", AfterID: "m2", BeforeID: "m6", Max: 10}, seq(3, 6), true},
		{"between ids, backwards", ArchiveQuery{JID: "alice@x", AfterID: "m2", BeforeID: "m6", Last: true, Max: 2}, seq(4, 6), false},
		{"times inclusive", ArchiveQuery{JID: "bob@x", Start: at(6), End: at(9), Max: 10}, seq(6, 10), true},
		{"bob's period", ArchiveQuery{JID: "bob@x", Max: 100}, seq(5, 25), true},
		{"with", ArchiveQuery{JID: "alice@x", With: "carol", Max: 3}, []string{"m1", "m3", "m5"}, false},
		{"ids he may read", ArchiveQuery{JID: "bob@x", IDs: []string{"m1", "m7", "m26", "m6"}, Max: 10}, []string{"m6", "m7"}, true},
		{"a room spelled otherwise", ArchiveQuery{Room: "#chan%IRC.example.net", JID: "bob@x", Max: 1}, seq(5, 6), false},
		// Public history: everything, whoever asks, paged and filtered
		// as any other query.
		{"public, a stranger", ArchiveQuery{JID: "eve@x", Public: true, Max: 100}, seq(0, 30), true},
		{"public, bob before he came", ArchiveQuery{JID: "bob@x", Public: true, End: at(4), Max: 100}, seq(0, 5), true},
		{"public, last page", ArchiveQuery{JID: "eve@x", Public: true, Last: true, BeforeID: "m12", Max: 3}, seq(9, 12), false},
		{"public, alice's gap", ArchiveQuery{JID: "alice@x", Public: true, AfterID: "m9", Max: 2}, seq(10, 12), false},
		{"public, ids", ArchiveQuery{JID: "eve@x", Public: true, IDs: []string{"m12", "m1"}, Max: 10}, []string{"m1", "m12"}, true},
		{"public, empty times", ArchiveQuery{JID: "eve@x", Public: true, Start: at(9), End: at(8), Max: 10}, nil, true},
		{"public, a room without history", ArchiveQuery{Room: "#new%irc.example.net", JID: "eve@x", Public: true, Max: 10}, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := c.q
			if q.Room == "" {
				q.Room = "#Chan%irc.example.net"
			}
			p, err := s.QueryArchive(t.Context(), "irc.gw", q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(p); !slices.Equal(got, c.want) || p.Complete != c.complete {
				t.Errorf("got %v complete=%v, want %v complete=%v", got, p.Complete, c.want, c.complete)
			}
		})
	}
}

func TestArchiveRefusals(t *testing.T) {
	s := archiveFixture(t)
	room := "#chan%irc.example.net"
	cases := []struct {
		name string
		tr   string
		q    ArchiveQuery
		want error
	}{
		{"never in the room", "irc.gw", ArchiveQuery{Room: room, JID: "eve@x", Max: 10}, ErrNoAccess},
		{"unknown room", "irc.gw", ArchiveQuery{Room: "#other%irc.example.net", JID: "alice@x", Max: 10}, ErrNoAccess},
		{"other transport", "irc2.gw", ArchiveQuery{Room: room, JID: "alice@x", Max: 10}, ErrNoAccess},
		{"unknown after-id", "irc.gw", ArchiveQuery{Room: room, JID: "alice@x", AfterID: "nope", Max: 10}, ErrNotFound},
		{"unknown id", "irc.gw", ArchiveQuery{Room: room, JID: "alice@x", IDs: []string{"m1", "nope"}, Max: 10}, ErrNotFound},
		{"public, unknown id", "irc.gw", ArchiveQuery{Room: room, JID: "eve@x", Public: true, IDs: []string{"nope"}, Max: 10}, ErrNotFound},
		{"public, id in a room without history", "irc.gw", ArchiveQuery{Room: "#new%n", JID: "eve@x", Public: true, IDs: []string{"m1"}, Max: 10}, ErrNotFound},
		{"public, after-id in a room without history", "irc.gw", ArchiveQuery{Room: "#new%n", JID: "eve@x", Public: true, AfterID: "m1", Max: 10}, ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := s.QueryArchive(t.Context(), c.tr, c.q); !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}
}

// A message id the room has already is stored once (a network replaying
// what it sent); joining twice opens one period, and closing what a
// previous run left open ends it.
func TestArchiveIdempotence(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	room := "#c%n"
	for range 2 {
		if err := s.ArchiveBatch(ctx, "gw", []ArchiveWrite{joined(room, "a@x", 0), joined(room, "a@x", 1), said(room, 2, "n")}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.CloseArchivePeriods(ctx, "gw", at(3)); err != nil || n != 1 {
		t.Fatalf("closed %d periods, %v; want 1", n, err)
	}
	if err := s.ArchiveBatch(ctx, "gw", []ArchiveWrite{said(room, 4, "n")}); err != nil {
		t.Fatal(err)
	}
	p, err := s.QueryArchive(ctx, "gw", ArchiveQuery{Room: room, JID: "a@x", Max: 10})
	if err != nil || !slices.Equal(ids(p), []string{"m2"}) {
		t.Fatalf("got %v, %v; want [m2] (once, and nothing after the period closed)", ids(p), err)
	}
	if err := s.ArchiveBatch(ctx, "gw", []ArchiveWrite{{Room: room, At: at(5)}}); err == nil {
		t.Error("a write that is neither a message nor a membership was stored")
	}
}

// Pruning by age and by count per room, a chunk at a time; sizes and
// forgetting a member.
func TestArchivePruneAndSize(t *testing.T) {
	ctx := t.Context()
	s := archiveFixture(t) // 30 messages, minutes 0..29
	if err := s.ArchiveBatch(ctx, "irc.gw", []ArchiveWrite{said("#other%net", 40, "x"), joined("#other%net", "alice@x", 39)}); err != nil {
		t.Fatal(err)
	}
	size, err := s.ArchiveStats(ctx, "irc.gw")
	if err != nil || size.Rooms != 2 || size.Messages != 31 || !size.Oldest.Equal(at(0)) {
		t.Fatalf("size %+v, %v", size, err)
	}
	// Older than minute 5 goes; then only the newest 10 of each room stay.
	if n, err := s.PruneArchive(ctx, "irc.gw", at(5).AddDate(0, 0, 1), Retention{Days: 1}); err != nil || n != 5 {
		t.Fatalf("pruned %d, %v; want 5", n, err)
	}
	if n, err := s.PruneArchive(ctx, "irc.gw", at(100), Retention{Messages: 10}); err != nil || n != 15 {
		t.Fatalf("pruned %d, %v; want 15", n, err)
	}
	p, err := s.QueryArchive(ctx, "irc.gw", ArchiveQuery{Room: "#chan%irc.example.net", JID: "bob@x", Max: 100})
	if err != nil || !slices.Equal(ids(p), []string{"m20", "m21", "m22", "m23", "m24"}) {
		t.Fatalf("bob reads %v, %v after pruning", ids(p), err)
	}
	if err := s.ForgetArchiveMember(ctx, "irc.gw", "alice@x"); err != nil {
		t.Fatal(err)
	}
	// Deleting an account takes its memberships too.
	if err := s.PutAccount(ctx, Account{Transport: "irc.gw", JID: "bob@x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount(ctx, "irc.gw", "bob@x"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ room, jid string }{{"#chan%irc.example.net", "alice@x"}, {"#other%net", "alice@x"}, {"#chan%irc.example.net", "bob@x"}} {
		if _, err := s.QueryArchive(ctx, "irc.gw", ArchiveQuery{Room: c.room, JID: c.jid, Max: 1}); !errors.Is(err, ErrNoAccess) {
			t.Errorf("%s in %s: a forgotten member still reads: %v", c.jid, c.room, err)
		}
	}
	if size, _ := s.ArchiveStats(ctx, "irc.gw"); size.Messages != 11 {
		t.Errorf("%d messages left, want 11", size.Messages)
	}
}

// Subject changes are stored among the messages; history on join leaves
// them out.
func TestArchiveSubjects(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	room := "#s%n"
	topic := ArchiveWrite{Room: room, At: at(2), ID: "t2", Nick: "op", Body: "new topic", Subject: true}
	if err := s.ArchiveBatch(ctx, "gw", []ArchiveWrite{joined(room, "a@x", 0), said(room, 1, "n"), topic, said(room, 3, "n")}); err != nil {
		t.Fatal(err)
	}
	p, err := s.QueryArchive(ctx, "gw", ArchiveQuery{Room: room, JID: "a@x", Max: 10})
	if err != nil || !slices.Equal(ids(p), []string{"m1", "t2", "m3"}) || !p.Messages[1].Subject || p.Messages[1].Body != "new topic" || p.Messages[0].Subject {
		t.Fatalf("got %+v, %v", p.Messages, err)
	}
	for _, last := range []bool{false, true} {
		p, err := s.QueryArchive(ctx, "gw", ArchiveQuery{Room: room, JID: "a@x", Max: 10, Last: last, NoSubjects: true})
		if err != nil || !slices.Equal(ids(p), []string{"m1", "m3"}) {
			t.Errorf("without subjects (last %v): %v, %v", last, ids(p), err)
		}
	}
}

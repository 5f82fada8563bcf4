package registry

import (
	"fmt"
	"testing"
	"time"
)

func bound(n int) *int { return &n }

// Each room keeps what the retention in force there keeps: the
// transport's, or the bounds an admin set for the room over it.
func TestPruneWithRoomRetention(t *testing.T) {
	day := func(i int) time.Time { return archiveT0.AddDate(0, 0, i) }
	now := day(10)
	cases := []struct {
		name      string
		transport Retention
		rooms     []RoomRetention
		want      map[string]int // messages left per room
	}{
		{"nothing set keeps everything", Retention{}, nil, map[string]int{"#a%n": 10, "#b%n": 10, "#c%n": 10}},
		{"the transport's days", Retention{Days: 5}, nil, map[string]int{"#a%n": 5, "#b%n": 5, "#c%n": 5}},
		{"one room's days alone", Retention{}, []RoomRetention{{Room: "#a%n", Days: bound(3)}},
			map[string]int{"#a%n": 3, "#b%n": 10, "#c%n": 10}},
		{"a room's messages under the transport's days", Retention{Days: 5}, []RoomRetention{{Room: "#a%n", Messages: bound(2)}},
			map[string]int{"#a%n": 2, "#b%n": 5, "#c%n": 5}},
		{"a room kept for ever", Retention{Days: 5}, []RoomRetention{{Room: "#b%n", Days: bound(0)}},
			map[string]int{"#a%n": 5, "#b%n": 10, "#c%n": 5}},
		{"both bounds of a room", Retention{Messages: 4}, []RoomRetention{{Room: "#c%n", Days: bound(8), Messages: bound(0)}},
			map[string]int{"#a%n": 4, "#b%n": 4, "#c%n": 8}},
		{"cleared again", Retention{Days: 5}, []RoomRetention{{Room: "#a%n", Days: bound(1)}, {Room: "#a%n"}},
			map[string]int{"#a%n": 5, "#b%n": 5, "#c%n": 5}},
		{"a room spelled otherwise", Retention{}, []RoomRetention{{Room: "#A%N", Messages: bound(1)}},
			map[string]int{"#a%n": 1, "#b%n": 10, "#c%n": 10}},
		{"a room without history yet", Retention{}, []RoomRetention{{Room: "#z%n", Days: bound(1)}},
			map[string]int{"#a%n": 10, "#b%n": 10, "#c%n": 10}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			s, _ := openTestStore(t)
			var w []ArchiveWrite
			for _, room := range []string{"#a%n", "#b%n", "#c%n"} {
				for i := range 10 {
					w = append(w, ArchiveWrite{Room: room, At: day(i), ID: fmt.Sprint("m", i), Nick: "n", Body: "b"})
				}
			}
			// Another transport's room of the same name keeps its own.
			w2 := []ArchiveWrite{{Room: "#a%n", At: day(0), ID: "x", Nick: "n", Body: "b"}}
			if err := s.ArchiveBatch(ctx, "irc.gw", w); err != nil {
				t.Fatal(err)
			}
			if err := s.ArchiveBatch(ctx, "other.gw", w2); err != nil {
				t.Fatal(err)
			}
			for _, r := range c.rooms {
				if err := s.SetRoomRetention(ctx, "irc.gw", r); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.PruneArchive(ctx, "irc.gw", now, c.transport); err != nil {
				t.Fatal(err)
			}
			for room, want := range c.want {
				p, err := s.QueryArchive(ctx, "irc.gw", ArchiveQuery{Room: room, Public: true, Max: 100})
				if err != nil || len(p.Messages) != want {
					t.Errorf("%s keeps %d messages (%v), want %d", room, len(p.Messages), err, want)
				}
				// What is left is the newest.
				if len(p.Messages) > 0 && p.Messages[len(p.Messages)-1].ID != "m9" {
					t.Errorf("%s lost its newest message: %v", room, ids(p))
				}
			}
			if size, _ := s.ArchiveStats(ctx, "other.gw"); size.Messages != 1 {
				t.Errorf("another transport's room was pruned: %+v", size)
			}
		})
	}
}

// Room retentions are listed by room, with the bounds given, and refused
// when negative or without a room.
func TestRoomRetentions(t *testing.T) {
	ctx := t.Context()
	s, _ := openTestStore(t)
	for _, r := range []RoomRetention{{Room: "#B%n", Messages: bound(100)}, {Room: "#a%n", Days: bound(30), Messages: bound(0)}, {Room: "#c%n", Days: bound(1)}, {Room: "#c%n"}} {
		if err := s.SetRoomRetention(ctx, "irc.gw", r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.RoomRetentions(ctx, "irc.gw")
	if err != nil {
		t.Fatal(err)
	}
	show := func(p *int) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	var text []string
	for _, r := range got {
		text = append(text, r.Room+" "+show(r.Days)+" "+show(r.Messages))
	}
	if fmt.Sprint(text) != "[#a%n 30 0 #b%n - 100]" {
		t.Errorf("retentions %v", text)
	}
	if other, _ := s.RoomRetentions(ctx, "other.gw"); len(other) != 0 {
		t.Errorf("another transport lists %v", other)
	}
	for _, bad := range []RoomRetention{{Room: "#a%n", Days: bound(-1)}, {Room: "#a%n", Messages: bound(-5)}, {Days: bound(1)}} {
		if err := s.SetRoomRetention(ctx, "irc.gw", bad); err == nil {
			t.Errorf("stored %+v", bad)
		}
	}
}

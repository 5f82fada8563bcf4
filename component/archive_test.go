package component

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/registry"
)

// The archiver gives each line one id however many sessions report it:
// steps are reports by session (1 is the sender's, when own) and the
// line each must be the same as (or -1: a new line).
func TestArchiverRecognisesLines(t *testing.T) {
	type report struct {
		gen   int64
		own   bool // the sender's reflection
		body  string
		msgid string
		same  int // index of the earlier report it must share an id with; -1 new
	}
	cases := []struct {
		name    string
		reports []report
	}{
		{"two sessions", []report{{1, false, "hi", "", -1}, {2, false, "hi", "", 0}}},
		{"said twice", []report{{1, false, "ok", "", -1}, {1, false, "ok", "", -1}, {2, false, "ok", "", 0}, {2, false, "ok", "", 1}}},
		{"other msgids are other lines", []report{{1, false, "x", "a", -1}, {2, false, "x", "b", -1}, {2, false, "x", "a", 0}}},
		{"reflection then echo", []report{{1, true, "me", "", -1}, {1, false, "me", "m1", 0}, {2, false, "me", "m1", 0}}},
		{"echo then reflection", []report{{1, false, "me", "m1", -1}, {1, true, "me", "", 0}, {2, false, "me", "m1", 0}}},
		{"another's copy before the reflection", []report{{2, false, "me", "", -1}, {1, true, "me", "", 0}, {1, false, "me", "", 0}}},
		{"own line said twice", []report{{1, true, "me", "", -1}, {1, true, "me", "", -1}, {1, false, "me", "", 0}, {1, false, "me", "", 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newArchiver(discardArchive{}, Retention{}, "gw.test", time.Now, slog.New(slog.DiscardHandler), nil)
			var ids []string
			for i, r := range c.reports {
				var id string
				if r.own {
					id, _ = a.said(r.gen, "#r", "alice", r.body)
				} else {
					id, _ = a.heard(r.gen, "#r", "alice", r.body, r.msgid, time.Time{})
				}
				if r.same >= 0 && id != ids[r.same] {
					t.Errorf("report %d: id %s, want %s (report %d's)", i, id, ids[r.same], r.same)
				}
				for j, prev := range ids {
					if r.same < 0 && prev == id {
						t.Errorf("report %d: id %s is report %d's, want a new line", i, id, j)
					}
				}
				ids = append(ids, id)
			}
		})
	}
}

// Lines are forgotten after heardFor: the same text later is a new line.
func TestArchiverForgets(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := newArchiver(discardArchive{}, Retention{}, "gw.test", func() time.Time { return now }, slog.New(slog.DiscardHandler), nil)
	first, w := a.heard(1, "#r", "n", "again", "", time.Time{})
	if w == nil {
		t.Fatal("a new line with nothing to store")
	}
	now = now.Add(heardFor + time.Second)
	if second, _ := a.heard(2, "#r", "n", "again", "", time.Time{}); second == first {
		t.Error("a line heard long after was taken for the first")
	}
	if len(a.rooms["#r"].order) != 1 {
		t.Errorf("%d lines remembered, want 1", len(a.rooms["#r"].order))
	}
	// A room gone quiet is dropped by the traffic of another.
	now = now.Add(heardFor + time.Second)
	for i := 0; len(a.rooms) > 1 || a.rooms["#r"] != nil; i++ {
		if i == 1000 {
			t.Fatalf("rooms still remembered: %v", a.rooms)
		}
		a.heard(1, fmt.Sprint("#busy", i%2), "n", fmt.Sprint(i), "", time.Time{})
		now = now.Add(heardFor + time.Second)
	}
}

// discardArchive takes history and keeps none, for tests of what the
// archiver remembers.
type discardArchive struct{ Archive }

func (discardArchive) ArchiveBatch(context.Context, string, []registry.ArchiveWrite) error {
	return nil
}

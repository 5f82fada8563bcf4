package registry

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// BenchmarkArchiveWrite stores room messages in batches of 64, as the
// component's group commit hands them over; ns/op is per message.
func BenchmarkArchiveWrite(b *testing.B) {
	s, _ := openTestStore(b)
	const batch = 64
	w := make([]ArchiveWrite, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		for j := range w {
			n := i + j
			w[j] = ArchiveWrite{Room: fmt.Sprintf("#c%d%%net", n%4), At: archiveT0.Add(time.Duration(n) * time.Millisecond),
				ID: fmt.Sprintf("id%d", n), Nick: "nick", Body: "a line of about the length people type on IRC, give or take"}
		}
		if err := s.ArchiveBatch(b.Context(), "gw", w); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkArchivePage reads 50-message pages at random places of a
// 1,000,000-message room, forward and backward, as a user with a few
// periods of membership; it reports the 99th percentile too.
func BenchmarkArchivePage(b *testing.B) {
	const rows = 1_000_000
	s, _ := openTestStore(b)
	ctx := b.Context()
	if err := s.ArchiveBatch(ctx, "gw", []ArchiveWrite{
		{Room: "#big%net", At: archiveT0, JID: "u@x", Joined: true},
		{Room: "#big%net", At: archiveT0.Add(400_000 * time.Second), JID: "u@x"},
		{Room: "#big%net", At: archiveT0.Add(500_000 * time.Second), JID: "u@x", Joined: true},
	}); err != nil {
		b.Fatal(err)
	}
	// One statement fills the room: a message a second.
	if _, err := s.w.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO archive (room, id, at, nick, body, subject)
SELECT (SELECT id FROM archive_rooms WHERE room = '#big%net'), 'id' || i, ? + i * 1000000000, 'nick' || (i % 50),
  'a line of about the length people type on IRC, give or take ' || i, 0 FROM n`, rows-1, dbTime(archiveT0)); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var took []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := ArchiveQuery{Room: "#big%net", JID: "u@x", Max: 50, Last: i%2 == 1}
		pos := fmt.Sprintf("id%d", rng.IntN(rows))
		if q.Last {
			q.BeforeID = pos
		} else {
			q.AfterID = pos
		}
		start := time.Now()
		p, err := s.QueryArchive(ctx, "gw", q)
		took = append(took, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Messages) == 0 && !p.Complete {
			b.Fatal("an empty page that is not the last")
		}
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)*99/100].Nanoseconds()), "p99-ns")
}

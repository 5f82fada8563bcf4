package component

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/registry"
)

// BenchmarkArchivePerDelivery is the archive's share of the burst: each
// line of a room reaches 20 users, so 20 sessions report it; the first
// report stores it (group-committed to a real SQLite file), the others
// only look it up. The lines come at about the burst's pace (a line every
// 100 µs), so batches are what the burst gets. cpu-ns/delivery is the
// process's CPU time (the committer's included) per delivery, the unit of
// the ≤ 2 µs target.
func BenchmarkArchivePerDelivery(b *testing.B) {
	dir := b.TempDir()
	sealer, err := registry.LoadOrCreateKey(context.Background(), filepath.Join(dir, "key"), filepath.Join(dir, "db"))
	if err != nil {
		b.Fatal(err)
	}
	store, err := registry.Open(context.Background(), filepath.Join(dir, "db"), sealer, registry.Options{AutoMigrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	a := newArchiver(store, Retention{}, "gw.test", time.Now, slog.New(slog.DiscardHandler), nil)
	const users = 20
	lines := make([]string, 1024)
	for i := range lines {
		lines[i] = fmt.Sprintf("line %d of the burst, about as long as people type", i)
	}
	b.ReportAllocs()
	pace := time.NewTicker(100 * time.Microsecond)
	defer pace.Stop()
	// The pacing itself costs CPU (the scheduler spins before it parks):
	// measured alone first, and taken off.
	idle0 := cpuTime(b)
	for i := 0; i < b.N; i += users {
		<-pace.C
	}
	idle := cpuTime(b) - idle0
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%users == 0 {
			<-pace.C
		}
		a.heard(int64(i%users), "#burst%irc.test", "talker", lines[(i/users)%len(lines)]+fmt.Sprint(i/users), "", time.Time{})
	}
	a.group.Sync()
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-cpu0-idle).Nanoseconds())/float64(b.N), "cpu-ns/delivery")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkArchiveHeard is the lookup every delivery pays: 20 sessions
// report each line, the first makes its entry (nothing is stored here).
// A line a millisecond: the archiver remembers 10,000 of them.
func BenchmarkArchiveHeard(b *testing.B) {
	now := time.Now()
	a := newArchiver(discardArchive{}, Retention{}, "gw.test", func() time.Time { return now }, slog.New(slog.DiscardHandler), nil)
	const users = 20
	body := ""
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%users == 0 {
			now = now.Add(time.Millisecond)
			body = "a line of the burst, about as long as people type " + strconv.Itoa(i)
		}
		a.heard(int64(i%users), "#burst%irc.test", "talker", body, "", time.Time{})
	}
}

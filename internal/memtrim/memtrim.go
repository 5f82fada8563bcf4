// Package memtrim gives memory back to the operating system after a busy
// period.
//
// The Go runtime keeps freed heap pages for reuse and returns them only
// slowly, and it shrinks a goroutine's stack only when a collection finds
// it mostly unused. After a burst (a thousand users joining, a presence
// storm) a gateway would so keep its peak footprint for a long time while
// it idles with far less in use. Every interval, Trimmer looks at how much
// freed heap the runtime holds; when that is large next to what is live,
// it collects and releases it, which also shrinks idle stacks.
package memtrim

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

const (
	// minFree is the freed heap below which trimming is not worth a
	// collection.
	minFree = 1 << 20
	// freeShare is how much freed heap, next to the live heap, triggers
	// a trim: a fourth, so a steady workload (which reuses what it
	// frees) is left alone.
	freeShare = 4
)

var samples = []metrics.Sample{
	{Name: "/memory/classes/heap/free:bytes"},
	{Name: "/gc/heap/live:bytes"},
}

// Run trims every interval until ctx ends.
func Run(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if free, live := held(); shouldTrim(free, live) {
				start := time.Now()
				debug.FreeOSMemory()
				log.Debug("memory returned to the system", "freed_heap", free, "live_heap", live, "took", time.Since(start))
			}
		}
	}
}

// held reads the freed (not yet released) and live heap, in bytes.
func held() (free, live uint64) {
	s := make([]metrics.Sample, len(samples))
	copy(s, samples)
	metrics.Read(s)
	return value(s[0]), value(s[1])
}

func value(s metrics.Sample) uint64 {
	if s.Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s.Value.Uint64()
}

func shouldTrim(free, live uint64) bool {
	return free >= minFree && free*freeShare >= live
}

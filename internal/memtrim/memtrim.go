// Package memtrim gives memory back to the operating system after a busy
// period.
//
// The Go runtime keeps freed heap pages for reuse and returns them only
// slowly, and it shrinks a goroutine's stack only when a collection finds
// it mostly unused. After a burst (a thousand users joining, a presence
// storm) a gateway would so keep its peak footprint for a long time while
// it idles with far less in use. Every interval, Run looks at how much
// heap the runtime holds beyond what is live; when that is large next to
// what is live, it collects and releases it, which also shrinks idle
// stacks.
package memtrim

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

const (
	// minHeld is the heap held beyond the live heap below which
	// trimming is not worth a collection.
	minHeld = 1 << 20
	// heldShare is how much held heap, next to the live heap, triggers a
	// trim: a fourth.
	heldShare = 4
)

var samples = []metrics.Sample{
	{Name: "/memory/classes/heap/free:bytes"},    // freed, not released
	{Name: "/memory/classes/heap/objects:bytes"}, // live and not yet swept
	{Name: "/gc/heap/live:bytes"},                // live at the last collection
	{Name: "/gc/heap/allocs:bytes"},              // allocated, ever
}

// heap is what the runtime holds, in bytes.
type heap struct {
	free    uint64 // freed pages not returned to the system
	objects uint64 // live objects and garbage not yet collected
	live    uint64 // live at the last collection
	allocs  uint64 // allocated since the start
}

// garbage is what the next collection would free.
func (h heap) garbage() uint64 {
	if h.objects < h.live {
		return 0
	}
	return h.objects - h.live
}

// shouldTrim tells whether to collect and release now, given the state
// at the last check. Freed pages worth a fourth of the live heap are
// always given back. Garbage counts as well while the gateway is quiet
// (it allocated less than that since the last check): a busy gateway
// reuses what it frees, but an idle one after a storm would otherwise
// carry up to a live heap's worth of garbage until its next collection,
// which at an idle gateway's pace can take minutes.
func shouldTrim(last, now heap) bool {
	enough := func(b uint64) bool { return b >= minHeld && b*heldShare >= now.live }
	if enough(now.free) {
		return true
	}
	quiet := now.allocs-last.allocs < max(minHeld, now.live/heldShare)
	return quiet && enough(now.free+now.garbage())
}

// Run trims every interval until ctx ends.
func Run(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	last := read()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := read()
			if shouldTrim(last, now) {
				start := time.Now()
				debug.FreeOSMemory()
				log.Debug("memory returned to the system", "freed_heap", now.free, "garbage", now.garbage(), "live_heap", now.live, "took", time.Since(start))
				now = read()
			}
			last = now
		}
	}
}

// read samples the runtime's heap.
func read() heap {
	s := make([]metrics.Sample, len(samples))
	copy(s, samples)
	metrics.Read(s)
	return heap{free: value(s[0]), objects: value(s[1]), live: value(s[2]), allocs: value(s[3])}
}

func value(s metrics.Sample) uint64 {
	if s.Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s.Value.Uint64()
}

package memtrim

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestShouldTrim(t *testing.T) {
	const mb = 1 << 20
	quietSince := func(h heap) heap { h.allocs -= 100 << 10; return h }
	busySince := func(h heap) heap { h.allocs -= 50 * mb; return h }
	tests := []struct {
		name string
		now  heap
		last func(heap) heap
		want bool
	}{
		{"nothing held", heap{live: 100 * mb, objects: 100 * mb, allocs: 900 * mb}, quietSince, false},
		{"little freed, small heap", heap{free: mb / 2, live: mb, objects: mb, allocs: 900 * mb}, busySince, false},
		{"freed heap dwarfs live", heap{free: 64 * mb, live: 8 * mb, objects: 8 * mb, allocs: 900 * mb}, busySince, true},
		{"freed a quarter of live, busy", heap{free: 8 * mb, live: 32 * mb, objects: 40 * mb, allocs: 900 * mb}, busySince, true},
		{"steady workload reusing memory", heap{free: 5 * mb, live: 200 * mb, objects: 260 * mb, allocs: 900 * mb}, busySince, false},
		{"garbage while busy", heap{free: 0, live: 8 * mb, objects: 16 * mb, allocs: 900 * mb}, busySince, false},
		{"garbage while quiet", heap{free: 0, live: 8 * mb, objects: 16 * mb, allocs: 900 * mb}, quietSince, true},
		{"little garbage while quiet", heap{free: 0, live: 8 * mb, objects: 8*mb + 512<<10, allocs: 900 * mb}, quietSince, false},
		{"objects read before live caught up", heap{free: 0, live: 8 * mb, objects: 7 * mb, allocs: 900 * mb}, quietSince, false},
	}
	for _, tt := range tests {
		if got := shouldTrim(tt.last(tt.now), tt.now); got != tt.want {
			t.Errorf("%s: shouldTrim = %v", tt.name, got)
		}
	}
}

// After garbage is dropped, a trim gives the freed heap back.
func TestRunReleasesFreedHeap(t *testing.T) {
	garbage := make([][]byte, 0, 256)
	for i := 0; i < 256; i++ {
		garbage = append(garbage, make([]byte, 256<<10))
	}
	runtime.KeepAlive(garbage)
	garbage = nil
	runtime.GC()
	h := read()
	if !shouldTrim(h, h) {
		t.Fatalf("64 MiB of garbage left no freed heap to trim (%+v)", h)
	}
	released := releasedBytes()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Run(ctx, time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil))); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for releasedBytes() < released+16<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("released %d bytes of 64 MiB freed (%+v)", releasedBytes()-released, read())
		}
		time.Sleep(time.Millisecond) // the trimmer ticks every millisecond
	}
	cancel()
	<-done
}

// releasedBytes is the heap given back to the system.
func releasedBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// Garbage left by a burst is collected and released once the process is
// quiet, without waiting for the collector's own pace.
func TestRunCollectsGarbageWhenQuiet(t *testing.T) {
	runtime.GC()
	// Only the trimmer collects from here on: the garbage stays until it
	// does (debug.FreeOSMemory collects regardless).
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	burst := make([][]byte, 0, 64)
	for i := 0; i < 64; i++ {
		burst = append(burst, make([]byte, 256<<10))
	}
	runtime.KeepAlive(burst)
	burst = nil // 16 MiB of garbage
	if h := read(); h.garbage() < 8<<20 {
		t.Fatalf("16 MiB dropped, garbage counted: %+v", h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Run(ctx, 5*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil))); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for read().garbage() >= 8<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("garbage still held: %+v", read())
		}
		time.Sleep(time.Millisecond) // the trimmer ticks every 5 ms
	}
	cancel()
	<-done
}

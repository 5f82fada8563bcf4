package memtrim

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"
)

func TestShouldTrim(t *testing.T) {
	tests := []struct {
		name       string
		free, live uint64
		want       bool
	}{
		{"nothing freed", 0, 100 << 20, false},
		{"little freed, small heap", 512 << 10, 1 << 20, false},
		{"freed heap dwarfs live", 64 << 20, 8 << 20, true},
		{"a quarter of live", 8 << 20, 32 << 20, true},
		{"steady workload reusing memory", 5 << 20, 200 << 20, false},
	}
	for _, tt := range tests {
		if got := shouldTrim(tt.free, tt.live); got != tt.want {
			t.Errorf("%s: shouldTrim(%d, %d) = %v", tt.name, tt.free, tt.live, got)
		}
	}
}

// After garbage is dropped, a trim leaves the freed heap released.
func TestRunReleasesFreedHeap(t *testing.T) {
	garbage := make([][]byte, 0, 256)
	for i := 0; i < 256; i++ {
		garbage = append(garbage, make([]byte, 256<<10))
	}
	runtime.KeepAlive(garbage)
	garbage = nil
	runtime.GC()
	if free, live := held(); !shouldTrim(free, live) {
		t.Fatalf("64 MiB of garbage left no freed heap to trim (free %d, live %d)", free, live)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Run(ctx, time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil))); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		free, live := held()
		if !shouldTrim(free, live) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("freed heap still held: %d bytes (live %d)", free, live)
		}
		time.Sleep(time.Millisecond) // the trimmer ticks every millisecond
	}
	cancel()
	<-done
}

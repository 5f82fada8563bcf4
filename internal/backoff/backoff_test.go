package backoff

import (
	"context"
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	lo, hi := time.Second, time.Minute
	tests := []struct {
		n        int
		wantCeil time.Duration
	}{
		{0, time.Second}, {1, 2 * time.Second}, {5, 32 * time.Second}, {6, time.Minute}, {100, time.Minute}, {-3, time.Second},
	}
	for _, tc := range tests {
		low := delay(lo, hi, tc.n, func(int64) int64 { return 0 })
		high := delay(lo, hi, tc.n, func(n int64) int64 { return n - 1 })
		if low != tc.wantCeil/2 || high != tc.wantCeil {
			t.Errorf("n=%d: delays %v..%v, want %v..%v", tc.n, low, high, tc.wantCeil/2, tc.wantCeil)
		}
		if d := Delay(lo, hi, tc.n); d < tc.wantCeil/2 || d > tc.wantCeil {
			t.Errorf("n=%d: Delay %v outside %v..%v", tc.n, d, tc.wantCeil/2, tc.wantCeil)
		}
	}
}

func TestRunWakesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	wake := make(chan struct{}, 1)
	calls := make(chan int, 10)
	n := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, wake, func(context.Context) time.Duration {
			n++
			calls <- n
			return time.Hour // only a wake-up can bring the next call
		})
	}()
	if got := <-calls; got != 1 {
		t.Fatalf("first call %d", got)
	}
	Kick(wake)
	Kick(wake) // a second pending wake-up is dropped, not blocking
	if got := <-calls; got != 2 {
		t.Fatalf("woken call %d", got)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

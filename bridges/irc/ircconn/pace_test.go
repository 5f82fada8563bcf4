package ircconn

import (
	"net"
	"testing"
	"time"
)

// fixedClock stands still, so token counts are exact.
type fixedClock struct{ now time.Time }

func (c fixedClock) Now() time.Time                 { return c.now }
func (c fixedClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

func TestSetPace(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	clk := fixedClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	paced := newConn(Config{Addr: "x:1", Burst: 10, Rate: 1, Clock: clk, QueueSize: 8}, a)
	if !paced.SetPace(3, 0.5) {
		t.Fatal("SetPace refused on a paced connection")
	}
	if got := paced.limiter.Burst(); got != 3 {
		t.Errorf("burst = %d, want 3", got)
	}
	if got := float64(paced.limiter.Limit()); got != 0.5 {
		t.Errorf("rate = %v, want 0.5", got)
	}
	// Three lines go at once, the fourth waits two seconds.
	for i := 1; i <= 4; i++ {
		want := time.Duration(0)
		if i == 4 {
			want = 2 * time.Second
		}
		if d := paced.limiter.ReserveN(clk.now, 1).DelayFrom(clk.now); d != want {
			t.Errorf("line %d waits %v, want %v", i, d, want)
		}
	}
	if paced.SetPace(0, 1) || paced.SetPace(1, 0) {
		t.Error("SetPace took a burst or rate of 0")
	}
	unpaced := newConn(Config{Addr: "x:1", Rate: -1, Clock: clk, QueueSize: 8}, b)
	if unpaced.SetPace(3, 0.5) {
		t.Error("SetPace claimed to pace a connection opened without pacing")
	}
}

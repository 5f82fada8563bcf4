package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock moves only when told; After fires when the clock passes it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	asked   chan time.Duration // every After call, for tests to wait on
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), asked: make(chan time.Duration, 10)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	c.mu.Unlock()
	c.asked <- d
	return ch
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

var (
	perUser = Limit{Burst: 3, Every: 20 * time.Second}
	perNet  = Limit{Burst: 5, Every: 6 * time.Second}
)

func TestTakeIsExact(t *testing.T) {
	type step struct {
		at   time.Duration // since the start
		key  string
		want time.Duration // 0: allowed; else the RetryAfter of the refusal
	}
	tests := []struct {
		name  string
		limit Limit
		steps []step
	}{
		{"burst then one per interval", perUser, []step{
			{0, "a", 0}, {0, "a", 0}, {0, "a", 0},
			{0, "a", 20 * time.Second},
			{19 * time.Second, "a", time.Second},
			{20 * time.Second, "a", 0},
			{20 * time.Second, "a", 20 * time.Second},
			{39*time.Second + 500*time.Millisecond, "a", 500 * time.Millisecond},
			{40 * time.Second, "a", 0},
		}},
		{"keys are independent", perUser, []step{
			{0, "a", 0}, {0, "a", 0}, {0, "a", 0}, {0, "a", 20 * time.Second},
			{0, "b", 0},
		}},
		{"a refusal costs nothing", perUser, []step{
			{0, "a", 0}, {0, "a", 0}, {0, "a", 0},
			{time.Second, "a", 19 * time.Second}, {2 * time.Second, "a", 18 * time.Second},
			{20 * time.Second, "a", 0},
		}},
		{"a quiet key refills to its burst, no further", perUser, []step{
			{0, "a", 0}, {0, "a", 0}, {0, "a", 0},
			{time.Hour, "a", 0}, {time.Hour, "a", 0}, {time.Hour, "a", 0},
			{time.Hour, "a", 20 * time.Second},
		}},
		{"burst of one", Limit{Burst: 1, Every: time.Minute}, []step{
			{0, "a", 0}, {30 * time.Second, "a", 30 * time.Second}, {time.Minute, "a", 0},
		}},
		{"zero burst counts as one", Limit{Burst: 0, Every: time.Minute}, []step{
			{0, "a", 0}, {0, "a", time.Minute},
		}},
		{"no interval: unlimited", Limit{Burst: 1}, []step{
			{0, "a", 0}, {0, "a", 0}, {0, "a", 0},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeClock()
			start := c.Now()
			l := New(c)
			for i, s := range tc.steps {
				c.advance(start.Add(s.at).Sub(c.Now()))
				d := l.Take(Key{Name: s.key, Limit: tc.limit})
				var got time.Duration
				if d != nil {
					got = d.RetryAfter
				}
				if got != s.want {
					t.Fatalf("step %d (%v, %s): retry after %v, want %v", i, s.at, s.key, got, s.want)
				}
			}
		})
	}
}

// TestTakeAllOrNothing: a refusal by one key charges none of them, and
// the refusal names the key that is waited for longest.
func TestTakeAllOrNothing(t *testing.T) {
	c := newFakeClock()
	l := New(c)
	net := Key{Name: "net:libera", Limit: perNet}
	for i := range 5 {
		if d := l.Take(Key{Name: fmt.Sprintf("user:%d", i), Limit: perUser}, net); d != nil {
			t.Fatalf("login %d refused: %v", i, d)
		}
	}
	alice := Key{Name: "user:alice", Limit: perUser}
	d := l.Take(alice, net)
	if d == nil || d.Key != net || d.RetryAfter != 6*time.Second || d.Seconds() != 6 {
		t.Fatalf("6th login to the network: %v", d)
	}
	// Alice's own allowance was not touched by the refusal: her three
	// logins elsewhere still go through.
	for i := range 3 {
		if d := l.Take(alice); d != nil {
			t.Fatalf("alice's login %d refused: %v", i, d)
		}
	}
	c.advance(6 * time.Second)
	// Now the network has a token but alice has none: alice is the reason.
	d = l.Take(alice, net)
	if d == nil || d.Key != alice || d.RetryAfter != 14*time.Second {
		t.Fatalf("alice after her burst: %v", d)
	}
	if d := l.Take(Key{Name: "user:bob", Limit: perUser}, net); d != nil {
		t.Fatalf("bob: %v", d)
	}
}

func TestSecondsRoundUp(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{{time.Millisecond, 1}, {time.Second, 1}, {time.Second + 1, 2}, {59*time.Second + 999*time.Millisecond, 60}} {
		if got := (&Denied{RetryAfter: tc.d}).Seconds(); got != tc.want {
			t.Errorf("%v: %d s, want %d", tc.d, got, tc.want)
		}
	}
}

// TestQuietKeysAreForgotten: memory follows the keys in use, not every
// key ever seen (one registration per JID must not grow it for ever).
func TestQuietKeysAreForgotten(t *testing.T) {
	c := newFakeClock()
	l := New(c)
	lim := Limit{Burst: 1, Every: time.Second}
	for i := range 1000 {
		l.Take(Key{Name: fmt.Sprint("old", i), Limit: lim})
	}
	c.advance(time.Second)
	for i := range 1000 {
		l.Take(Key{Name: fmt.Sprint("new", i), Limit: lim})
	}
	if n := l.Len(); n > 1000 {
		t.Fatalf("%d keys remembered, want at most the 1000 in use", n)
	}
}

func TestWait(t *testing.T) {
	c := newFakeClock()
	l := New(c)
	k := Key{Name: "net", Limit: Limit{Burst: 1, Every: 10 * time.Second}}
	if err := l.Wait(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- l.Wait(context.Background(), k) }()
	if d := <-c.asked; d != 10*time.Second {
		t.Fatalf("waits %v, want 10s", d)
	}
	c.advance(10 * time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A cancelled context ends the wait with its error.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- l.Wait(ctx, k) }()
	<-c.asked
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("cancelled wait: %v", err)
	}
}

func TestConcurrentTakesNeverExceedTheBurst(t *testing.T) {
	l := New(newFakeClock())
	k := Key{Name: "k", Limit: Limit{Burst: 10, Every: time.Minute}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l.Take(k) == nil {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if allowed != 10 {
		t.Fatalf("%d of 100 concurrent takes allowed, want 10", allowed)
	}
}

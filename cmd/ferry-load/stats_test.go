package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(vs ...int) []time.Duration {
		d := make([]time.Duration, len(vs))
		for i, v := range vs {
			d[i] = time.Duration(v) * time.Millisecond
		}
		return d
	}
	tests := []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of odd count", ms(5, 1, 3), 50, 3 * time.Millisecond},
		{"median of even count is the lower", ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{"p99 of 100 is the 99th", ms(seq(1, 100)...), 99, 99 * time.Millisecond},
		{"p95 of 100", ms(seq(1, 100)...), 95, 95 * time.Millisecond},
		{"p100 is the maximum", ms(3, 9, 1), 100, 9 * time.Millisecond},
		{"tiny p is the minimum", ms(3, 9, 1), 0.1, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.in, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.in, tt.p, got, tt.want)
			}
		})
	}
}

func seq(lo, hi int) []int {
	var s []int
	for i := lo; i <= hi; i++ {
		s = append(s, i)
	}
	return s
}

func TestTrackerAccounting(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tr := newTracker(6)
	// Two senders of 3 messages: 0-2 from an XMPP user, 3-5 from an IRC
	// client. The XMPP user gets everything (reflections included), the
	// IRC client everything but its own.
	tr.expect("x", 0, 6, nil)
	tr.expect("i", 0, 6, func(id int) bool { return id >= 3 })
	for id := 0; id < 6; id++ {
		tr.sentAt(id, t0.Add(time.Duration(id)*time.Millisecond))
	}
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for _, id := range []int{0, 1, 2, 3, 5} { // 4 lost
		tr.delivered("x", id, at(10+id))
	}
	tr.delivered("x", 5, at(30))  // duplicate
	tr.delivered("i", 0, at(10))  //
	tr.delivered("i", 1, at(11))  //
	tr.delivered("i", 2, at(12))  // all of i's
	tr.delivered("i", 3, at(14))  // its own line: unexpected
	tr.delivered("i", 9, at(15))  // a number never sent: unexpected
	tr.delivered("y", 1, at(16))  // nobody called y: unexpected
	tr.delivered("x", -1, at(17)) // unexpected

	if tr.complete() {
		t.Error("complete with a message lost")
	}
	if got := tr.progress(); got != 8 {
		t.Errorf("progress = %d, want 8", got)
	}
	d := tr.summary()
	want := deliveries{expected: 9, delivered: 9, distinct: 8, lost: 1, duplicated: 1, unexpected: 4}
	if d.expected != want.expected || d.delivered != want.delivered || d.distinct != want.distinct ||
		d.lost != want.lost || d.duplicated != want.duplicated || d.unexpected != want.unexpected {
		t.Errorf("summary = %+v, want %+v", d, want)
	}
	if len(d.latencies) != 8 {
		t.Fatalf("%d latencies, want one per first delivery (8)", len(d.latencies))
	}
	// Every first delivery above arrives 10 ms after its send time.
	for _, l := range d.latencies {
		if l != 10*time.Millisecond {
			t.Errorf("latency %v, want 10ms", l)
		}
	}
	if !d.first.Equal(t0) || !d.last.Equal(at(30)) {
		t.Errorf("window %v … %v, want %v … %v", d.first, d.last, t0, at(30))
	}
	tr.delivered("x", 4, at(40))
	if !tr.complete() {
		t.Error("not complete once every message arrived")
	}
}

func TestPerSecond(t *testing.T) {
	t0 := time.Unix(0, 0)
	d := deliveries{delivered: 500, first: t0, last: t0.Add(2 * time.Second)}
	if got := d.perSecond(); got != 250 {
		t.Errorf("perSecond = %v, want 250", got)
	}
	if got := (deliveries{first: t0, last: t0}).perSecond(); got != 0 {
		t.Errorf("perSecond of nothing = %v, want 0", got)
	}
}

func TestBodyRoundTrip(t *testing.T) {
	at := time.Unix(1733550000, 123456789)
	for _, id := range []int{0, 7, 199999} {
		body := messageBody(id, at)
		gotID, gotAt, ok := parseBody(body)
		if !ok || gotID != id || !gotAt.Equal(at) {
			t.Errorf("parseBody(%q) = %d, %v, %v", body, gotID, gotAt, ok)
		}
		// Gateways may prefix a line (a nick, "/me"); the number still reads.
		if gotID, _, ok := parseBody("<nick> " + body); !ok || gotID != id {
			t.Errorf("prefixed body: %d, %v", gotID, ok)
		}
	}
}

func TestParseBodyRejects(t *testing.T) {
	for _, body := range []string{"", "hello", "ld", "ld.5", "ldx.5", "ld5", "ld5.", "ld5.x", "ld-1.5", "ld5.12abc"} {
		if id, _, ok := parseBody(body); ok {
			t.Errorf("parseBody(%q) accepted, id %d", body, id)
		}
	}
}

func FuzzParseBody(f *testing.F) {
	f.Add(messageBody(42, time.Unix(1, 2)))
	f.Add("ld1.2")
	f.Add("xx ld99999999999999999999.1")
	f.Fuzz(func(t *testing.T, body string) {
		id, _, ok := parseBody(body)
		if ok && id < 0 {
			t.Errorf("negative id %d from %q", id, body)
		}
	})
}

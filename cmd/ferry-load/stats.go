package main

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tracker counts deliveries of numbered messages: which receiver is
// expected to get which message, how often each one arrived, and how long
// each took. Message numbers are dense, 0 … n-1.
type tracker struct {
	n int // messages

	mu        sync.Mutex
	want      int // expected deliveries
	distinct  int // expected deliveries that arrived at least once
	receivers map[string]*receiverLog
	sent      []int64 // send time of each message, UnixNano; 0: not sent yet
	latencies []time.Duration
	unknown   int // deliveries of a number out of range, or to no known receiver
	first     time.Time
	last      time.Time
}

type receiverLog struct {
	want bitset
	got  []uint16 // deliveries per message, saturating
}

func newTracker(messages int) *tracker {
	return &tracker{n: messages, receivers: map[string]*receiverLog{}, sent: make([]int64, messages)}
}

// expect says receiver must get messages lo … hi-1, except the numbers in
// skip (a sender's own lines, which IRC does not echo).
func (t *tracker) expect(receiver string, lo, hi int, skip func(id int) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.receivers[receiver]
	if r == nil {
		r = &receiverLog{want: newBitset(t.n), got: make([]uint16, t.n)}
		t.receivers[receiver] = r
	}
	for id := lo; id < hi; id++ {
		if (skip == nil || !skip(id)) && !r.want.has(id) {
			r.want.set(id)
			t.want++
		}
	}
}

// sentAt records when message id left its sender.
func (t *tracker) sentAt(id int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id >= 0 && id < t.n {
		t.sent[id] = at.UnixNano()
		if t.first.IsZero() || at.Before(t.first) {
			t.first = at
		}
	}
}

// delivered records that receiver got message id at the given time.
func (t *tracker) delivered(receiver string, id int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.receivers[receiver]
	if r == nil || id < 0 || id >= t.n {
		t.unknown++
		return
	}
	if r.got[id] < math.MaxUint16 {
		r.got[id]++
	}
	if !r.want.has(id) {
		return
	}
	if at.After(t.last) {
		t.last = at
	}
	if r.got[id] == 1 {
		t.distinct++
		if t.sent[id] != 0 {
			t.latencies = append(t.latencies, at.Sub(time.Unix(0, t.sent[id])))
		}
	}
}

// complete reports whether every expected delivery has arrived.
func (t *tracker) complete() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.distinct == t.want
}

// progress is the number of expected deliveries that have arrived.
func (t *tracker) progress() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.distinct
}

// deliveries counts what the tracker saw.
type deliveries struct {
	expected, delivered, distinct, lost, duplicated, unexpected int
	first, last                                                 time.Time
	latencies                                                   []time.Duration // first delivery of each (receiver, message)
}

func (t *tracker) summary() deliveries {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := deliveries{unexpected: t.unknown, first: t.first, last: t.last, latencies: slices.Clone(t.latencies)}
	for _, r := range t.receivers {
		for id := 0; id < t.n; id++ {
			got := int(r.got[id])
			if !r.want.has(id) {
				d.unexpected += got
				continue
			}
			d.expected++
			d.delivered += got
			if got > 0 {
				d.distinct++
				d.duplicated += got - 1
			} else {
				d.lost++
			}
		}
	}
	return d
}

// perSecond is deliveries per second between the first send and the last
// expected delivery; 0 when nothing arrived.
func (d deliveries) perSecond() float64 {
	span := d.last.Sub(d.first)
	if d.delivered == 0 || span <= 0 {
		return 0
	}
	return float64(d.delivered) / span.Seconds()
}

// percentile is the nearest-rank percentile p (0 < p <= 100) of ds, which
// it sorts; 0 for an empty slice.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	rank := int(math.Ceil(p / 100 * float64(len(ds))))
	rank = min(max(rank, 1), len(ds))
	return ds[rank-1]
}

type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }

// Message bodies carry their number and send time: "ld<id>.<unixnano>",
// followed by filler to a realistic length.
const bodyPrefix = "ld"

func messageBody(id int, at time.Time) string {
	return bodyPrefix + strconv.Itoa(id) + "." + strconv.FormatInt(at.UnixNano(), 10) + " the quick brown fox jumps over the lazy dog"
}

// parseBody finds the message number and send time in a body; ok is false
// for text that is not one of the tool's messages.
func parseBody(body string) (id int, sent time.Time, ok bool) {
	i := strings.Index(body, bodyPrefix)
	if i < 0 {
		return 0, time.Time{}, false
	}
	rest := body[i+len(bodyPrefix):]
	dot := strings.IndexByte(rest, '.')
	if dot <= 0 {
		return 0, time.Time{}, false
	}
	id, err := strconv.Atoi(rest[:dot])
	if err != nil || id < 0 {
		return 0, time.Time{}, false
	}
	rest = rest[dot+1:]
	end := strings.IndexByte(rest, ' ')
	if end < 0 {
		end = len(rest)
	}
	ns, err := strconv.ParseInt(rest[:end], 10, 64)
	if err != nil {
		return 0, time.Time{}, false
	}
	return id, time.Unix(0, ns), true
}

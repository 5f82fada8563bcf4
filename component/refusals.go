package component

import (
	"log/slog"
	"sync"
	"time"
)

// refusalLog reports stanzas refused because their sender's queue was
// full: the first at once, then one line per sender and interval with the
// count. A client that floods Ferry must not flood its log as well.
type refusalLog struct {
	mu     sync.Mutex
	every  time.Duration
	now    func() time.Time
	byUser map[string]*refusals
}

type refusals struct {
	since  time.Time // when the last line was written
	unsaid int       // refused since then
}

// refusalLogEvery is how often a flooding sender's refusals are summed up.
const refusalLogEvery = 10 * time.Second

// refusalLogLimit bounds the senders remembered; beyond it, those quiet
// for an interval are forgotten.
const refusalLogLimit = 1024

func newRefusalLog(every time.Duration, now func() time.Time) *refusalLog {
	return &refusalLog{every: every, now: now, byUser: map[string]*refusals{}}
}

func (r *refusalLog) refused(log *slog.Logger, user, stanza string) {
	r.mu.Lock()
	now := r.now()
	st := r.byUser[user]
	if st == nil {
		r.forgetQuiet(now)
		r.byUser[user] = &refusals{since: now}
		r.mu.Unlock()
		log.Warn("user's queue full; stanza refused", "user", user, "stanza", stanza)
		return
	}
	st.unsaid++
	if now.Sub(st.since) < r.every {
		r.mu.Unlock()
		return
	}
	n := st.unsaid
	st.since, st.unsaid = now, 0
	r.mu.Unlock()
	log.Warn("user's queue full; stanzas refused", "user", user, "refused", n, "over", r.every)
}

// forgetQuiet drops senders with nothing unsaid for an interval, once
// the map is full (lock held).
func (r *refusalLog) forgetQuiet(now time.Time) {
	if len(r.byUser) < refusalLogLimit {
		return
	}
	for u, st := range r.byUser {
		if now.Sub(st.since) >= r.every {
			delete(r.byUser, u)
		}
	}
}

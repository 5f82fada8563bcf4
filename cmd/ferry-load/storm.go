package main

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
)

// stormScenario: made-up remote JIDs, from a domain that may not register,
// each send <presence/> to the transport. What does that cost the gateway,
// and does it give the memory back?
type stormScenario struct{}

func (stormScenario) title(o options) string {
	return fmt.Sprintf("storm: %d remote JIDs (not allowed to register) each send <presence/> to the transport", o.stormJIDs)
}

func (stormScenario) close() {}

// Rows of the storm.
const (
	rowPresences   = "presences sent"
	rowReplies     = "stanzas sent back"
	rowRSSPeak     = "RSS peak (MB)"
	rowRSSEnd      = "RSS at the end (MB)"
	rowGorPeak     = "goroutines peak"
	rowGorEnd      = "goroutines at the end"
	rowRecovery    = "time until RSS is back near the baseline (s)"
	rowCPUPresence = "gateway CPU per presence (µs)"
	stormPoll      = 200 * time.Millisecond
	// stormGorPoll is how often the goroutine count is read: /metrics
	// costs the gateway CPU that would be counted against the storm, and
	// a goroutine outlives a poll by seconds anyway.
	stormGorPoll = 2 * time.Second
	// stormQuietCPU is the CPU a gateway may use in one poll and count as
	// done with the storm.
	stormQuietCPU = 2 * time.Millisecond
	stormBatch    = 500
)

// nearBaseline is how close RSS must come back: within 10 % or 4 MiB of
// where it started, whichever is more (a heap that has been grown and
// shrunk does not return every page).
func nearBaseline(before, now int64) bool {
	return now <= before+max(before/10, 4<<20)
}

func (stormScenario) measure(e *env, o options, g gateway) (*result, error) {
	var replies atomic.Int64
	e.remote.setHandler(func(*element) { replies.Add(1) })
	defer e.remote.setHandler(nil)

	before := takeSample(g)
	peak := before
	lastGor := time.Now()
	watch := func() sample {
		s := sample{at: time.Now()}
		s.cpu, _ = cpuTime(g.pid())
		s.rss, _ = rssBytes(g.pid())
		peak.rss = max(peak.rss, s.rss)
		if time.Since(lastGor) >= stormGorPoll {
			lastGor = time.Now()
			if n, err := g.goroutines(); err == nil {
				peak.gor = max(peak.gor, n)
			}
		}
		return s
	}
	batch := make([]string, 0, stormBatch)
	lastWatch := time.Now()
	for i := 0; i < o.stormJIDs; i++ {
		from := "r" + strconv.Itoa(i) + "@" + remoteDomain + "/storm"
		batch = append(batch, "<presence from='"+escapeAttr(from)+"' to='"+g.domain()+"'/>")
		if len(batch) == stormBatch || i == o.stormJIDs-1 {
			if err := e.remote.sendBatch(batch); err != nil {
				return nil, err
			}
			batch = batch[:0]
		}
		if time.Since(lastWatch) > stormPoll {
			watch()
			lastWatch = time.Now()
		}
	}
	sent := time.Now()
	// Watch until the gateway is done (two quiet polls in a row) with RSS
	// back near the baseline, or the deadline. The peak usually comes
	// after the last send, while the gateway catches up.
	now := watch()
	recovered, quiet := false, 0
	for {
		time.Sleep(stormPoll) // sampling interval
		prev := now
		now = watch()
		if now.cpu-prev.cpu < stormQuietCPU.Nanoseconds() {
			quiet++
		} else {
			quiet = 0
		}
		if nearBaseline(before.rss, now.rss) && quiet >= 2 {
			recovered = true
			break
		}
		if time.Since(sent) > o.stormWait {
			break
		}
	}

	r := &result{gateway: g.name()}
	r.add(rowPresences, float64(o.stormJIDs))
	r.add(rowReplies, float64(replies.Load()))
	now = takeSample(g) // with the goroutines
	r.add(rowCPUPresence, float64(now.cpu-before.cpu)/1e3/float64(max(o.stormJIDs, 1)))
	r.add(rowRSSBefore, mb(before.rss))
	r.add(rowRSSPeak, mb(peak.rss))
	r.add(rowRSSEnd, mb(now.rss))
	if before.gorOK {
		r.add(rowGorBefore, float64(before.gor))
		r.add(rowGorPeak, float64(peak.gor))
		r.add(rowGorEnd, float64(now.gor))
	} else {
		r.absent(rowGorBefore)
		r.absent(rowGorPeak)
		r.absent(rowGorEnd)
	}
	if recovered {
		r.add(rowRecovery, now.at.Sub(sent).Seconds())
	} else {
		r.absent(rowRecovery)
		r.note("RSS not back near its baseline (%.1f MB) %v after the last presence: gave up at %.1f MB", mb(before.rss), o.stormWait, mb(now.rss))
	}
	return r, nil
}

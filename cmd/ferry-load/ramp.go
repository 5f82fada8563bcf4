package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// rampScenario brings a gateway up to many puppeted IRC connections: each
// user joins a small channel of its own (rampRoom users each), so what is
// measured is the cost of idle connections, not fan-out.
//
// Each gateway ramps on a freshly started IRC server: ngIRCd takes minutes
// to let go of ten thousand connections (its client lists are linear), and
// the next gateway would be measured against a server still busy with them.
type rampScenario struct{}

func (*rampScenario) title(o options) string {
	return fmt.Sprintf("ramp: up to %d puppeted IRC connections, %d users per channel, at most %d joins under way", o.rampUsers, o.rampRoom, o.rampWindow)
}

func (*rampScenario) close() {}

// rampPoll is how often the ramp looks at its progress.
const rampPoll = 50 * time.Millisecond

// Rows of the ramp.
const (
	rowRampTime    = "time until the peak of IRC connections (s)"
	rowConnEnd     = "IRC connections at the end"
	rowRSSPeakConn = "RSS at the peak of connections (MB)"
)

// lusersTimeout bounds a LUSERS round trip to a busy IRC server.
const lusersTimeout = 2 * time.Minute

func (*rampScenario) measure(e *env, o options, g gateway) (*result, error) {
	t := tag(g)
	users := indices(0, o.rampUsers)
	// A fresh IRC server before the users register: a restart after it
	// would drop the connections their registration opened, and the ramp
	// would measure reconnects racing joins.
	e.restartIRC()
	prepStart := time.Now()
	if err := g.prepare(users, false); err != nil {
		return nil, err
	}
	fmt.Fprintf(e.log, "ferry-load: ramp: %s prepared %d users in %v\n", g.name(), len(users), time.Since(prepStart).Round(time.Millisecond))
	rs := newRooms(g, nil)
	e.users.setHandler(rs.handle)
	defer e.users.setHandler(nil)
	room := func(u int) string { return roomAddr("#r"+t+strconv.Itoa(u/max(o.rampRoom, 1)), g) }
	nick := func(u int) string { return t + "r" + strconv.Itoa(u) }

	counter, err := dialIRC(e.irc.Addr, "rampcounter", nil)
	if err != nil {
		return nil, err
	}
	defer counter.close()
	ircBefore, err := serverUsers(counter, lusersTimeout)
	if err != nil {
		return nil, err
	}
	before := takeSample(g)
	heapBefore, stacksBefore, memErr := g.goMemory()
	start := time.Now()
	// A window of joins under way: the next ones leave as earlier ones
	// complete or their IRC connections appear on the server, whichever
	// is further, so a gateway that loses join replies does not stall the
	// ramp, and a busy server is not buried under ten thousand connects.
	logStart := len(e.irc.Log())
	sent, conns, peak := 0, 0, 0
	var peakRSS int64
	last, lastChange, lastConn := -1, time.Now(), time.Now()
	for {
		n, err := serverUsers(counter, lusersTimeout)
		if err != nil {
			return nil, err
		}
		conns = n - ircBefore
		if conns > peak {
			// Memory is read at the peak: a gateway whose connections
			// the server drops later would otherwise be divided by few.
			peak, lastConn = conns, time.Now()
			peakRSS, _ = rssBytes(g.pid())
		}
		done := rs.completed()
		if p := done + conns + rs.progress(); p != last {
			last, lastChange = p, time.Now()
		}
		if done >= len(users) || time.Since(lastChange) > o.settle || time.Since(start) > o.deadline {
			break
		}
		var batch []string
		for ; sent < len(users) && sent < max(done, conns)+o.rampWindow; sent++ {
			batch = append(batch, joinStanza(users[sent], room(users[sent]), nick(users[sent])))
		}
		if err := e.users.sendBatch(batch); err != nil {
			return nil, err
		}
		time.Sleep(rampPoll) // the window's pace: one LUSERS round trip and this
	}
	after := takeSample(g)
	sum := rs.summary(users)
	if n, err := serverUsers(counter, lusersTimeout); err == nil {
		conns = n - ircBefore
	}

	r := &result{gateway: g.name()}
	r.add(rowJoinsDone, float64(sum.complete))
	r.add(rowConnections, float64(peak))
	r.add(rowConnEnd, float64(conns))
	r.add(rowRampTime, lastConn.Sub(start).Seconds())
	if sum.complete == len(users) {
		r.add(rowJoinTime, sum.last.Sub(start).Seconds())
	} else {
		r.absent(rowJoinTime)
		r.note("only %d of %d users completed their join (own presence: %d, subject: %d)", sum.complete, len(users), sum.self, sum.subject)
	}
	noteRefusals(r, sum)
	if drops := disconnects(e.irc.Log()[logStart:], t+"r"); len(drops) > 0 {
		r.note("the IRC server disconnected puppets: %s", strings.Join(drops, ", "))
	}
	addState(r, before, after)
	r.add(rowRSSPeakConn, mb(peakRSS))
	if peak > 0 {
		r.add(rowRSSPerConn, float64(peakRSS-before.rss)/1024/float64(peak))
		r.add(rowCPUPerConn, float64(after.cpu-before.cpu)/1e6/float64(peak))
	} else {
		r.absent(rowRSSPerConn)
		r.absent(rowCPUPerConn)
	}
	if conns > 0 && before.gorOK && after.gorOK {
		r.add(rowGorPerConn, float64(after.gor-before.gor)/float64(conns))
	} else {
		r.absent(rowGorPerConn)
	}
	addIdleMemory(r, g, before, waitIdle(g, o.settle), heapBefore, stacksBefore, memErr, conns)
	return r, nil
}

// idleQuiet is how long a gateway must stay quiet to count as idle: long
// enough for a Go runtime's parked workers to end.
const idleQuiet = 10 * time.Second

// waitIdle waits until the gateway has used under 1 % of a core and kept
// its goroutine count for idleQuiet (at most limit + idleQuiet), and
// returns a sample taken then.
func waitIdle(g gateway, limit time.Duration) sample {
	deadline := time.Now().Add(limit + idleQuiet)
	s := takeSample(g)
	quietSince := s.at
	for time.Now().Before(deadline) && time.Since(quietSince) < idleQuiet {
		time.Sleep(time.Second) // sampling /proc and /metrics: there is no event to wait on
		n := takeSample(g)
		busy := float64(n.cpu-s.cpu) > 0.01*float64(n.at.Sub(s.at).Nanoseconds())
		if busy || n.gor != s.gor {
			quietSince = n.at
		}
		s = n
	}
	return s
}

// addIdleMemory writes what each connection costs once all are idle: RSS,
// and for a Go gateway its heap and goroutine stacks (where RSS goes).
func addIdleMemory(r *result, g gateway, before, after sample, heapBefore, stacksBefore float64, memErr error, conns int) {
	if conns <= 0 {
		r.absent(rowRSSEndConn)
		r.absent(rowHeapConn)
		r.absent(rowStackConn)
		return
	}
	r.add(rowRSSEndConn, float64(after.rss-before.rss)/1024/float64(conns))
	heap, stacks, err := g.goMemory()
	if err != nil || memErr != nil {
		r.absent(rowHeapConn)
		r.absent(rowStackConn)
		return
	}
	r.add(rowHeapConn, (heap-heapBefore)/1024/float64(conns))
	r.add(rowStackConn, (stacks-stacksBefore)/1024/float64(conns))
}

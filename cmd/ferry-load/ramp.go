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

	e.restartIRC()
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
	return r, nil
}

package main

import (
	"fmt"
	"strconv"
	"time"
)

// rampScenario brings a gateway up to many puppeted IRC connections: each
// user joins a small channel of its own (rampRoom users each), so what is
// measured is the cost of idle connections, not fan-out.
type rampScenario struct{}

func (rampScenario) title(o options) string {
	return fmt.Sprintf("ramp: up to %d puppeted IRC connections, %d users per channel", o.rampUsers, o.rampRoom)
}

func (rampScenario) close() {}

// rampWindow is how many joins may be under way at once: a steady ramp
// rather than one burst of ten thousand.
const rampWindow = 200

func (rampScenario) measure(e *env, o options, g gateway) (*result, error) {
	t := tag(g)
	users := indices(0, o.rampUsers)
	prepStart := time.Now()
	if err := g.prepare(users); err != nil {
		return nil, err
	}
	fmt.Fprintf(e.log, "ferry-load: ramp: %s prepared %d users in %v\n", g.name(), len(users), time.Since(prepStart).Round(time.Millisecond))
	rs := newRooms(g, nil)
	e.users.setHandler(rs.handle)
	defer e.users.setHandler(nil)
	room := func(u int) string { return roomAddr("#r"+t+strconv.Itoa(u/max(o.rampRoom, 1)), g) }
	nick := func(u int) string { return t + "r" + strconv.Itoa(u) }

	counter, err := dialIRC(e.irc.Addr, t+"counter", nil)
	if err != nil {
		return nil, err
	}
	defer counter.close()
	ircBefore, err := serverUsers(counter, iqTimeout)
	if err != nil {
		return nil, err
	}
	before := takeSample(g)
	start := time.Now()
	sent := 0
	last, lastChange := 0, time.Now()
	for {
		done := rs.completed()
		if done != last {
			last, lastChange = done, time.Now()
		}
		if done >= len(users) || time.Since(lastChange) > o.settle || time.Since(start) > o.deadline {
			break
		}
		var batch []string
		for sent < len(users) && sent < done+rampWindow {
			batch = append(batch, joinStanza(users[sent], room(users[sent]), nick(users[sent])))
			sent++
		}
		if len(batch) > 0 {
			if err := e.users.sendBatch(batch); err != nil {
				return nil, err
			}
		}
		time.Sleep(5 * time.Millisecond) // pacing the ramp's window
	}
	after := takeSample(g)
	sum := rs.summary(users)
	ircAfter, err := serverUsers(counter, iqTimeout)
	if err != nil {
		return nil, err
	}
	conns := ircAfter - ircBefore

	r := &result{gateway: g.name()}
	r.add(rowJoinsDone, float64(sum.complete))
	r.add(rowConnections, float64(conns))
	if sum.complete == len(users) {
		r.add(rowDuration, sum.last.Sub(start).Seconds())
	} else {
		r.absent(rowDuration)
		r.note("only %d of %d users completed their join (own presence: %d, subject: %d)", sum.complete, len(users), sum.self, sum.subject)
	}
	addState(r, before, after)
	if conns > 0 {
		n := float64(conns)
		r.add(rowRSSPerConn, float64(after.rss-before.rss)/1024/n)
		if before.gorOK && after.gorOK {
			r.add(rowGorPerConn, float64(after.gor-before.gor)/n)
		} else {
			r.absent(rowGorPerConn)
		}
	} else {
		r.absent(rowRSSPerConn)
		r.absent(rowGorPerConn)
	}
	addCPUPerJoin(r, before, after, sum.complete)
	return r, nil
}

package main

import (
	"fmt"
	"time"
)

// pmScenario is private-message ping-pong: one XMPP user writes to an IRC
// user who echoes every line back; the next message leaves when the echo is
// in. The latency figures are round trips, XMPP → IRC → XMPP.
type pmScenario struct{}

func (pmScenario) title(o options) string {
	return fmt.Sprintf("pm: %d sequential private-message round trips XMPP → IRC → XMPP (latency = round trip)", o.rounds)
}

func (pmScenario) close() {}

const pmRoundTimeout = 10 * time.Second

func (pmScenario) measure(e *env, o options, g gateway) (*result, error) {
	t := tag(g)
	const user = 0
	if err := g.prepare([]int{user}, false); err != nil {
		return nil, err
	}
	// Two trackers: the way out (at the IRC echo client) and the way back.
	out, back := newTracker(o.rounds), newTracker(o.rounds)
	out.expect("irc", 0, o.rounds, nil)
	back.expect("xmpp", 0, o.rounds, nil)

	echoNick := t + "echo"
	echo, err := dialIRC(e.irc.Addr, echoNick, nil)
	if err != nil {
		return nil, err
	}
	echo.setHandler(func(line []byte) {
		at := time.Now()
		pm, err := parsePrivmsg(line)
		if err != nil || pm.target != echoNick {
			return
		}
		if id, _, ok := parseBody(pm.text); ok {
			out.delivered("irc", id, at)
		}
		_ = echo.sendLines("PRIVMSG " + pm.from + " :" + pm.text)
	})
	defer echo.close()

	arrived := make(chan int, o.rounds+1)
	rs := newRooms(g, func(u int, body string, at time.Time) {
		if id, _, ok := parseBody(body); ok {
			back.delivered("xmpp", id, at)
			select {
			case arrived <- id:
			default:
			}
		}
	})
	e.users.setHandler(rs.handle)
	defer e.users.setHandler(nil)
	// A join first: it registers the user (Ferry) and opens the IRC
	// connection (both), so the round trips measure messages only.
	room := roomAddr("#pm"+t, g)
	nick := t + "pmuser"
	if err := joinAll(e, o, rs, []int{user}, func(int) string { return room }, func(int) string { return nick }); err != nil {
		return nil, err
	}
	defer func() { _ = e.users.send(leaveStanza(user, room, nick)) }()

	to := nickAddr(echoNick, g)
	before := takeSample(g)
	timeouts := 0
	for id := 0; id < o.rounds; id++ {
		now := time.Now()
		out.sentAt(id, now)
		back.sentAt(id, now)
		if err := e.users.send(chatStanza(user, to, messageBody(id, now))); err != nil {
			return nil, err
		}
		if !waitEcho(arrived, id) {
			timeouts++
			if timeouts >= 3 {
				break // the path is broken; what is missing is counted as lost
			}
		}
	}
	after := takeSample(g)

	d := back.summary()
	o2 := out.summary()
	// Deliveries are both legs: to the IRC user and back to the XMPP user.
	d.expected += o2.expected
	d.delivered += o2.delivered
	d.distinct += o2.distinct
	d.lost += o2.lost
	d.duplicated += o2.duplicated
	d.unexpected += o2.unexpected
	r := &result{gateway: g.name()}
	addDeliveries(r, d, before, after)
	addState(r, before, after)
	if timeouts > 0 {
		r.note("%d round trip(s) got no echo within %v", timeouts, pmRoundTimeout)
	}
	return r, nil
}

// waitEcho waits for message id to come back; older echoes that arrive
// late are skipped.
func waitEcho(arrived <-chan int, id int) bool {
	t := time.NewTimer(pmRoundTimeout)
	defer t.Stop()
	for {
		select {
		case got := <-arrived:
			if got == id {
				return true
			}
		case <-t.C:
			return false
		}
	}
}

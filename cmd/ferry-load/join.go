package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Rows of the join-like scenarios.
const (
	rowJoinUsers   = "users joining"
	rowGotSelf     = "got own presence (110)"
	rowGotSubject  = "got the subject"
	rowJoinTime    = "time until the last join completed (s)"
	rowOccupants   = "occupant presences received"
	rowCPUPerJoin  = "gateway CPU per join (ms)"
	rowCPUPerConn  = "gateway CPU per connection (ms)"
	rowRSSPerConn  = "RSS per connection at the peak (kB)"
	rowGorPerConn  = "goroutines per connection at the end"
	rowRSSEndConn  = "RSS per connection at the end, all idle (kB)"
	rowHeapConn    = "Go heap in use per connection at the end (kB)"
	rowStackConn   = "goroutine stacks per connection at the end (kB)"
	rowConnections = "IRC connections at the peak (counted by the IRC server)"
	rowJoinsDone   = "joins completed (110 and subject)"
)

// joinScenario: many users join one channel at once.
type joinScenario struct{}

func (s *joinScenario) title(o options) string {
	return fmt.Sprintf("join: %d users join one channel at once", o.joinUsers)
}

func (s *joinScenario) close() {}

func (s *joinScenario) measure(e *env, o options, g gateway) (*result, error) {
	t := tag(g)
	channel := "#join" + t
	room := roomAddr(channel, g)
	users := indices(0, o.joinUsers)
	if err := g.prepare(users, false); err != nil {
		return nil, err
	}
	op, err := dialIRC(e.irc.Addr, t+"joinop", nil)
	if err != nil {
		return nil, err
	}
	defer op.close()
	if err := op.sendLines("JOIN "+channel, "TOPIC "+channel+" :load test"); err != nil {
		return nil, err
	}
	if err := op.sync("topic", iqTimeout); err != nil {
		return nil, err
	}

	rs := newRooms(g, nil)
	e.users.setHandler(rs.handle)
	defer e.users.setHandler(nil)
	nick := func(u int) string { return t + "j" + strconv.Itoa(u) }
	before := takeSample(g)
	start := time.Now()
	joinErr := joinAll(e, o, rs, users, func(int) string { return room }, nick)
	after := takeSample(g)
	sum := rs.summary(users)

	r := &result{gateway: g.name()}
	addJoinRows(r, sum, len(users), start)
	addCPUPerJoin(r, before, after, sum.complete)
	addState(r, before, after)
	if joinErr != nil {
		r.note("%v", joinErr)
	}
	leave := make([]string, 0, len(users))
	for _, u := range users {
		leave = append(leave, leaveStanza(u, room, nick(u)))
	}
	_ = e.users.sendBatch(leave)
	return r, nil
}

func addJoinRows(r *result, s joinSummary, users int, start time.Time) {
	r.add(rowJoinUsers, float64(users))
	r.add(rowGotSelf, float64(s.self))
	r.add(rowGotSubject, float64(s.subject))
	if s.complete == users {
		r.add(rowJoinTime, s.last.Sub(start).Seconds())
	} else {
		r.absent(rowJoinTime)
	}
	noteRefusals(r, s)
}

// noteRefusals names the errors joins got, with how many of each.
func noteRefusals(r *result, s joinSummary) {
	if len(s.errors) == 0 {
		return
	}
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(s.errors)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", c, s.errors[c]))
	}
	r.note("joins refused: %s", strings.Join(parts, ", "))
}

func addCPUPerJoin(r *result, before, after sample, joins int) {
	if joins == 0 {
		r.absent(rowCPUPerJoin)
		return
	}
	r.add(rowCPUPerJoin, float64(after.cpu-before.cpu)/1e6/float64(joins))
}

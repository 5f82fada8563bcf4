package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
)

// floodScenario: one raw IRC client sends a great many lines into a channel
// where a few XMPP users sit; every user must get every line.
type floodScenario struct{}

func (floodScenario) title(o options) string {
	return fmt.Sprintf("flood: one IRC client sends %d lines into a channel with %d XMPP users", o.floodLines, o.floodUsers)
}

func (floodScenario) close() {}

func (floodScenario) measure(e *env, o options, g gateway) (*result, error) {
	t := tag(g)
	channel := "#flood" + t
	room := roomAddr(channel, g)
	users := indices(0, o.floodUsers)
	if err := g.prepare(users, true); err != nil {
		return nil, err
	}
	tr := newTracker(o.floodLines)
	for _, u := range users {
		tr.expect("x"+strconv.Itoa(u), 0, o.floodLines, nil)
	}
	// The flooder also notes who leaves the channel while it floods (a
	// puppet that the IRC server disconnects for not reading).
	var quitMu sync.Mutex
	quits := map[string]int{}
	flooder, err := dialIRC(e.irc.Addr, t+"flooder", func(line []byte) {
		m, err := ircmsg.ParseLine(string(line))
		if err != nil || (m.Command != "QUIT" && m.Command != "PART" && m.Command != "KICK") {
			return
		}
		reason := m.Command
		if len(m.Params) > 0 {
			reason += " " + m.Params[len(m.Params)-1]
		}
		quitMu.Lock()
		quits[reason]++
		quitMu.Unlock()
	})
	if err != nil {
		return nil, err
	}
	defer flooder.close()
	if err := flooder.sendLines("JOIN "+channel, "TOPIC "+channel+" :flood"); err != nil {
		return nil, err
	}
	if err := flooder.sync("joined", iqTimeout); err != nil {
		return nil, err
	}
	rs := newRooms(g, func(u int, body string, at time.Time) {
		if id, _, ok := parseBody(body); ok {
			tr.delivered("x"+strconv.Itoa(u), id, at)
		}
	})
	e.users.setHandler(rs.handle)
	defer e.users.setHandler(nil)
	nick := func(u int) string { return t + "fl" + strconv.Itoa(u) }
	if err := joinAll(e, o, rs, users, func(int) string { return room }, nick); err != nil {
		return nil, err
	}

	before := takeSample(g)
	for id := 0; id < o.floodLines; id++ {
		now := time.Now()
		tr.sentAt(id, now)
		if err := flooder.sendNoFlush("PRIVMSG " + channel + " :" + messageBody(id, now)); err != nil {
			return nil, err
		}
	}
	if err := flooder.flush(); err != nil {
		return nil, err
	}
	waitFor(tr.complete, tr.progress, o.settle, o.deadline)
	after := takeSample(g)

	r := &result{gateway: g.name()}
	addDeliveries(r, tr.summary(), before, after)
	addState(r, before, after)
	quitMu.Lock()
	var left []string
	for reason, n := range quits {
		left = append(left, fmt.Sprintf("%q ×%d", reason, n))
	}
	quitMu.Unlock()
	sort.Strings(left)
	if len(left) > 0 {
		r.note("users left the channel during the flood: %s", strings.Join(left, ", "))
	}
	for _, u := range users {
		_ = e.users.send(leaveStanza(u, room, nick(u)))
	}
	return r, nil
}

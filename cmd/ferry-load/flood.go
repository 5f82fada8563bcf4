package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
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
	flooder, err := dialIRC(e.irc.Addr, t+"flooder", nil)
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

	logStart := len(e.irc.Log())
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
	// An IRC server drops a client that does not read what it is sent
	// (ngIRCd: 32 KiB pending, "Write buffer space exhausted"). Its log
	// says whose connection went and why.
	if drops := disconnects(e.irc.Log()[logStart:], t+"fl"); len(drops) > 0 {
		r.note("the IRC server disconnected the puppets: %s", strings.Join(drops, ", "))
	}
	for _, u := range users {
		_ = e.users.send(leaveStanza(u, room, nick(u)))
	}
	return r, nil
}

// disconnects reads ngIRCd's log for users whose nick starts with prefix
// and who were disconnected for another reason than their own QUIT, and
// counts them by reason.
func disconnects(log, prefix string) []string {
	count := map[string]int{}
	for _, line := range strings.Split(log, "\n") {
		_, rest, ok := strings.Cut(line, `User "`+prefix)
		if !ok {
			continue
		}
		_, reason, ok := strings.Cut(rest, "unregistered (connection ")
		if !ok {
			continue
		}
		if _, reason, ok = strings.Cut(reason, "): "); !ok {
			continue
		}
		reason = strings.TrimSuffix(reason, ".")
		if reason != "Got QUIT command" {
			count[reason]++
		}
	}
	var out []string
	for _, reason := range slices.Sorted(maps.Keys(count)) {
		out = append(out, fmt.Sprintf("%q ×%d", reason, count[reason]))
	}
	return out
}

package main

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// options are the sizes of a run (flags).
type options struct {
	users, ircClients, messages int // burst and paced
	pacedMessages               int
	rounds                      int // pm
	joinUsers                   int
	rampUsers, rampRoom         int
	rampWindow                  int // joins under way at once
	namesUsers                  int
	floodLines, floodUsers      int
	stormJIDs                   int
	stormWait                   time.Duration
	settle                      time.Duration // give up after this long without progress
	deadline                    time.Duration // and after this long in any case
	profileDir                  string        // where Ferry's profiles go; "" for none
}

func defaultOptions() options {
	return options{
		users: 20, ircClients: 2, messages: 50, pacedMessages: 20, rounds: 500, joinUsers: 250,
		rampUsers: 10000, rampRoom: 10, rampWindow: 200, namesUsers: 10000, floodLines: 200000, floodUsers: 3,
		stormJIDs: 20000, stormWait: 60 * time.Second, settle: 15 * time.Second, deadline: 10 * time.Minute,
	}
}

// scenario measures one gateway at a time. Its state (such as ten thousand
// IRC users in a channel) may be set up on the first measure and kept for
// the next gateway; close ends it.
type scenario interface {
	title(o options) string
	measure(e *env, o options, g gateway) (*result, error)
	close()
}

// sample is a gateway's state at one moment.
type sample struct {
	at    time.Time
	cpu   int64 // ns
	rss   int64 // bytes
	gor   int
	gorOK bool
}

func takeSample(g gateway) sample {
	s := sample{at: time.Now()}
	s.cpu, _ = cpuTime(g.pid())
	s.rss, _ = rssBytes(g.pid())
	if n, err := g.goroutines(); err == nil {
		s.gor, s.gorOK = n, true
	}
	return s
}

// addDeliveries writes the delivery figures: counts, rate, CPU per
// delivery over the window before … after, and latency percentiles.
func addDeliveries(r *result, d deliveries, before, after sample) {
	r.add(rowExpected, float64(d.expected))
	r.add(rowDelivered, float64(d.distinct))
	r.add(rowLost, float64(d.lost))
	r.add(rowDuplicated, float64(d.duplicated))
	r.add(rowRate, d.perSecond())
	r.add(rowCPUTotal, float64(after.cpu-before.cpu)/1e9)
	if d.distinct > 0 {
		r.add(rowCPU, float64(after.cpu-before.cpu)/1e3/float64(d.distinct))
	} else {
		r.absent(rowCPU)
	}
	if len(d.latencies) > 0 {
		r.add(rowP50, ms(percentile(d.latencies, 50)))
		r.add(rowP95, ms(percentile(d.latencies, 95)))
		r.add(rowP99, ms(percentile(d.latencies, 99)))
	} else {
		r.absent(rowP50)
		r.absent(rowP95)
		r.absent(rowP99)
	}
	if d.unexpected > 0 {
		r.note("%d deliveries nobody was expecting (wrong receiver, or a number the tool never sent)", d.unexpected)
	}
}

// addState writes memory and goroutines before and after.
func addState(r *result, before, after sample) {
	r.add(rowRSSBefore, mb(before.rss))
	r.add(rowRSSAfter, mb(after.rss))
	if before.gorOK && after.gorOK {
		r.add(rowGorBefore, float64(before.gor))
		r.add(rowGorAfter, float64(after.gor))
	} else {
		r.absent(rowGorBefore)
		r.absent(rowGorAfter)
	}
}

// waitFor polls until done reports true, progress stops changing for
// settle, or deadline passes; it reports whether done became true. This is
// a measuring loop, not test synchronisation: each poll reads counters
// that the readers update.
func waitFor(done func() bool, progress func() int, settle, deadline time.Duration) bool {
	start := time.Now()
	last, lastChange := progress(), time.Now()
	for {
		if done() {
			return true
		}
		now := time.Now()
		if p := progress(); p != last {
			last, lastChange = p, now
		}
		if now.Sub(lastChange) > settle || now.Sub(start) > deadline {
			return done()
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// roomAddr is a channel's room JID on a gateway.
func roomAddr(channel string, g gateway) string {
	return channel + "%" + ircName + "@" + g.domain()
}

// nickAddr is an IRC user's JID on a gateway.
func nickAddr(nick string, g gateway) string {
	return nick + "%" + ircName + "@" + g.domain()
}

func joinStanza(user int, room, nick string) string {
	return "<presence from='" + escapeAttr(userJID(user)) + "' to='" + escapeAttr(room+"/"+nick) +
		"'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>"
}

func leaveStanza(user int, room, nick string) string {
	return "<presence type='unavailable' from='" + escapeAttr(userJID(user)) + "' to='" + escapeAttr(room+"/"+nick) + "'/>"
}

func groupchatStanza(user int, room, body string) string {
	return "<message type='groupchat' from='" + escapeAttr(userJID(user)) + "' to='" + escapeAttr(room) +
		"'><body>" + escapeText(body) + "</body></message>"
}

func chatStanza(user int, to, body string) string {
	return "<message type='chat' from='" + escapeAttr(userJID(user)) + "' to='" + escapeAttr(to) +
		"'><body>" + escapeText(body) + "</body></message>"
}

// joinState is what one user has seen of their own join.
type joinState struct {
	self, subject bool
	occupants     int
	done          time.Time // when both self-presence (110) and subject had arrived
	err           string    // a presence error, if the join was refused
}

// rooms follows room joins and group-chat messages that the gateway sends
// to the tool's users. Its handle method is the component's handler.
type rooms struct {
	domain    string
	onMessage func(user int, body string, at time.Time) // group-chat and chat messages with a body

	mu     sync.Mutex
	joins  map[int]*joinState
	ndone  int
	events int // presences and subjects received: progress while a join is under way
}

func newRooms(g gateway, onMessage func(user int, body string, at time.Time)) *rooms {
	return &rooms{domain: g.domain(), onMessage: onMessage, joins: map[int]*joinState{}}
}

func (r *rooms) handle(e *element) {
	at := time.Now()
	from := e.attr("from")
	if !strings.HasSuffix(strings.SplitN(from, "/", 2)[0], "@"+r.domain) {
		return // the gateway itself, or a gateway of an earlier phase
	}
	u := userIndex(e.attr("to"))
	if u < 0 {
		return
	}
	switch e.name {
	case "presence":
		r.presence(u, e, at)
	case "message":
		if e.attr("type") == "groupchat" && e.child("subject") != nil && e.child("body") == nil {
			r.mu.Lock()
			r.events++
			st := r.state(u)
			if !st.subject {
				st.subject = true
				r.finish(st, at)
			}
			r.mu.Unlock()
			return
		}
		if b := e.child("body"); b != nil && r.onMessage != nil {
			r.onMessage(u, b.text, at)
		}
	}
}

func (r *rooms) presence(u int, e *element, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events++
	st := r.state(u)
	switch {
	case e.attr("type") == "error":
		st.err = e.errorCondition()
	case e.attr("type") == "unavailable":
	case e.hasStatus("110"):
		if !st.self {
			st.self = true
			r.finish(st, at)
		}
	default:
		st.occupants++
	}
}

func (r *rooms) state(u int) *joinState {
	st := r.joins[u]
	if st == nil {
		st = &joinState{}
		r.joins[u] = st
	}
	return st
}

// finish marks a join complete once both halves are in (lock held).
func (r *rooms) finish(st *joinState, at time.Time) {
	if st.self && st.subject && st.done.IsZero() {
		st.done = at
		r.ndone++
	}
}

func (r *rooms) progress() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events
}

func (r *rooms) completed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ndone
}

// joinSummary counts, over users, who saw their own presence, who saw the
// subject, the last completion time and the refusals.
type joinSummary struct {
	self, subject, complete, occupants int
	last                               time.Time
	errors                             map[string]int
}

func (r *rooms) summary(users []int) joinSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := joinSummary{errors: map[string]int{}}
	for _, u := range users {
		st := r.joins[u]
		if st == nil {
			continue
		}
		if st.self {
			s.self++
		}
		if st.subject {
			s.subject++
		}
		s.occupants += st.occupants
		if !st.done.IsZero() {
			s.complete++
			if st.done.After(s.last) {
				s.last = st.done
			}
		}
		if st.err != "" {
			s.errors[st.err]++
		}
	}
	return s
}

// joinAll sends a join for each user (nick from nickOf) and waits until all
// of them have completed, or progress stops for settle.
func joinAll(e *env, o options, rs *rooms, users []int, room func(u int) string, nickOf func(u int) string) error {
	batch := make([]string, 0, 64)
	for _, u := range users {
		batch = append(batch, joinStanza(u, room(u), nickOf(u)))
		if len(batch) == cap(batch) {
			if err := e.users.sendBatch(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := e.users.sendBatch(batch); err != nil {
		return err
	}
	if !waitFor(func() bool { return rs.completed() >= len(users) }, rs.progress, o.settle, o.deadline) {
		s := rs.summary(users)
		return fmt.Errorf("only %d of %d joins completed (own presence: %d, subject: %d, refused: %v)", s.complete, len(users), s.self, s.subject, s.errors)
	}
	return nil
}

// indices returns lo, lo+1, …, lo+n-1.
func indices(lo, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = lo + i
	}
	return s
}

// tag is a short prefix per gateway, so nicks and channels of the two
// gateways never meet on the IRC server.
func tag(g gateway) string {
	if g.name() == "Ferry" {
		return "f"
	}
	return "b"
}

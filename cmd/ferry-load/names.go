package main

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
)

// namesScenario fills one channel with raw IRC users (once, for every
// gateway), then one XMPP user joins it through the gateway: the NAMES
// reply is as long as the channel.
type namesScenario struct {
	channel string
	clients []*ircClient
	ready   bool
	fillErr error // filling failed: not tried again for the next gateway
}

func (s *namesScenario) title(o options) string {
	return fmt.Sprintf("names: one XMPP user joins a channel of %d IRC users", o.namesUsers)
}

func (s *namesScenario) close() {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 200)
	for _, c := range s.clients {
		if c == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c.conn.Close() // no QUIT: ten thousand QUITs would be broadcast to everyone left
			<-c.done
		}()
	}
	wg.Wait()
	s.clients = nil
}

// fill connects the IRC users and has them join, a few hundred at a time.
func (s *namesScenario) fill(e *env, o options) error {
	s.channel = "#names"
	start := time.Now()
	s.clients = make([]*ircClient, o.namesUsers)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	sem := make(chan struct{}, ircDialers)
	for i := range s.clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dialIRCRetry(e.irc.Addr, "n"+strconv.Itoa(i), nil)
			if err == nil {
				lines := []string{"JOIN " + s.channel}
				if i == 0 {
					lines = append(lines, "TOPIC "+s.channel+" :ten thousand users")
				}
				err = c.sendLines(lines...)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			s.clients[i] = c
		}()
	}
	wg.Wait()
	if firstErr != nil {
		s.close()
		return fmt.Errorf("filling %s: %w", s.channel, firstErr)
	}
	// The server has handled every JOIN once LIST counts them all.
	for {
		n, err := channelSize(s.clients[0], s.channel, iqTimeout)
		if err != nil {
			return err
		}
		if n >= o.namesUsers {
			break
		}
		if time.Since(start) > o.deadline {
			return fmt.Errorf("%s has %d of %d users after %v", s.channel, n, o.namesUsers, o.deadline)
		}
		time.Sleep(200 * time.Millisecond) // polling the server's count
	}
	fmt.Fprintf(e.log, "ferry-load: names: %d IRC users in %s after %v\n", o.namesUsers, s.channel, time.Since(start).Round(time.Millisecond))
	s.ready = true
	return nil
}

func (s *namesScenario) measure(e *env, o options, g gateway) (*result, error) {
	if s.fillErr != nil {
		return nil, s.fillErr
	}
	if !s.ready {
		if s.fillErr = s.fill(e, o); s.fillErr != nil {
			return nil, s.fillErr
		}
	}
	const user = 0
	if err := g.prepare([]int{user}, false); err != nil {
		return nil, err
	}
	rs := newRooms(g, nil)
	e.users.setHandler(rs.handle)
	defer e.users.setHandler(nil)
	room := roomAddr(s.channel, g)
	nick := tag(g) + "names"
	before := takeSample(g)
	start := time.Now()
	joinErr := joinAll(e, o, rs, []int{user}, func(int) string { return room }, func(int) string { return nick })
	after := takeSample(g)
	sum := rs.summary([]int{user})
	r := &result{gateway: g.name()}
	addJoinRows(r, sum, 1, start)
	r.add(rowOccupants, float64(sum.occupants))
	addCPUPerJoin(r, before, after, 1)
	addState(r, before, after)
	if joinErr != nil {
		r.note("%v", joinErr)
	}
	_ = e.users.send(leaveStanza(user, room, nick))
	return r, nil
}

// channelSize asks the server for a channel's user count (LIST, 322).
func channelSize(c *ircClient, channel string, timeout time.Duration) (int, error) {
	got := make(chan int, 1)
	c.setHandler(func(line []byte) {
		m, err := ircmsg.ParseLine(string(line))
		if err != nil {
			return
		}
		switch {
		case m.Command == "322" && len(m.Params) >= 3 && strings.EqualFold(m.Params[1], channel):
			if n, err := strconv.Atoi(m.Params[2]); err == nil {
				select {
				case got <- n:
				default:
				}
			}
		case m.Command == "323":
			select {
			case got <- 0:
			default:
			}
		}
	})
	defer c.setHandler(nil)
	if err := c.sendLines("LIST " + channel); err != nil {
		return 0, err
	}
	select {
	case n := <-got:
		return n, nil
	case <-time.After(timeout):
		return 0, fmt.Errorf("no LIST answer within %v", timeout)
	}
}

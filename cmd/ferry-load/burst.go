package main

import (
	"fmt"
	"strconv"
	"sync"
	"time"
)

// burstScenario puts XMPP users (through the gateway) and raw IRC clients
// in one channel; every one of them sends its messages at once (burst) or
// one a second (paced). Each XMPP user must get everybody else's messages
// and its own reflections; each IRC client everybody else's.
type burstScenario struct {
	paced bool
}

func (s *burstScenario) title(o options) string {
	if s.paced {
		return fmt.Sprintf("paced: %d XMPP users + %d IRC clients in one channel, each sends 1 message a second, %d each",
			o.users, o.ircClients, o.pacedMessages)
	}
	return fmt.Sprintf("burst: %d XMPP users + %d IRC clients in one channel, each sends %d messages at once",
		o.users, o.ircClients, o.messages)
}

func (s *burstScenario) close() {}

func (s *burstScenario) measure(e *env, o options, g gateway) (*result, error) {
	msgs := o.messages
	if s.paced {
		msgs = o.pacedMessages
	}
	senders := o.users + o.ircClients
	total := senders * msgs
	tr := newTracker(total)
	ownRange := func(sender int) func(int) bool {
		return func(id int) bool { return id/msgs == sender }
	}
	for u := 0; u < o.users; u++ {
		tr.expect("x"+strconv.Itoa(u), 0, total, nil) // reflections included
	}
	for c := 0; c < o.ircClients; c++ {
		tr.expect("i"+strconv.Itoa(c), 0, total, ownRange(o.users+c))
	}

	t := tag(g)
	channel := "#burst" + t
	if s.paced {
		channel = "#paced" + t
	}
	room := roomAddr(channel, g)
	users := indices(0, o.users)
	if err := g.prepare(users, true); err != nil {
		return nil, err
	}

	// IRC clients first, with a topic, so the users' joins end with a subject.
	clients := make([]*ircClient, o.ircClients)
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.close()
			}
		}
	}()
	for i := range clients {
		receiver := "i" + strconv.Itoa(i)
		c, err := dialIRC(e.irc.Addr, t+"irc"+strconv.Itoa(i), func(line []byte) {
			at := time.Now()
			if pm, err := parsePrivmsg(line); err == nil {
				if id, _, ok := parseBody(pm.text); ok {
					tr.delivered(receiver, id, at)
				}
			}
		})
		if err != nil {
			return nil, err
		}
		clients[i] = c
		lines := []string{"JOIN " + channel}
		if i == 0 {
			lines = append(lines, "TOPIC "+channel+" :load test")
		}
		if err := c.sendLines(lines...); err != nil {
			return nil, err
		}
		if err := c.sync("joined", iqTimeout); err != nil {
			return nil, err
		}
	}

	rs := newRooms(g, func(u int, body string, at time.Time) {
		if id, _, ok := parseBody(body); ok {
			tr.delivered("x"+strconv.Itoa(u), id, at)
		}
	})
	e.users.setHandler(rs.handle)
	defer e.users.setHandler(nil)
	nick := func(u int) string { return t + "u" + strconv.Itoa(u) }
	if err := joinAll(e, o, rs, users, func(int) string { return room }, nick); err != nil {
		return nil, err
	}

	before := takeSample(g)
	var wg sync.WaitGroup
	start := make(chan struct{})
	sendErr := make(chan error, senders)
	for sender := 0; sender < senders; sender++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if s.paced {
				// Spread the senders over the second, as people would be.
				time.Sleep(time.Duration(sender) * time.Second / time.Duration(senders))
			}
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for k := 0; k < msgs; k++ {
				if s.paced && k > 0 {
					<-tick.C
				}
				id := sender*msgs + k
				now := time.Now()
				tr.sentAt(id, now)
				var err error
				if sender < o.users {
					err = e.users.send(groupchatStanza(sender, room, messageBody(id, now)))
				} else {
					err = clients[sender-o.users].sendLines("PRIVMSG " + channel + " :" + messageBody(id, now))
				}
				if err != nil {
					sendErr <- err
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(sendErr)
	if err := <-sendErr; err != nil {
		return nil, err
	}
	waitFor(tr.complete, tr.progress, o.settle, o.deadline)
	after := takeSample(g)

	r := &result{gateway: g.name()}
	addDeliveries(r, tr.summary(), before, after)
	addState(r, before, after)
	for u := range users {
		_ = e.users.send(leaveStanza(u, room, nick(u)))
	}
	return r, nil
}

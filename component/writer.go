package component

import (
	"context"
	"fmt"
	"time"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// write is the stream's one writer: it takes everything waiting (what
// the last stream did not get confirmed, stored durable stanzas, then the
// users' lanes round-robin), renders it into one buffer with a confirming
// ping when one is due, and writes it with one system call, until ctx
// ends or a write fails.
func (l *Link) write(ctx context.Context, s *stream1) error {
	var (
		batch []*xmlnode.Node
		buf   []byte
		last  int64 // highest durable id written on this stream
		count = l.cfg.Metrics.outCounters(l.cfg.Domain)
		timer = time.NewTimer(time.Hour)
	)
	defer timer.Stop()
	for {
		now := time.Now()
		if s.confirm.stuck(now, l.confirmTimeout()) && !s.stalled.Load() {
			return fmt.Errorf("the XMPP server did not confirm what was written within %s", l.confirmTimeout())
		}
		batch = append(batch[:0], l.carry...)
		l.carry = nil
		var stored []durableItem
		more := false
		if !s.confirm.full() {
			var err error
			if stored, more, err = l.durable.take(ctx, last); err != nil {
				l.log.Error("cannot read stored messages; retrying", "error", err)
				if !sleep(ctx, time.Second) {
					return ctx.Err()
				}
				continue
			}
			batch = l.lanes.take(batch, writeBatch)
			batch = l.gather(batch)
		}
		if len(stored) > 0 {
			last = stored[len(stored)-1].id
		}
		s.confirm.wrote(batch, last)
		ping, wait := s.confirm.due(now)
		if len(batch) == 0 && len(stored) == 0 && !ping {
			if err := l.idle(ctx, timer, wait); err != nil {
				return err
			}
			continue
		}
		buf = buf[:0]
		for _, it := range stored {
			buf = appendStored(buf, it, l.cfg.Domain, now)
		}
		for _, n := range batch {
			buf = n.AppendXML(buf)
		}
		if ping {
			buf = l.confirmPing(s, now).AppendXML(buf)
		}
		_ = s.conn.SetWriteDeadline(now.Add(writeTimeout))
		if _, err := s.conn.Write(buf); err != nil {
			return describeStreamEnd("writing", err)
		}
		count.stored(len(stored))
		for _, n := range batch {
			count.stanza(n.Local)
		}
		count.queued(l.lanes.len())
		if more {
			select {
			case l.wake <- struct{}{}:
			default:
			}
		}
		if cap(buf) > 1<<20 {
			buf = nil // a burst is over: do not keep its buffer
		}
	}
}

// gather waits a moment before writing a small batch, so that stanzas
// about to be queued go in the same write: the copies of one IRC line
// reach the users' lanes from as many connections over a millisecond or
// so, and one system call for all of them costs far less than one each
// (on a busy socket it is the writer's dearest step; each write also
// wakes the server). A lone room message waits too, since the other
// users' copies are usually on their way (without that wait the writer,
// faster than the connections feeding it, wrote them one or two at a
// time). Any other lone stanza (a private message, an answer) is no sign
// of a fan-out and is written at once.
func (l *Link) gather(batch []*xmlnode.Node) []*xmlnode.Node {
	switch {
	case len(batch) == 0, len(batch) >= writeBatch/4:
		return batch
	case len(batch) == 1 && !isRoomMessage(batch[0]):
		return batch
	}
	time.Sleep(gatherWait)
	return l.lanes.take(batch, writeBatch)
}

// isRoomMessage reports whether n is a groupchat message (a copy of a
// room line for one resource).
func isRoomMessage(n *xmlnode.Node) bool {
	return n.Local == "message" && n.Attr("type") == "groupchat"
}

// gatherWait is how long a small batch waits for company.
const gatherWait = 1000 * time.Microsecond

// confirmTimeout is how long a confirming ping may go unanswered before
// the stream is taken for dead. It is generous: the answer comes after
// everything written before it, which a busy server may take a while to
// process, and the watchdog already catches a silent server.
func (l *Link) confirmTimeout() time.Duration {
	return max(2*l.cfg.PingInterval, time.Minute)
}

// idle waits for something to write, for a confirming ping to become due
// (wait > 0), or for ctx to end.
func (l *Link) idle(ctx context.Context, timer *time.Timer, wait time.Duration) error {
	var due <-chan time.Time
	if wait > 0 {
		timer.Reset(wait)
		due = timer.C
	}
	select {
	case <-l.wake:
	case <-due:
	case <-ctx.Done():
		return ctx.Err()
	}
	if wait > 0 && !timer.Stop() {
		select {
		case <-timer.C:
		default:
		}
	}
	return nil
}

// confirmPing is a ping that, once answered, confirms everything written
// before it: those stanzas are forgotten and stored ones deleted.
func (l *Link) confirmPing(s *stream1, now time.Time) *xmlnode.Node {
	iq := pingIQ(l.cfg.Domain, l.cfg.PingTo)
	count, durable := s.confirm.ping(now)
	s.mu.Lock()
	s.pending[iq.Attr("id")] = func(n *xmlnode.Node) {
		if n.Attr("type") != "result" {
			s.confirm.failed()
			return
		}
		s.confirm.confirmed(count, durable)
		if durable > 0 {
			l.durable.ack(durable)
		}
		select {
		case l.wake <- struct{}{}: // more may be due
		default:
		}
	}
	s.mu.Unlock()
	return iq
}

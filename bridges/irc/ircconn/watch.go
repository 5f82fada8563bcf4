package ircconn

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/internal/netpoll"
	"github.com/ferry-xmpp/ferry/internal/serial"
)

// ErrNotWatchable is Watch's error for a connection without a socket of
// its own (a pipe in a test): Serve it instead.
var ErrNotWatchable = errors.New("ircconn: connection cannot be watched")

// Watch is Serve without a goroutine of its own: p tells when the server
// has sent something, and a pooled goroutine then reads it all, calls
// handle for each line (as Serve does, one line at a time, in order) and
// goes back to waiting. An idle connection thus costs no goroutine and
// no read buffer. ended is called once, on a pooled goroutine, after the
// last handle, with the *Error Serve would have returned.
//
// handle may block: the connection is then not read (back-pressure, as
// with Serve), and the keepalive only runs while Ferry waits for the
// server. Call Watch or Serve once, not both.
func (c *Conn) Watch(p *netpoll.Poller, handle func(ircmsg.Message), ended func(error)) error {
	if c.pc == nil || p == nil {
		return ErrNotWatchable
	}
	c.handler, c.ended = handle, ended
	c.alive = time.AfterFunc(time.Hour, c.quiet)
	c.alive.Stop()
	c.serving.Store(true)
	c.pc.SetNonblocking(true)
	w, err := p.Watch(c.pc, c.kick)
	if err != nil {
		return fmt.Errorf("ircconn: watching %s: %w", c.cfg.addr, err)
	}
	c.watch = w
	c.watching.Store(true)
	if err := w.Arm(); err != nil {
		c.fail(&Error{Kind: KindIO, Text: "watching the socket", Err: err}) // the read job below tells the owner
	}
	c.kick() // the welcome burst, and whatever came since
	return nil
}

// kick asks for a read: a pooled goroutine starts one unless one is under
// way, which then reads again before it stops.
func (c *Conn) kick() {
	if c.kicks.Add(1) == 1 {
		serial.Go(c.readJob)
	}
}

// hotFor is how long a read job keeps waiting on a connection that has
// just spoken before it gives the connection back to the poller. While
// lines keep coming, the runtime wakes the job directly, as it would a
// goroutine per connection, instead of the poller then the job: half the
// hand-offs per line. An idle connection still costs no goroutine.
const hotFor = time.Second

// readJob reads what the server sent, and goes on waiting for more until
// the connection has been quiet for hotFor, then gives it back to the
// poller (and reads again if ready calls came meanwhile); it ends the
// connection's life when reading fails.
func (c *Conn) readJob() {
	c.alive.Stop() // handling may block: that is not the server's silence
	for {
		n := c.kicks.Load()
		c.hot(true)
		if c.readAvailable() {
			c.finish()
			return
		}
		c.hot(false)
		if c.kicks.Add(-n) == 0 {
			break
		}
	}
	// From here on another job may run: touch only what is safe to share.
	c.startKeepalive()
}

// hot switches between waiting on the socket in the job (reads block up
// to hotFor; the poller's calls off) and leaving it to the poller (reads
// never block; data that came meanwhile calls ready at once).
func (c *Conn) hot(on bool) {
	if on {
		_ = c.watch.Disarm()
		_ = c.nc.SetReadDeadline(time.Now().Add(hotFor))
		c.pc.SetNonblocking(false)
		return
	}
	c.pc.SetNonblocking(true)
	_ = c.nc.SetReadDeadline(time.Time{})
	if err := c.watch.Arm(); err != nil && c.Err() == nil {
		c.fail(&Error{Kind: KindIO, Text: "watching the socket", Err: err})
	}
}

// readAvailable delivers the welcome burst, then reads and handles lines
// until the socket would block or its read deadline passes; true once the
// connection has ended.
func (c *Conn) readAvailable() (ended bool) {
	defer func() {
		if r := recover(); r != nil {
			c.fail(&Error{Kind: KindInternal, Text: fmt.Sprintf("panic in reader: %v", r), Err: fmt.Errorf("%s", debug.Stack())})
			ended = true
		}
	}()
	for i := range c.burst {
		c.handler(c.burst[i])
	}
	c.burst = nil
	before := c.reader.total
	defer func() {
		if c.reader.total != before {
			c.pinged.Store(false) // the server spoke: it is alive
		}
	}()
	for {
		line, err := c.reader.readLine()
		if errors.Is(err, netpoll.ErrWouldBlock) || errors.Is(err, os.ErrDeadlineExceeded) {
			c.reader.release()
			return c.Err() != nil
		}
		if err != nil {
			c.readFailed(err, c.pinged.Load())
			return true
		}
		if c.dispatch(line, c.handler) {
			return true
		}
	}
}

// finish ends a watched connection's life: the watch, the keepalive, and
// the owner told.
func (c *Conn) finish() {
	c.endOnce.Do(func() {
		c.alive.Stop()
		c.watch.Stop()
		c.reader.release()
		c.ended(c.err)
	})
}

// startKeepalive starts the quiet timer: after PingInterval of silence a
// PING goes out, and PingTimeout after it the connection is dead.
func (c *Conn) startKeepalive() {
	if c.cfg.pingInterval <= 0 {
		return
	}
	wait := c.cfg.pingInterval
	if c.pinged.Load() {
		wait = c.cfg.pingTimeout
	}
	c.alive.Reset(wait)
}

// quiet runs when the server has been silent for the timer's interval.
func (c *Conn) quiet() {
	if c.Err() != nil || c.kicks.Load() != 0 {
		return // ended, or being read: the reader restarts the timer
	}
	if c.pinged.Swap(true) {
		c.fail(&Error{Kind: KindPingTimeout, Text: fmt.Sprintf("no reply from the server for %s", c.cfg.pingInterval+c.cfg.pingTimeout)})
		return
	}
	c.keepalive()
	c.alive.Reset(c.cfg.pingTimeout)
}

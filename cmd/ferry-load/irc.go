package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
	"github.com/ergochat/irc-go/ircreader"

	"github.com/ferry-xmpp/ferry/internal/quickack"
)

// ircClient is a raw IRC user of the tool's: it registers, answers PINGs by
// itself and hands every other line to its handler, unparsed, so ten
// thousand of them that only sit in a channel cost little.
type ircClient struct {
	nick string
	conn net.Conn

	wmu sync.Mutex
	w   *bufio.Writer

	mu      sync.Mutex
	handler func(line []byte) // runs on the reader goroutine

	done chan struct{}
	err  error
}

const ircRegisterTimeout = 30 * time.Second

// dialIRC connects nick to addr and waits for the end of the welcome burst
// (the MOTD). handler, if not nil, gets every line after that.
func dialIRC(addr, nick string, handler func(line []byte)) (*ircClient, error) {
	return dialIRCConn(addr, nick, handler, true)
}

// dialIRCConn is dialIRC; quickAck false leaves the kernel's delayed ACKs
// alone, for clients whose timing is not measured (one syscall less per
// read).
func dialIRCConn(addr, nick string, handler func(line []byte), quickAck bool) (*ircClient, error) {
	conn, err := net.DialTimeout("tcp", addr, ircRegisterTimeout)
	if err != nil {
		return nil, err
	}
	if quickAck {
		conn = quickack.Wrap(conn)
	}
	c := &ircClient{nick: nick, conn: conn, w: bufio.NewWriterSize(conn, 4096), handler: handler, done: make(chan struct{})}
	r := &ircreader.Reader{}
	r.Initialize(conn, 4096, 64<<10)
	_ = conn.SetDeadline(time.Now().Add(ircRegisterTimeout))
	if err := c.sendLines("NICK "+nick, "USER "+nick+" 0 * :ferry-load "+nick); err != nil {
		conn.Close()
		return nil, err
	}
	if err := c.waitWelcome(r); err != nil {
		conn.Close()
		return nil, fmt.Errorf("registering %s: %w", nick, err)
	}
	_ = conn.SetDeadline(time.Time{})
	go c.read(r)
	return c, nil
}

// ircDialers is how many connections the tool opens at once: ngIRCd
// listens with a short accept queue, and a connection the kernel could not
// queue is reset once the client speaks.
const ircDialers = 8

// dialIRCRetry is dialIRCConn without quick ACKs and with two more tries,
// with a suffix on the nick in case the reset connection is still
// registered: for the crowds that only sit in a channel.
func dialIRCRetry(addr, nick string, handler func(line []byte)) (*ircClient, error) {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		n := nick
		if attempt > 0 {
			n = nick + "_" + strconv.Itoa(attempt)
		}
		var c *ircClient
		if c, err = dialIRCConn(addr, n, handler, false); err == nil {
			return c, nil
		}
	}
	return nil, err
}

func (c *ircClient) waitWelcome(r *ircreader.Reader) error {
	for {
		line, err := r.ReadLine()
		if err != nil {
			return err
		}
		m, err := ircmsg.ParseLine(string(line))
		if err != nil {
			continue
		}
		switch {
		case m.Command == "PING":
			_ = c.sendLines("PONG :" + m.Params[len(m.Params)-1])
		case m.Command == "376" || m.Command == "422":
			return nil
		case m.Command == "ERROR" || len(m.Command) == 3 && (m.Command[0] == '4' || m.Command[0] == '5'):
			return fmt.Errorf("refused: %s", line)
		}
	}
}

var pingPrefix = []byte("PING ")

func (c *ircClient) read(r *ircreader.Reader) {
	var err error
	for {
		var line []byte
		line, err = r.ReadLine()
		if err != nil {
			break
		}
		if bytes.HasPrefix(line, pingPrefix) {
			_ = c.sendLines("PONG " + string(line[len(pingPrefix):]))
			continue
		}
		c.mu.Lock()
		h := c.handler
		c.mu.Unlock()
		if h != nil {
			h(line)
		}
	}
	c.err = err
	close(c.done)
}

func (c *ircClient) setHandler(h func(line []byte)) {
	c.mu.Lock()
	c.handler = h
	c.mu.Unlock()
}

// sendLines writes lines ("\r\n" added) with one flush.
func (c *ircClient) sendLines(lines ...string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for _, l := range lines {
		if _, err := c.w.WriteString(l); err != nil {
			return err
		}
		if _, err := c.w.WriteString("\r\n"); err != nil {
			return err
		}
	}
	return c.w.Flush()
}

// sendNoFlush queues a line; flush sends what is queued.
func (c *ircClient) sendNoFlush(line string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.w.WriteString(line); err != nil {
		return err
	}
	_, err := c.w.WriteString("\r\n")
	return err
}

func (c *ircClient) flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.w.Flush()
}

// sync sends a PING with token and waits until the server's PONG comes
// back: everything sent before has been handled by the server.
func (c *ircClient) sync(token string, timeout time.Duration) error {
	got := make(chan struct{})
	var once sync.Once
	c.mu.Lock()
	prev := c.handler
	c.handler = func(line []byte) {
		if bytes.Contains(line, []byte(" PONG ")) && bytes.HasSuffix(line, []byte(token)) {
			once.Do(func() { close(got) })
			return
		}
		if prev != nil {
			prev(line)
		}
	}
	c.mu.Unlock()
	defer c.setHandler(prev)
	if err := c.sendLines("PING :" + token); err != nil {
		return err
	}
	select {
	case <-got:
		return nil
	case <-c.done:
		return fmt.Errorf("%s: connection ended: %v", c.nick, c.err)
	case <-time.After(timeout):
		return fmt.Errorf("%s: no PONG within %v", c.nick, timeout)
	}
}

func (c *ircClient) close() {
	_ = c.sendLines("QUIT :ferry-load done")
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
	c.conn.Close()
	<-c.done
}

// privmsg is the target and text of a PRIVMSG line, with the sender's nick.
type privmsg struct {
	from, target, text string
}

var errNotPrivmsg = errors.New("not a PRIVMSG")

func parsePrivmsg(line []byte) (privmsg, error) {
	m, err := ircmsg.ParseLine(string(line))
	if err != nil && !errors.Is(err, ircmsg.ErrorBodyTooLong) {
		return privmsg{}, err
	}
	if m.Command != "PRIVMSG" || len(m.Params) < 2 {
		return privmsg{}, errNotPrivmsg
	}
	return privmsg{from: m.Nick(), target: m.Params[0], text: m.Params[1]}, nil
}

// serverUsers asks the IRC server how many users are connected (LUSERS,
// RPL_LOCALUSERS 265's first number, or RPL_LUSERCLIENT 251's), through
// client c.
func serverUsers(c *ircClient, timeout time.Duration) (int, error) {
	got := make(chan int, 1)
	c.mu.Lock()
	prev := c.handler
	c.handler = func(line []byte) {
		m, err := ircmsg.ParseLine(string(line))
		if err == nil && m.Command == "251" && len(m.Params) >= 2 {
			if n, ok := parseLusers(m.Params[len(m.Params)-1]); ok {
				select {
				case got <- n:
				default:
				}
			}
			return
		}
		if prev != nil {
			prev(line)
		}
	}
	c.mu.Unlock()
	defer c.setHandler(prev)
	if err := c.sendLines("LUSERS"); err != nil {
		return 0, err
	}
	select {
	case n := <-got:
		return n, nil
	case <-c.done:
		return 0, fmt.Errorf("%s: connection ended: %v", c.nick, c.err)
	case <-time.After(timeout):
		return 0, fmt.Errorf("%s: no LUSERS answer within %v", c.nick, timeout)
	}
}

// parseLusers reads N from RPL_LUSERCLIENT's text, "There are N users and
// M services on K servers" (invisible users, when the server counts them
// apart, are added: "N users and I invisible").
func parseLusers(text string) (int, bool) {
	f := strings.Fields(text)
	total, found := 0, false
	for i := 1; i < len(f); i++ {
		n, err := strconv.Atoi(f[i-1])
		if err != nil {
			continue
		}
		switch strings.TrimSuffix(f[i], ",") {
		case "users", "invisible":
			total += n
			found = true
		}
	}
	return total, found
}

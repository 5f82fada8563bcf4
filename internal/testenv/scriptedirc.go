package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
)

// ScriptedIRC is an IRC server that a test scripts line by line, to play
// a broken or hostile network no real server would be: it welcomes each
// client, then the test reads what the client sends and writes whatever
// it wants back.
type ScriptedIRC struct {
	Addr  string // "127.0.0.1:PORT"
	Name  string // the server name it uses in its replies
	ln    net.Listener
	conns chan *ScriptedConn

	mu   sync.Mutex
	open []*ScriptedConn

	// Caps are the IRCv3 capabilities it offers ("batch server-time"),
	// all acknowledged when asked for; none by default. Set before Accept.
	Caps string
	// Authenticate plays the server's side of a SASL exchange the client
	// starts with AUTHENTICATE mech (offer "sasl=..." in Caps): it reads
	// and answers the rest (up to 903, or an error numeric). Set before
	// Accept; nil answers 904.
	Authenticate func(t TB, c *ScriptedConn, mech string)
}

// StartScriptedIRC listens on loopback until the test ends.
func StartScriptedIRC(t TB, name string) *ScriptedIRC {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: scripted IRC server: %v", err)
	}
	s := &ScriptedIRC{Addr: ln.Addr().String(), Name: name, ln: ln, conns: make(chan *ScriptedConn, 16)}
	go s.accept()
	t.Cleanup(s.close)
	return s
}

func (s *ScriptedIRC) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		sc := &ScriptedConn{srv: s, c: c, r: bufio.NewReader(c)}
		s.mu.Lock()
		s.open = append(s.open, sc)
		s.mu.Unlock()
		s.conns <- sc
	}
}

func (s *ScriptedIRC) close() {
	s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.open {
		c.c.Close()
	}
}

// Accept waits for the next client and welcomes it: NICK and USER are
// read (CAP negotiation is answered with no capabilities), then 001–005
// and the end of the MOTD are sent.
func (s *ScriptedIRC) Accept(t TB, timeout time.Duration) *ScriptedConn {
	t.Helper()
	select {
	case c := <-s.conns:
		c.welcome(t, timeout)
		return c
	case <-time.After(timeout):
		t.Fatalf("testenv: no client reached the scripted IRC server within %v", timeout)
		return nil
	}
}

// ScriptedConn is one client's connection to a ScriptedIRC.
type ScriptedConn struct {
	Nick string // the nick the client registered with
	srv  *ScriptedIRC
	c    net.Conn
	r    *bufio.Reader
}

func (c *ScriptedConn) welcome(t TB, timeout time.Duration) {
	t.Helper()
	user, capEnd := false, c.srv.Caps == ""
	for c.Nick == "" || !user || !capEnd {
		m := c.Read(t, timeout)
		switch m.Command {
		case "CAP":
			switch {
			case len(m.Params) > 0 && m.Params[0] == "LS":
				c.Send(t, ":"+c.srv.Name+" CAP * LS :"+c.srv.Caps)
			case len(m.Params) > 1 && m.Params[0] == "REQ" && c.offers(m.Params[1]):
				c.Send(t, ":"+c.srv.Name+" CAP * ACK :"+m.Params[1])
			case len(m.Params) > 1 && m.Params[0] == "REQ":
				c.Send(t, ":"+c.srv.Name+" CAP * NAK :"+m.Params[1])
			case len(m.Params) > 0 && m.Params[0] == "END":
				capEnd = true
			}
		case "AUTHENTICATE":
			switch {
			case len(m.Params) == 0:
			case c.srv.Authenticate != nil:
				c.srv.Authenticate(t, c, m.Params[0])
			default:
				c.Send(t, ":"+c.srv.Name+" 904 * :SASL authentication failed")
			}
		case "NICK":
			if len(m.Params) > 0 {
				c.Nick = m.Params[0]
			}
		case "USER":
			user = true
		}
	}
	n, nick := c.srv.Name, c.Nick
	c.Send(t,
		":"+n+" 001 "+nick+" :Welcome to the scripted network "+nick,
		":"+n+" 002 "+nick+" :Your host is "+n,
		":"+n+" 003 "+nick+" :This server was created today",
		":"+n+" 004 "+nick+" "+n+" scripted-1 io ovimnstlk",
		":"+n+" 005 "+nick+" CHANTYPES=# PREFIX=(ov)@+ CASEMAPPING=ascii NETWORK=Scripted :are supported by this server",
		":"+n+" 422 "+nick+" :MOTD File is missing")
}

// offers reports whether every capability in list is offered.
func (c *ScriptedConn) offers(list string) bool {
	var offered []string
	for _, tok := range strings.Fields(c.srv.Caps) {
		name, _, _ := strings.Cut(tok, "=") // sasl=PLAIN is offered as sasl
		offered = append(offered, name)
	}
	for _, name := range strings.Fields(list) {
		if !slices.Contains(offered, name) {
			return false
		}
	}
	return true
}

// Send writes lines as they are, each ended with CRLF.
func (c *ScriptedConn) Send(t TB, lines ...string) {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	_ = c.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.c.Write([]byte(b.String())); err != nil {
		t.Fatalf("testenv: scripted IRC server writing: %v", err)
	}
}

// SendUntilDropped writes lines the client is expected to refuse by
// dropping the connection (a line longer than it accepts): the client may
// close while the write is still under way, and a reset or broken pipe is
// then the expected outcome, not a failure.
func (c *ScriptedConn) SendUntilDropped(t TB, lines ...string) {
	t.Helper()
	_ = c.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.c.Write([]byte(strings.Join(lines, "\r\n") + "\r\n"))
	if err != nil && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("testenv: scripted IRC server writing: %v", err)
	}
}

// Read returns the client's next line, parsed.
func (c *ScriptedConn) Read(t TB, timeout time.Duration) ircmsg.Message {
	t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(timeout))
	line, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatalf("testenv: scripted IRC server reading: %v", err)
	}
	m, err := ircmsg.ParseLine(strings.TrimRight(line, "\r\n"))
	if err != nil {
		t.Fatalf("testenv: scripted IRC server: the client sent %q: %v", line, err)
	}
	return m
}

// Expect reads until a line with the command comes (answering PINGs on
// the way) and returns it.
func (c *ScriptedConn) Expect(t TB, timeout time.Duration, command string) ircmsg.Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("testenv: scripted IRC server: no %s from the client within %v", command, timeout)
		}
		m := c.Read(t, left)
		if m.Command == command {
			return m
		}
		if m.Command == "PING" && len(m.Params) > 0 {
			c.Send(t, fmt.Sprintf(":%s PONG %s :%s", c.srv.Name, c.srv.Name, m.Params[0]))
		}
	}
}

// Close drops the connection, as a server that goes away does.
func (c *ScriptedConn) Close() { c.c.Close() }

package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
	"github.com/ergochat/irc-go/ircreader"
)

// IRCClient is a plain IRC user connected to an IRCServer: the person on the
// IRC side of the gateway. Everything the server sends it is kept, in order,
// for Expect, except PINGs, which it answers by itself.
type IRCClient struct {
	Nick string // the nick the server confirmed in RPL_WELCOME
	// Registration holds what the server sent from RPL_WELCOME (001) up to
	// the end of the MOTD (376, or 422 for none): ISUPPORT (005) and the
	// like. Connect takes these out of the queue that Expect reads.
	Registration []ircmsg.Message

	conn net.Conn
	name string // for messages: the nick asked for

	writeMu sync.Mutex

	mu      sync.Mutex
	backlog []ircLine     // received and not yet taken by Expect
	arrived chan struct{} // closed, and replaced, when backlog grows
	done    chan struct{} // closed when the connection has ended
	readErr error         // why it ended, valid once done is closed
	closed  bool
}

type ircLine struct {
	msg ircmsg.Message
	raw string
}

// IRC numerics the client looks for.
const (
	rplWelcome = "001"
	rplEndMOTD = "376"
	errNoMOTD  = "422"
)

var (
	syncMu   sync.Mutex
	syncNext int
)

// Connect connects a new user over the plain port and registers it: PASS
// (when the server has a password), NICK nick, USER. It waits for
// RPL_WELCOME and then for the end of the MOTD, and fails the test if the
// server refuses the registration (a numeric error or ERROR) or does not
// finish it in time. The client is closed when the test ends.
func (s *IRCServer) Connect(t TB, nick string) *IRCClient {
	t.Helper()
	return s.connect(t, nick, false)
}

// ConnectTLS is Connect over the TLS port, trusting only the server's test
// CA (CACertFile). The server must have been started with TLS.
func (s *IRCServer) ConnectTLS(t TB, nick string) *IRCClient {
	t.Helper()
	if s.TLSAddr == "" {
		t.Fatalf("testenv: %s %s has no TLS port", s.kind, s.Name)
	}
	return s.connect(t, nick, true)
}

// ConnectWithPass is Connect giving pass as PASS: on ergo, "account:password"
// logs the connection in to that account (another client of the same
// user, when the nick is theirs).
func (s *IRCServer) ConnectWithPass(t TB, nick, pass string) *IRCClient {
	t.Helper()
	return s.connectWith(t, nick, pass, false)
}

func (s *IRCServer) connect(t TB, nick string, useTLS bool) *IRCClient {
	t.Helper()
	return s.connectWith(t, nick, s.password, useTLS)
}

func (s *IRCServer) connectWith(t TB, nick, pass string, useTLS bool) *IRCClient {
	t.Helper()
	c, err := s.dial(useTLS)
	if err != nil {
		t.Fatalf("testenv: connecting %s to %s: %v", nick, s.Name, err)
	}
	c.name = nick
	t.Cleanup(c.Close)
	if err := c.register(pass, nick); err != nil {
		t.Fatalf("testenv: registering %s on %s: %v", nick, s.Name, err)
	}
	return c
}

// dial opens a connection and starts reading from it, without registering.
func (s *IRCServer) dial(useTLS bool) (*IRCClient, error) {
	d := &net.Dialer{Timeout: loginTimeout}
	var conn net.Conn
	var err error
	if useTLS {
		var cfg *tls.Config
		cfg, err = s.TLSConfig()
		if err != nil {
			return nil, err
		}
		conn, err = tls.DialWithDialer(d, "tcp", s.TLSAddr, cfg)
	} else {
		conn, err = d.Dial("tcp", s.Addr)
	}
	if err != nil {
		return nil, err
	}
	return newIRCClient(conn), nil
}

// TLSConfig is a client configuration that trusts the server's test CA and
// expects the server's name in its certificate.
func (s *IRCServer) TLSConfig() (*tls.Config, error) {
	if s.caCert == "" {
		return nil, fmt.Errorf("%s %s has no TLS", s.kind, s.Name)
	}
	pem, err := os.ReadFile(s.caCert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", s.caCert)
	}
	return &tls.Config{RootCAs: pool, ServerName: s.Name, MinVersion: tls.VersionTLS12}, nil
}

func newIRCClient(conn net.Conn) *IRCClient {
	c := &IRCClient{
		conn:    conn,
		name:    conn.LocalAddr().String(),
		arrived: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go c.read()
	return c
}

func (c *IRCClient) register(password, nick string) error {
	var lines []string
	if password != "" {
		lines = append(lines, "PASS :"+password)
	}
	lines = append(lines, "NICK "+nick, "USER "+nick+" 0 * :testenv user "+nick)
	for _, l := range lines {
		if err := c.send(l); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(loginTimeout)
	welcome, err := c.expect(time.Until(deadline), func(m ircmsg.Message) bool {
		return m.Command == rplWelcome || m.Command == "ERROR" || isErrorNumeric(m.Command)
	})
	if err != nil {
		return err
	}
	if welcome.Command != rplWelcome {
		return fmt.Errorf("refused: %s", mustLine(welcome))
	}
	if len(welcome.Params) > 0 {
		c.Nick = welcome.Params[0]
	}
	c.Registration = append(c.Registration, welcome)
	// Take the rest of the welcome burst off the queue, so that tests see
	// only what happens after registration.
	for {
		m, err := c.expect(time.Until(deadline), func(ircmsg.Message) bool { return true })
		if err != nil {
			return fmt.Errorf("waiting for the end of the MOTD: %w", err)
		}
		c.Registration = append(c.Registration, m)
		if m.Command == rplEndMOTD || m.Command == errNoMOTD {
			return nil
		}
	}
}

// isErrorNumeric reports whether command is a numeric error reply (400-599).
func isErrorNumeric(command string) bool {
	return len(command) == 3 && (command[0] == '4' || command[0] == '5') &&
		command[1] >= '0' && command[1] <= '9' && command[2] >= '0' && command[2] <= '9'
}

func mustLine(m ircmsg.Message) string {
	l, err := m.Line()
	if err != nil {
		return fmt.Sprintf("%s %q", m.Command, m.Params)
	}
	return strings.TrimRight(l, "\r\n")
}

// read runs until the connection ends, queueing each line and answering
// PINGs.
func (c *IRCClient) read() {
	r := ircreader.NewIRCReader(c.conn)
	var err error
	for {
		var b []byte
		b, err = r.ReadLine()
		if err != nil {
			break
		}
		raw := string(b)
		if strings.TrimSpace(raw) == "" {
			continue
		}
		m, perr := ircmsg.ParseLine(raw)
		if perr != nil && !errors.Is(perr, ircmsg.ErrorBodyTooLong) {
			// Keep it visible in failure listings all the same.
			m = ircmsg.Message{Command: "?", Params: []string{raw}}
		}
		if m.Command == "PING" {
			// The reply carries the same parameters back.
			_ = c.send(mustLine(ircmsg.MakeMessage(nil, "", "PONG", m.Params...)))
			continue
		}
		c.mu.Lock()
		c.backlog = append(c.backlog, ircLine{msg: m, raw: raw})
		close(c.arrived)
		c.arrived = make(chan struct{})
		c.mu.Unlock()
	}
	c.mu.Lock()
	c.readErr = err
	c.mu.Unlock()
	close(c.done)
}

// Send sends one raw IRC line; "\r\n" is appended. A line containing CR or
// LF fails the test.
func (c *IRCClient) Send(t TB, line string) {
	t.Helper()
	if strings.ContainsAny(line, "\r\n") {
		t.Fatalf("testenv: IRC line with a line break: %q", line)
	}
	if err := c.send(line); err != nil {
		t.Fatalf("testenv: %s sending %q: %v", c.name, line, err)
	}
}

func (c *IRCClient) send(line string) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.conn.SetWriteDeadline(time.Now().Add(sendTimeout)); err != nil {
		return err
	}
	_, err := c.conn.Write([]byte(line + "\r\n"))
	return err
}

// Expect returns the first received message that match accepts, waiting up
// to timeout for it. Messages that do not match stay queued for later calls.
// On timeout, or if the connection ends first, the test fails with a list of
// the lines still queued.
func (c *IRCClient) Expect(t TB, timeout time.Duration, match func(m ircmsg.Message) bool) ircmsg.Message {
	t.Helper()
	m, err := c.expect(timeout, match)
	if err != nil {
		t.Fatalf("testenv: IRC %s: %v", c.name, err)
	}
	return m
}

// ExpectNone fails the test if a message that match accepts arrives within
// d (or is already queued).
func (c *IRCClient) ExpectNone(t TB, d time.Duration, match func(m ircmsg.Message) bool) {
	t.Helper()
	if m, err := c.expect(d, match); err == nil {
		t.Fatalf("testenv: IRC %s: unexpected message: %s", c.name, mustLine(m))
	}
}

// Pending returns the lines received and not yet taken by Expect, leaving
// them queued.
func (c *IRCClient) Pending() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	raws := make([]string, len(c.backlog))
	for i, l := range c.backlog {
		raws[i] = l.raw
	}
	return raws
}

func (c *IRCClient) expect(timeout time.Duration, match func(ircmsg.Message) bool) (ircmsg.Message, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		c.mu.Lock()
		for i, l := range c.backlog {
			if match(l.msg) {
				c.backlog = append(c.backlog[:i:i], c.backlog[i+1:]...)
				c.mu.Unlock()
				return l.msg, nil
			}
		}
		arrived := c.arrived
		c.mu.Unlock()
		select {
		case <-arrived:
		case <-c.done:
			select {
			case <-arrived: // the last lines came in with the end: look at them
				continue
			default:
			}
			c.mu.Lock()
			err := c.readErr
			c.mu.Unlock()
			return ircmsg.Message{}, fmt.Errorf("connection ended (%v) without the expected message; received and unmatched: %s", err, c.pendingList())
		case <-timer.C:
			return ircmsg.Message{}, fmt.Errorf("no matching message within %v; received and unmatched: %s", timeout, c.pendingList())
		}
	}
}

func (c *IRCClient) pendingList() string {
	pending := c.Pending()
	if len(pending) == 0 {
		return "nothing"
	}
	return fmt.Sprintf("%d line(s):\n\t%s", len(pending), strings.Join(pending, "\n\t"))
}

// Sync sends a PING with a token of its own and waits for the server's PONG:
// once it returns, the server has processed everything this client sent
// before, and everything the server sent before the PONG is queued.
func (c *IRCClient) Sync(t TB) {
	t.Helper()
	syncMu.Lock()
	syncNext++
	token := fmt.Sprintf("testenv-sync-%d", syncNext)
	syncMu.Unlock()
	c.Send(t, "PING "+token)
	c.Expect(t, loginTimeout, func(m ircmsg.Message) bool {
		return m.Command == "PONG" && len(m.Params) > 0 && m.Params[len(m.Params)-1] == token
	})
}

// Close sends QUIT and closes the connection, waiting briefly for the server
// to close its side. Tests need not call it: the client is closed when the
// test ends. Closing twice does nothing.
func (c *IRCClient) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	select {
	case <-c.done:
	default:
		if c.send("QUIT :testenv") == nil {
			select {
			case <-c.done:
			case <-time.After(closeTimeout):
			}
		}
	}
	c.conn.Close()
	<-c.done
}

// Done is closed when the connection has ended, by Close or by the server
// (for example when it stops, or disconnects the client).
func (c *IRCClient) Done() <-chan struct{} { return c.done }

package imapwatch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/ferry-xmpp/ferry/internal/tlshint"
)

// Security is how the connection to the IMAP server is protected.
type Security string

// The supported kinds of connection security. The zero value "" means TLS.
const (
	TLS      Security = "tls"      // implicit TLS, usually port 993
	StartTLS Security = "starttls" // plain text upgraded with STARTTLS, usually port 143
	Plain    Security = "plain"    // no encryption at all: for tests and local servers only
)

// defaultTimeout bounds dialling plus logging in, and each later command,
// when Server.Timeout is 0.
const defaultTimeout = 30 * time.Second

// Server is where and as whom to log in.
type Server struct {
	Addr               string // host:port
	Security           Security
	Username, Password string
	TLSConfig          *tls.Config // optional (tests); ServerName defaults to the host of Addr
	// Dialer, if set, makes the connection (its Control func may vet the
	// address actually dialled); Options.Dialer wins over it.
	Dialer  *net.Dialer
	Timeout time.Duration // dial + login, and each command; 0 = 30s
}

func (s Server) timeout() time.Duration {
	if s.Timeout <= 0 {
		return defaultTimeout
	}
	return s.Timeout
}

// host is the host part of Addr, for messages.
func (s Server) host() string {
	if h, _, err := net.SplitHostPort(s.Addr); err == nil {
		return h
	}
	return s.Addr
}

// Error is a failure with a user-safe one-line Text, such as "login refused by
// imap.example.org: [AUTHENTICATIONFAILED] Authentication failed." or "cannot
// connect to imap.example.org:993: connection refused". Text never contains
// the password; Cause, for the operator's log and errors.Is / errors.As, may
// hold text the server sent.
//
// Auth is set when the server refused the credentials (or the way of logging
// in): retrying cannot help until the user changes them.
//
// Unreachable is set when no IMAP server was reached: the connection
// failed (or the Dialer refused the address), timed out, or what answered
// did not complete TLS or send an IMAP greeting. A caller serving users
// who name arbitrary servers can then give one text for all of these, so
// that its errors do not map the network for them.
type Error struct {
	Auth        bool
	Unreachable bool
	Text        string
	Cause       error
}

// unreachable marks e as a failure to reach an IMAP server at all.
func unreachable(e *Error) *Error {
	e.Unreachable = true
	return e
}

func (e *Error) Error() string { return e.Text }

func (e *Error) Unwrap() error { return e.Cause }

// newError builds an *Error whose text is scrubbed of s's password.
func newError(s Server, auth bool, cause error, format string, args ...any) *Error {
	return &Error{Auth: auth, Text: scrub(s, fmt.Sprintf(format, args...)), Cause: cause}
}

// scrub removes the password from text, which may quote what the server sent
// (a broken server could echo the LOGIN command), and keeps it on one line.
func scrub(s Server, text string) string {
	if s.Password != "" {
		text = strings.ReplaceAll(text, s.Password, "***")
	}
	return strings.Join(strings.Fields(text), " ")
}

// errTimeout is the cause of an *Error when the server did not answer in time.
var errTimeout = errors.New("imapwatch: timed out")

// timeoutError describes a watchdog that fired while doing what: ctx ended,
// or the time limit d passed.
func timeoutError(ctx context.Context, s Server, d time.Duration, what string) *Error {
	if err := ctx.Err(); err != nil {
		return newError(s, false, fmt.Errorf("%s: %w", what, err), "talking to %s was cancelled", s.Addr)
	}
	return newError(s, false, fmt.Errorf("%s: %w", what, errTimeout), "%s did not answer within %v", s.Addr, d)
}

// reason is a short description of a network or TLS failure, without the
// addresses a *net.OpError repeats.
func reason(err error) string {
	if hint, ok := tlshint.Explain(err); ok {
		return hint
	}
	var dnsErr *net.DNSError
	var sysErr *os.SyscallError
	var opErr *net.OpError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection"
	case errors.Is(err, net.ErrClosed):
		return "connection closed"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "no such host"
		}
		return dnsErr.Err
	case errors.As(err, &sysErr):
		return sysErr.Err.Error()
	case errors.As(err, &opErr) && opErr.Err != nil:
		return opErr.Err.Error()
	}
	return err.Error()
}

// imapText formats a status response as "[CODE] text".
func imapText(e *imap.Error) string {
	text := e.Text
	if text == "" {
		text = string(e.Type)
	}
	if e.Code != "" {
		return fmt.Sprintf("[%s] %s", e.Code, text)
	}
	return text
}

// Dial connects to s with the configured security (implicit TLS, STARTTLS
// — refused if the server does not accept it, never falling back to plain
// text —, or plain text), logs in, and returns the client. Dialling, the TLS
// handshake, the greeting and the login together take at most s.Timeout, and
// stop when ctx ends. opts may be nil; opts.TLSConfig, if set, wins over
// s.TLSConfig. Errors are *Error.
func Dial(ctx context.Context, s Server, opts *imapclient.Options) (*imapclient.Client, error) {
	var o imapclient.Options
	if opts != nil {
		o = *opts
	}
	tlsConfig := o.TLSConfig
	if tlsConfig == nil {
		tlsConfig = s.TLSConfig
	}
	if tlsConfig == nil {
		tlsConfig = &tls.Config{}
	} else {
		tlsConfig = tlsConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = s.host()
	}
	o.TLSConfig = tlsConfig
	switch s.Security {
	case "", TLS, StartTLS, Plain:
	default:
		return nil, newError(s, false, nil, "unknown connection security %q for %s", s.Security, s.Addr)
	}

	timeout := s.timeout()
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var dialer net.Dialer
	switch {
	case o.Dialer != nil:
		dialer = *o.Dialer
	case s.Dialer != nil:
		dialer = *s.Dialer
	}
	conn, err := dialer.DialContext(dctx, "tcp", s.Addr)
	if err != nil {
		if dctx.Err() != nil {
			return nil, unreachable(timeoutError(ctx, s, timeout, "connect"))
		}
		return nil, unreachable(newError(s, false, err, "cannot connect to %s: %s", s.Addr, reason(err)))
	}
	// The client has no deadline of its own for most of this: closing the
	// connection when dctx ends unblocks every step.
	stop := context.AfterFunc(dctx, func() { conn.Close() })
	c, err := open(dctx, conn, s, &o)
	if !stop() {
		if c != nil {
			c.Close()
		}
		// No answer in time: whether anything IMAP was there is unknown.
		return nil, unreachable(timeoutError(ctx, s, timeout, "log in"))
	}
	if err != nil {
		if c != nil {
			c.Close()
		}
		conn.Close()
		return nil, err
	}
	return c, nil
}

// open sets up TLS on conn, waits for the greeting and logs in.
func open(ctx context.Context, conn net.Conn, s Server, o *imapclient.Options) (*imapclient.Client, error) {
	var c *imapclient.Client
	switch s.Security {
	case "", TLS:
		cfg := o.TLSConfig.Clone()
		if cfg.NextProtos == nil {
			cfg.NextProtos = []string{"imap"}
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, unreachable(newError(s, false, err, "TLS with %s failed: %s", s.Addr, reason(err)))
		}
		c = imapclient.New(tc, o)
	case StartTLS:
		var err error
		c, err = imapclient.NewStartTLS(conn, o)
		if err != nil {
			var ie *imap.Error
			if errors.As(err, &ie) {
				return nil, newError(s, false, err, "%s does not offer STARTTLS: %s", s.Addr, imapText(ie))
			}
			return nil, unreachable(newError(s, false, err, "STARTTLS with %s failed: %s", s.Addr, reason(err)))
		}
	case Plain:
		c = imapclient.New(conn, o)
	}
	if err := c.WaitGreeting(); err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) {
			return c, newError(s, false, err, "%s refused the connection: %s", s.Addr, imapText(ie))
		}
		return c, unreachable(newError(s, false, err, "cannot connect to %s: %s", s.Addr, reason(err)))
	}
	if c.State() == imap.ConnStateAuthenticated { // PREAUTH
		return c, nil
	}
	if err := login(c, s); err != nil {
		return c, err
	}
	return c, nil
}

// login logs in with LOGIN, or with AUTHENTICATE PLAIN when the server has
// disabled LOGIN but offers that.
func login(c *imapclient.Client, s Server) error {
	var err error
	caps := c.Caps()
	switch {
	case !caps.Has(imap.CapLoginDisabled):
		err = c.Login(s.Username, s.Password).Wait()
	case caps.Has(imap.AuthCap(sasl.Plain)):
		err = c.Authenticate(sasl.NewPlainClient("", s.Username, s.Password))
	default:
		return newError(s, true, nil, "%s does not allow logging in on this connection (LOGINDISABLED): use TLS or STARTTLS", s.host())
	}
	if err == nil {
		return nil
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return newError(s, authRefusal(ie), err, "login refused by %s: %s", s.host(), imapText(ie))
	}
	return newError(s, false, err, "cannot log in to %s: %s", s.host(), reason(err))
}

// authRefusal tells whether a failed login is about the account (wrong
// password, expired, needs TLS, ...) rather than a passing server trouble.
func authRefusal(e *imap.Error) bool {
	if e.Type != imap.StatusResponseTypeNo {
		return false
	}
	switch e.Code {
	case imap.ResponseCodeUnavailable, imap.ResponseCodeServerBug, imap.ResponseCodeLimit, imap.ResponseCodeInUse:
		return false
	}
	return true
}

// Check dials, logs in and logs out: registration uses it to say whether the
// account works. The error is an *Error.
func Check(ctx context.Context, s Server) error {
	c, err := Dial(ctx, s, nil)
	if err != nil {
		return err
	}
	cn := &conn{c: c, s: s}
	defer c.Close()
	// A failed LOGOUT does not make the account any less usable.
	_ = cn.do(ctx, s.timeout(), "log out", func() error { return c.Logout().Wait() })
	return nil
}

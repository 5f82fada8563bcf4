package submit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/net/idna"

	"github.com/ferry-xmpp/ferry/bridges/email/mailaddr"

	"github.com/ferry-xmpp/ferry/internal/tlshint"
)

// Security is how the connection to the server is protected.
type Security string

const (
	// TLS is implicit TLS from the first byte (RFC 8314, port 465).
	TLS Security = "tls"
	// StartTLS upgrades a plain connection with STARTTLS (RFC 3207, port
	// 587); a server that does not offer it is refused.
	StartTLS Security = "starttls"
	// Plain is an unencrypted connection.
	Plain Security = "plain"
)

// DefaultTimeout is used when Server.Timeout is zero.
const DefaultTimeout = 30 * time.Second

const (
	defaultHelo = "localhost"
	dataChunk   = 64 << 10 // bytes written to DATA per deadline
	maxTextLen  = 400      // runes of server reply kept in Error.Text
)

// Server is an SMTP submission server and the account to use on it.
type Server struct {
	Addr     string // host:port
	Security Security
	// Username and Password are the login; an empty Username means no AUTH.
	Username, Password string
	// TLSConfig is optional; its ServerName defaults to the host of Addr.
	TLSConfig *tls.Config
	// Dialer, if set, makes the connection (its Control func may vet the
	// address actually dialled).
	Dialer *net.Dialer
	// HeloName is the optional EHLO name; the default is "localhost".
	HeloName string
	// Timeout applies to the dial and to each command; 0 means
	// DefaultTimeout.
	Timeout time.Duration
}

// Error describes a failed submission.
type Error struct {
	// Permanent is set when retrying cannot help: a 5xx reply (such as a
	// refused login), an untrusted certificate, a missing required extension
	// or invalid input. A 4xx reply or a network error is not Permanent.
	Permanent bool
	// Auth is set when the server answered AUTH with an error reply (5xx:
	// wrong credentials; 4xx: temporary failure).
	Auth bool
	// Unreachable is set when no SMTP server was reached: the connection
	// failed (or the Dialer refused the address), or what answered did not
	// complete TLS or an SMTP greeting. A caller serving users who name
	// arbitrary servers can then give one text for all of these, so that
	// its errors do not map the network for them.
	Unreachable bool
	// Text is a user-safe single line. It includes the server's reply code
	// and text when there was a reply, or says what went wrong on the
	// network. It never contains the password.
	Text string
	// Cause is the underlying error, if any.
	Cause error
	// Recipient is the envelope recipient whose RCPT TO was refused.
	Recipient string
}

func (e *Error) Error() string { return e.Text }

// Unwrap returns Cause.
func (e *Error) Unwrap() error { return e.Cause }

// Check connects to s, negotiates security, logs in if s.Username is set
// and QUITs. It tells whether the account works. Errors are *Error.
func Check(ctx context.Context, s Server) error {
	sess, err := dial(ctx, s)
	if err != nil {
		return err
	}
	defer sess.close()
	sess.quit()
	return nil
}

// Send delivers msg, a complete RFC 5322 message with CRLF line ends, from
// the envelope sender from to the envelope recipients to. It dials s,
// negotiates security, logs in if s.Username is set, and runs MAIL FROM
// (with SMTPUTF8 only when an address or the header needs it), RCPT TO for
// each recipient, DATA and QUIT. Cancelling ctx closes the connection.
// Errors are *Error; see there for which are Permanent.
func Send(ctx context.Context, s Server, from string, to []string, msg []byte) error {
	envFrom, err := envelopeAddr(from)
	if err != nil {
		return &Error{Permanent: true, Text: fmt.Sprintf("invalid sender address %q", from), Cause: err}
	}
	if len(to) == 0 {
		return &Error{Permanent: true, Text: "no recipients"}
	}
	envTo := make([]string, len(to))
	for i, a := range to {
		if envTo[i], err = envelopeAddr(a); err != nil {
			return &Error{Permanent: true, Text: fmt.Sprintf("invalid recipient address %q", a), Recipient: a, Cause: err}
		}
	}
	if len(msg) == 0 {
		return &Error{Permanent: true, Text: "empty message"}
	}

	sess, err := dial(ctx, s)
	if err != nil {
		return err
	}
	defer sess.close()
	return sess.send(envFrom, envTo, msg)
}

// envelopeAddr validates addr and converts its domain to A-labels, so that
// only a non-ASCII local part needs SMTPUTF8.
func envelopeAddr(addr string) (string, error) {
	if !mailaddr.Valid(addr) {
		return "", fmt.Errorf("%w: %q", mailaddr.ErrInvalidAddress, addr)
	}
	at := strings.LastIndexByte(addr, '@')
	domain, err := idna.Lookup.ToASCII(addr[at+1:])
	if err != nil {
		return "", err
	}
	return addr[:at] + "@" + domain, nil
}

// session is a connected, logged-in client.
type session struct {
	ctx     context.Context
	s       Server
	timeout time.Duration
	conn    *deadlineConn // below TLS, if any
	c       *smtp.Client
	stop    func() bool // stops closing conn when ctx is done
}

func dial(ctx context.Context, s Server) (*session, error) {
	sess := &session{ctx: ctx, s: s, timeout: s.Timeout}
	if sess.timeout <= 0 {
		sess.timeout = DefaultTimeout
	}
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil || host == "" {
		return nil, &Error{Permanent: true, Text: fmt.Sprintf("invalid server address %q (want host:port)", s.Addr), Cause: err}
	}
	switch s.Security {
	case TLS, StartTLS, Plain:
	default:
		return nil, &Error{Permanent: true, Text: fmt.Sprintf("unknown connection security %q", s.Security)}
	}
	if strings.ContainsAny(s.HeloName, "\r\n") {
		return nil, &Error{Permanent: true, Text: "invalid HELO name"}
	}
	var tlsConf *tls.Config
	if s.Security != Plain {
		if s.TLSConfig != nil {
			tlsConf = s.TLSConfig.Clone()
		} else {
			tlsConf = &tls.Config{}
		}
		if tlsConf.ServerName == "" {
			tlsConf.ServerName = host
		}
		if tlsConf.MinVersion == 0 {
			tlsConf.MinVersion = tls.VersionTLS12
		}
	}

	dctx, cancel := context.WithTimeout(ctx, sess.timeout)
	defer cancel()
	dialer := s.Dialer
	if dialer == nil {
		dialer = new(net.Dialer)
	}
	raw, err := dialer.DialContext(dctx, "tcp", s.Addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, sess.stopped(err)
		}
		return nil, &Error{Unreachable: true, Text: fmt.Sprintf("cannot connect to %s: %s", s.Addr, netReason(err)), Cause: err}
	}
	sess.conn = &deadlineConn{Conn: raw, timeout: sess.timeout}
	sess.stop = context.AfterFunc(ctx, func() { raw.Close() })

	var conn net.Conn = sess.conn
	if s.Security == TLS {
		tc := tls.Client(sess.conn, tlsConf)
		if err := tc.HandshakeContext(dctx); err != nil {
			sess.stop()
			raw.Close()
			return nil, beforeGreeting(sess.fail("the TLS handshake", "the TLS handshake was refused", err))
		}
		conn = tc
	}
	if s.Security == StartTLS {
		c, err := smtp.NewClientStartTLS(conn, tlsConf)
		if err != nil {
			sess.stop()
			raw.Close()
			if err.Error() == "smtp: server doesn't support STARTTLS" {
				return nil, &Error{Permanent: true, Cause: err,
					Text: fmt.Sprintf("%s does not offer STARTTLS; not sending the password or the message unencrypted", s.Addr)}
			}
			return nil, beforeGreeting(sess.fail("STARTTLS", "STARTTLS was refused", err))
		}
		sess.c = c
	} else {
		sess.c = smtp.NewClient(conn)
	}
	sess.c.CommandTimeout = sess.timeout
	sess.c.SubmissionTimeout = sess.timeout

	helo := s.HeloName
	if helo == "" {
		helo = defaultHelo
	}
	if err := sess.c.Hello(helo); err != nil {
		sess.close()
		return nil, beforeGreeting(sess.fail("the greeting", "the connection was refused", err))
	}
	if err := sess.login(); err != nil {
		sess.abort(err)
		sess.close()
		return nil, err
	}
	return sess, nil
}

func (sess *session) login() *Error {
	s := sess.s
	if s.Username == "" {
		return nil
	}
	ok, mechs := sess.c.Extension("AUTH")
	if !ok {
		text := fmt.Sprintf("%s does not offer authentication (no AUTH in its EHLO reply)", s.Addr)
		if s.Security == Plain {
			text += "; it may require TLS first"
		}
		return &Error{Permanent: true, Text: text}
	}
	if !sess.c.SupportsAuth(sasl.Plain) {
		return &Error{Permanent: true, Text: fmt.Sprintf("%s does not offer AUTH PLAIN (it offers %s)", s.Addr, oneLine(mechs))}
	}
	if err := sess.c.Auth(sasl.NewPlainClient("", s.Username, s.Password)); err != nil {
		e := sess.fail("the login", "the login was refused", err)
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			e.Auth = true
		}
		return e
	}
	return nil
}

func (sess *session) send(from string, to []string, msg []byte) error {
	c := sess.c
	needUTF8 := !isASCII([]byte(from)) || !isASCII(header(msg))
	for _, a := range to {
		needUTF8 = needUTF8 || !isASCII([]byte(a))
	}
	if ok, _ := c.Extension("SMTPUTF8"); needUTF8 && !ok {
		return &Error{Permanent: true, Text: fmt.Sprintf("%s does not support SMTPUTF8, which this message needs for its non-ASCII addresses", sess.s.Addr)}
	}
	if ok, _ := c.Extension("8BITMIME"); !isASCII(msg) && !ok && !needUTF8 {
		return &Error{Permanent: true, Text: fmt.Sprintf("%s does not accept 8-bit data (no 8BITMIME)", sess.s.Addr)}
	}
	if max, ok := c.MaxMessageSize(); ok && max > 0 && len(msg) > max {
		return &Error{Permanent: true, Text: fmt.Sprintf("message too large: %d bytes, %s accepts at most %d", len(msg), sess.s.Addr, max)}
	}

	if err := c.Mail(from, &smtp.MailOptions{UTF8: needUTF8, Size: int64(len(msg))}); err != nil {
		return sess.abort(sess.fail("MAIL FROM", "sender "+from+" was refused", err))
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt, nil); err != nil {
			e := sess.fail("RCPT TO", "recipient "+rcpt+" was refused", err)
			e.Recipient = rcpt
			return sess.abort(e)
		}
	}
	w, err := c.Data()
	if err != nil {
		return sess.abort(sess.fail("DATA", "DATA was refused", err))
	}
	for off := 0; off < len(msg); off += dataChunk {
		sess.conn.SetDeadline(time.Now().Add(sess.timeout))
		if _, err := w.Write(msg[off:min(off+dataChunk, len(msg))]); err != nil {
			return sess.fail("sending the message", "the message was refused", err)
		}
	}
	if err := w.Close(); err != nil {
		return sess.abort(sess.fail("the end of the message", "the message was refused", err))
	}
	// The message is accepted; a failing QUIT changes nothing.
	sess.quit()
	return nil
}

// abort ends the conversation politely when the server is still talking
// (e is not about the connection) and returns e.
func (sess *session) abort(e *Error) *Error {
	var se *smtp.SMTPError
	if e.Cause == nil || errors.As(e.Cause, &se) {
		sess.quit()
	}
	return e
}

func (sess *session) quit() {
	if sess.c != nil && sess.ctx.Err() == nil {
		_ = sess.c.Quit()
	}
}

func (sess *session) close() {
	if sess.stop != nil {
		sess.stop()
	}
	if sess.c != nil {
		_ = sess.c.Close()
	}
	if sess.conn != nil {
		_ = sess.conn.Close()
	}
}

// fail turns err, which happened during step, into an *Error. refused
// says what the server refused when err is an error reply.
func (sess *session) fail(step, refused string, err error) *Error {
	if sess.ctx.Err() != nil {
		return sess.stopped(err)
	}
	addr := sess.s.Addr
	var e *Error
	var se *smtp.SMTPError
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	switch {
	case errors.As(err, &se):
		e = &Error{Permanent: se.Code >= 500, Text: fmt.Sprintf("%s by %s: %s", refused, addr, reply(se))}
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalidCert):
		hint, _ := tlshint.Explain(err)
		e = &Error{Permanent: true, Text: fmt.Sprintf("TLS with %s failed: %s", addr, hint)}
	case isNetError(err):
		e = &Error{Text: fmt.Sprintf("connection to %s failed during %s: %s", addr, step, netReason(err))}
	default:
		e = &Error{Text: fmt.Sprintf("%s with %s failed: %s", step, addr, oneLine(err.Error()))}
	}
	e.Cause = err
	e.Text = sess.scrub(e.Text)
	return e
}

// beforeGreeting marks a failure before the server's greeting as
// Unreachable unless an SMTP reply says a mail server was there.
func beforeGreeting(e *Error) *Error {
	var se *smtp.SMTPError
	e.Unreachable = !errors.As(e.Cause, &se)
	return e
}

// stopped is the error for a cancelled or expired ctx.
func (sess *session) stopped(err error) *Error {
	cause := context.Cause(sess.ctx)
	return &Error{
		Text:  fmt.Sprintf("submission to %s stopped: %s", sess.s.Addr, oneLine(cause.Error())),
		Cause: errors.Join(cause, err),
	}
}

// scrub removes the password, alone or in an AUTH PLAIN response, from s.
func (sess *session) scrub(s string) string {
	p := sess.s.Password
	if p == "" {
		return s
	}
	s = strings.ReplaceAll(s, p, "********")
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + sess.s.Username + "\x00" + p))
	return strings.ReplaceAll(s, plain, "********")
}

// reply formats a server reply as "code enhanced-code text".
func reply(se *smtp.SMTPError) string {
	s := fmt.Sprintf("%03d", se.Code)
	if c := se.EnhancedCode; c != smtp.EnhancedCodeNotSet && c != smtp.NoEnhancedCode {
		s += fmt.Sprintf(" %d.%d.%d", c[0], c[1], c[2])
	}
	if m := oneLine(se.Message); m != "" {
		s += " " + m
	}
	return s
}

// oneLine replaces control characters in s by spaces, collapses runs of
// spaces, and cuts the result to maxTextLen runes.
func oneLine(s string) string {
	s = strings.Join(strings.FieldsFunc(strings.ToValidUTF8(s, "\uFFFD"), func(r rune) bool {
		return r == ' ' || unicode.IsControl(r)
	}), " ")
	if r := []rune(s); len(r) > maxTextLen {
		s = string(r[:maxTextLen]) + "…"
	}
	return s
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// netReason is a short text for a network error, such as "connection
// refused" or "timed out".
func netReason(err error) string {
	var dnsErr *net.DNSError
	var errno syscall.Errno
	var opErr *net.OpError
	var ne net.Error
	switch {
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "no such host"
		}
		if dnsErr.IsTimeout {
			return "host name lookup timed out"
		}
		return "host name lookup failed: " + oneLine(dnsErr.Err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the server"
	case errors.As(err, &errno):
		return errno.Error()
	case errors.As(err, &opErr) && opErr.Err != nil:
		return oneLine(opErr.Err.Error())
	}
	return oneLine(err.Error())
}

// header returns the header section of msg.
func header(msg []byte) []byte {
	for i := 0; i+1 < len(msg); i++ {
		if msg[i] == '\n' && (msg[i+1] == '\n' || msg[i+1] == '\r' && i+2 < len(msg) && msg[i+2] == '\n') {
			return msg[:i]
		}
	}
	return msg
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// deadlineConn keeps every deadline that go-smtp sets (five minutes and
// more by default, even before CommandTimeout can be changed) within
// timeout from now.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	if limit := time.Now().Add(c.timeout); !t.IsZero() && t.After(limit) {
		t = limit
	}
	return c.Conn.SetDeadline(t)
}

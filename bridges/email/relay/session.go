package relay

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	smtp "github.com/emersion/go-smtp"
)

// Replies. go-smtp writes an *smtp.SMTPError returned by a Session as is.
var (
	errShuttingDown  = reply(421, 4, 3, 2, "Service shutting down, try again later")
	errNestedMail    = reply(503, 5, 5, 1, "Nested MAIL command")
	errNoRecipients  = reply(503, 5, 5, 1, "No valid recipients")
	errBadSender     = reply(501, 5, 1, 7, "Bad sender address syntax")
	errBadRecipient  = reply(501, 5, 1, 3, "Bad recipient address syntax")
	errRelayDenied   = reply(554, 5, 7, 1, "Relay access denied")
	errNoSuchAddress = reply(550, 5, 1, 1, "No such address")
	errSenderRefused = reply(550, 5, 7, 1, "Sender not allowed for this address")
	errLookupFailed  = reply(451, 4, 3, 0, "Temporary address lookup failure, try again later")
	errAborted       = reply(451, 4, 3, 0, "Transaction aborted, try again later")
	errReadFailed    = reply(451, 4, 3, 0, "Error while receiving the message, try again later")
	errDeliverFailed = reply(451, 4, 3, 0, "Temporary delivery failure, try again later")
	errLineTooLong   = reply(500, 5, 5, 2, "Line too long")
)

func reply(code, class, subject, detail int, msg string) *smtp.SMTPError {
	return &smtp.SMTPError{
		Code:         code,
		EnhancedCode: smtp.EnhancedCode{class, subject, detail},
		Message:      msg,
	}
}

func (s *Server) errRateLimited() *smtp.SMTPError {
	return reply(450, 4, 7, 1, fmt.Sprintf(
		"Too many messages for this address (limit %d per hour), try again later",
		s.cfg.PerAddressPerHour))
}

func (s *Server) errTooBig() *smtp.SMTPError {
	return reply(552, 5, 3, 4, fmt.Sprintf(
		"Message too big (limit %d bytes)", s.cfg.MaxSize))
}

// newSession is the go-smtp backend: it is called on the first HELO or
// EHLO of a connection.
func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, errShuttingDown
	}
	nc := c.Conn()
	return &session{srv: s, conn: c, netConn: nc, remote: remoteIP(nc.RemoteAddr())}, nil
}

// session is one SMTP connection.
//
// go-smtp calls Mail, Rcpt and Reset from the connection's goroutine, Data
// from it or (for BDAT) from another one, and Logout from Server.Close too;
// mu guards tx against that.
type session struct {
	srv     *Server
	conn    *smtp.Conn
	netConn net.Conn
	remote  string // client IP address, or whatever the net.Addr says

	mu sync.Mutex
	tx *transaction // nil outside a mail transaction
}

// transaction is one mail transaction, from MAIL to the end of DATA or
// RSET. Only rcpts and accepted change once it is created, under
// session.mu.
type transaction struct {
	id   string // random, in the Received header and the log
	from string // normalised; "" for <>
	utf8 bool   // MAIL FROM had SMTPUTF8
	helo string // the HELO/EHLO name when MAIL was given

	rcpts    []Recipient
	accepted map[string]bool // normalised RCPT addresses in rcpts
}

func (ss *session) current() *transaction {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.tx
}

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	if ss.current() != nil {
		return errNestedMail
	}
	tx := &transaction{
		id:       newID(),
		utf8:     opts != nil && opts.UTF8,
		helo:     ss.conn.Hostname(),
		accepted: make(map[string]bool),
	}
	if from != "" {
		norm, err := normalizeSender(from)
		if err != nil {
			ss.refused(tx, truncate(from), "", "bad sender address syntax")
			return errBadSender
		}
		tx.from = norm
	}
	ss.mu.Lock()
	ss.tx = tx
	ss.mu.Unlock()
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	tx := ss.current()
	if tx == nil {
		return errAborted // go-smtp allows RCPT only after MAIL
	}
	addr, err := normalizeAddress(to)
	if err != nil {
		ss.refused(tx, tx.from, truncate(to), "bad recipient address syntax")
		return errBadRecipient
	}
	if !ss.srv.domains[domainOf(addr)] {
		ss.refused(tx, tx.from, addr, "relay access denied")
		return errRelayDenied
	}
	ss.mu.Lock()
	dup := tx.accepted[addr]
	ss.mu.Unlock()
	if dup {
		return nil // accepted once already; delivered once
	}

	r, ok, err := ss.lookup(addr)
	switch {
	case err == errShuttingDown:
		return err
	case err != nil:
		ss.srv.log.Warn("relay: address lookup failed", "id", tx.id, "remote", ss.remote,
			"from", tx.from, "rcpt", addr, "err", err)
		return errLookupFailed
	case !ok:
		ss.refused(tx, tx.from, addr, "no such address")
		return errNoSuchAddress
	}
	if r.Address == "" {
		r.Address = addr
	}
	if !senderAllowed(tx.from, r.Senders) {
		ss.refused(tx, tx.from, addr, "sender not allowed for this address")
		return errSenderRefused
	}
	if !ss.srv.limits.allow(addr) {
		ss.refused(tx, tx.from, addr, "rate limit exceeded")
		return ss.srv.errRateLimited()
	}

	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.tx != tx {
		return errAborted // Logout from Server.Close
	}
	tx.accepted[addr] = true
	tx.rcpts = append(tx.rcpts, r)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	ss.mu.Lock()
	tx := ss.tx
	var rcpts []Recipient
	if tx != nil {
		rcpts = slices.Clone(tx.rcpts)
	}
	ss.mu.Unlock()
	if len(rcpts) == 0 {
		return errNoRecipients // go-smtp allows DATA only after a RCPT
	}
	if !ss.srv.begin() {
		return errShuttingDown
	}
	defer ss.srv.end()

	addrs := make([]string, len(rcpts))
	for i, rc := range rcpts {
		addrs[i] = rc.Address
	}
	header := ss.received(tx, rcpts, time.Now())
	limit := ss.srv.cfg.MaxSize
	var buf bytes.Buffer
	buf.Grow(len(header) + 4096)
	buf.WriteString(header)
	body := &deadlineReader{r: r, conn: ss.netConn, timeout: ss.srv.cfg.ReadTimeout}
	n, err := buf.ReadFrom(io.LimitReader(body, limit+1))
	switch {
	case errors.Is(err, smtp.ErrDataTooLarge) || n > limit:
		ss.refused(tx, tx.from, addrs, "message too big")
		return ss.srv.errTooBig()
	case errors.Is(err, smtp.ErrTooLongLine):
		// go-smtp closes the connection after this reply.
		ss.refused(tx, tx.from, addrs, "line too long")
		return errLineTooLong
	case err != nil:
		ss.srv.log.Info("relay: error receiving message", "id", tx.id, "remote", ss.remote,
			"from", tx.from, "rcpt", addrs, "err", err)
		return errReadFailed
	}
	data := buf.Bytes()
	data = data[:len(data):len(data)] // shared: an append by Deliver must copy

	// One budget for all recipients: the client waits for a single reply.
	ctx, cancel := context.WithTimeout(ss.srv.ctx, deliverTimeout)
	defer cancel()
	for i, rc := range rcpts {
		if err := ss.srv.deliver(ctx, Envelope{From: tx.from, Recipient: rc, Data: data}); err != nil {
			ss.srv.log.Warn("relay: delivery failed, message refused temporarily",
				"id", tx.id, "remote", ss.remote, "from", tx.from, "rcpt", rc.Address,
				"delivered", addrs[:i], "err", err)
			return errDeliverFailed
		}
	}
	ss.srv.log.Info("relay: message accepted", "id", tx.id, "remote", ss.remote,
		"from", tx.from, "rcpt", addrs, "size", n)
	return nil
}

// lookup calls the Directory, or returns errShuttingDown.
func (ss *session) lookup(addr string) (Recipient, bool, error) {
	if !ss.srv.begin() {
		return Recipient{}, false, errShuttingDown
	}
	defer ss.srv.end() // even if Lookup panics, or Close would wait forever
	ctx, cancel := context.WithTimeout(ss.srv.ctx, lookupTimeout)
	defer cancel()
	return ss.srv.dir.Lookup(ctx, addr)
}

func (ss *session) Reset() {
	ss.mu.Lock()
	ss.tx = nil
	ss.mu.Unlock()
}

func (ss *session) Logout() error {
	ss.Reset()
	return nil
}

// refused logs a refused MAIL, RCPT or DATA. rcpt is a string or a
// []string.
func (ss *session) refused(tx *transaction, from string, rcpt any, reason string) {
	ss.srv.log.Info("relay: refused", "id", tx.id, "remote", ss.remote,
		"from", from, "rcpt", rcpt, "reason", reason)
}

// truncate shortens client-supplied text for the log.
func truncate(s string) string {
	const max = 300
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

func newID() string {
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand.Read in Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

// remoteIP returns the IP address of a, or a's string if it has none.
func remoteIP(a net.Addr) string {
	switch a := a.(type) {
	case nil:
		return "unknown"
	case *net.TCPAddr:
		return a.IP.String()
	}
	if host, _, err := net.SplitHostPort(a.String()); err == nil {
		return host
	}
	return a.String()
}

// deadlineReader extends the connection's read deadline while a message is
// being read, so that ReadTimeout bounds each read rather than the whole
// message (go-smtp sets it once, before reading the DATA command).
type deadlineReader struct {
	r       io.Reader
	conn    net.Conn
	timeout time.Duration
	last    time.Time
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	// Resetting the deadline costs little, but not on every small read.
	if now := time.Now(); now.Sub(d.last) > d.timeout/16 {
		d.conn.SetReadDeadline(now.Add(d.timeout))
		d.last = now
	}
	return d.r.Read(p)
}

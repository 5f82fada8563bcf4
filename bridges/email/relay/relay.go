package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	smtp "github.com/emersion/go-smtp"
)

// Defaults for the zero values of Config fields, documented there.
const (
	defaultMaxSize           = 10 << 20
	defaultMaxRecipients     = 50
	defaultPerAddressPerHour = 60
	defaultTimeout           = 60 * time.Second
)

// Budgets for the calls into the caller's code: for one Lookup, and for
// all the Deliver calls of one message together (well within the 10
// minutes RFC 5321 section 4.5.3.2.6 has clients wait for the reply to the
// end of DATA). They are not configurable; Close cancels them anyway.
const (
	lookupTimeout  = 30 * time.Second
	deliverTimeout = 2 * time.Minute
)

// Recipient is an address that exists.
type Recipient struct {
	// Address is the normalised full address, e.g.
	// "alerts.k3x9@relay.example.org".
	Address string
	// Owner is the bare JID of the XMPP user who owns the address.
	Owner string
	// Senders, if non-empty, lists the only envelope senders (normalised
	// addresses) that may mail the address; an entry "@example.org" allows
	// every sender in that domain (not its subdomains). The null sender <>
	// matches no entry.
	Senders []string
}

// Directory says which addresses exist.
type Directory interface {
	// Lookup is called with a normalised address in one of the served
	// domains. ok=false means there is no such address; an error is a
	// temporary failure (the client gets 451 4.3.0 and retries).
	Lookup(ctx context.Context, address string) (r Recipient, ok bool, err error)
}

// Envelope is one accepted mail for one recipient.
type Envelope struct {
	// From is the envelope sender (MAIL FROM), "" for the null sender <>.
	// It is normalised like Recipient.Address when mailaddr accepts it, and
	// lower-cased otherwise (see the package documentation).
	From string
	// Recipient is what the Directory returned for the RCPT TO address.
	Recipient Recipient
	// Data is the message as received, with a Received header prepended by
	// us. The envelopes of one message share the same Data: it must not be
	// modified.
	Data []byte
}

// Deliver hands a mail to its owner. It must return nil only once the mail
// is stored durably; an error means "try again later" (the SMTP client gets
// 451 4.3.0 for the whole message and will send it again, possibly to
// recipients that already got it: Deliver must de-duplicate, e.g. by
// Message-ID and recipient). Deliver is called once per recipient, in
// RCPT order, and may be called concurrently for different messages. It
// must honour ctx, which has a deadline (2 minutes for all recipients of a
// message) and is cancelled by Close.
type Deliver func(ctx context.Context, e Envelope) error

// Config configures a Server. Zero values get the documented defaults;
// negative values are an error.
type Config struct {
	// Domains are the relay domains served. RCPT TO any other domain gets
	// 554 5.7.1 relay access denied. At least one is required; they are
	// normalised to lower-case A-labels.
	Domains []string
	// Hostname is our name in the greeting and in the Received header.
	// Default: os.Hostname, or "localhost".
	Hostname string
	// MaxSize is the maximum message size in bytes (as received, after
	// dot-unstuffing, including the CRLF ending the last line), advertised
	// with the SIZE extension; larger messages get 552 5.3.4. Default 10
	// MiB. go-smtp's DATA reader refuses a message that reaches MaxSize
	// bytes, so in practice the largest one accepted is MaxSize-1 bytes.
	MaxSize int64
	// MaxRecipients is the most recipients per message (452 4.5.3 for the
	// next). Default 50.
	MaxRecipients int
	// PerAddressPerHour is how many mails an address accepts per hour, with
	// bursts of as many; past it RCPT gets 450 4.7.1. Default 60.
	PerAddressPerHour int
	// ReadTimeout and WriteTimeout bound each read and write on a
	// connection. Default 60s each.
	ReadTimeout, WriteTimeout time.Duration
	// Logger, if set, gets a record of each accepted or refused transaction
	// (client IP, sender, recipients, reason; never message bodies) and of
	// connection errors.
	Logger *slog.Logger
}

// Server is an SMTP server for the relay domains. It must be created with
// New.
type Server struct {
	cfg     Config
	domains map[string]bool
	dir     Directory
	deliver Deliver
	log     *slog.Logger
	limits  *limiter
	smtp    *smtp.Server

	// ctx is the parent of every Lookup and Deliver context; Close cancels
	// it.
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	closed    bool
	listeners []net.Listener
	conns     map[*trackedConn]struct{} // accepted and not yet closed
	// serving counts the Serve calls in progress.
	serving sync.WaitGroup
	// busy counts the Lookup calls and DATA phases (reading the message,
	// Deliver) in progress, so that Close can wait for them.
	busy sync.WaitGroup
}

// errClosed is returned by Serve after Close.
var errClosed = fmt.Errorf("relay: server closed: %w", net.ErrClosed)

// New validates cfg, fills in defaults and returns a server that looks up
// recipients in dir and hands accepted mail to deliver.
func New(cfg Config, dir Directory, deliver Deliver) (*Server, error) {
	if dir == nil {
		return nil, errors.New("relay: nil Directory")
	}
	if deliver == nil {
		return nil, errors.New("relay: nil Deliver")
	}
	cfg, domains, err := checkConfig(cfg)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:     cfg,
		domains: domains,
		dir:     dir,
		deliver: deliver,
		log:     log,
		limits:  newLimiter(cfg.PerAddressPerHour),
		conns:   make(map[*trackedConn]struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())

	ss := smtp.NewServer(smtp.BackendFunc(s.newSession))
	ss.Domain = cfg.Hostname
	ss.MaxMessageBytes = cfg.MaxSize
	ss.MaxRecipients = cfg.MaxRecipients
	// Always non-zero: before each command go-smtp sets the read deadline,
	// and that failing is what stops it from handling commands still
	// buffered after it closed the connection (QUIT, too many errors).
	ss.ReadTimeout = cfg.ReadTimeout
	ss.WriteTimeout = cfg.WriteTimeout
	ss.EnableSMTPUTF8 = true
	// Sessions do not implement smtp.AuthSession, so no AUTH mechanism is
	// advertised and every AUTH command is refused; without TLS, go-smtp
	// refuses it before even looking for one.
	ss.AllowInsecureAuth = false
	ss.ErrorLog = smtpLogger{log}
	s.smtp = ss
	return s, nil
}

// checkConfig returns cfg with defaults filled in and the set of normalised
// domains.
func checkConfig(cfg Config) (Config, map[string]bool, error) {
	if len(cfg.Domains) == 0 {
		return cfg, nil, errors.New("relay: no domains configured")
	}
	domains := make(map[string]bool, len(cfg.Domains))
	norm := make([]string, 0, len(cfg.Domains))
	for _, d := range cfg.Domains {
		nd, err := normalizeDomain(d)
		if err != nil {
			return cfg, nil, fmt.Errorf("relay: domain %q: %w", d, err)
		}
		if !domains[nd] {
			domains[nd] = true
			norm = append(norm, nd)
		}
	}
	cfg.Domains = norm

	if cfg.Hostname == "" {
		h, err := os.Hostname()
		if err != nil || !validHostname(h) {
			h = "localhost"
		}
		cfg.Hostname = h
	}
	if !validHostname(cfg.Hostname) {
		return cfg, nil, fmt.Errorf("relay: invalid hostname %q", cfg.Hostname)
	}

	switch {
	case cfg.MaxSize < 0:
		return cfg, nil, errors.New("relay: negative MaxSize")
	case cfg.MaxSize == 0:
		cfg.MaxSize = defaultMaxSize
	}
	switch {
	case cfg.MaxRecipients < 0:
		return cfg, nil, errors.New("relay: negative MaxRecipients")
	case cfg.MaxRecipients == 0:
		cfg.MaxRecipients = defaultMaxRecipients
	}
	switch {
	case cfg.PerAddressPerHour < 0:
		return cfg, nil, errors.New("relay: negative PerAddressPerHour")
	case cfg.PerAddressPerHour == 0:
		cfg.PerAddressPerHour = defaultPerAddressPerHour
	}
	for _, d := range []*time.Duration{&cfg.ReadTimeout, &cfg.WriteTimeout} {
		switch {
		case *d < 0:
			return cfg, nil, errors.New("relay: negative timeout")
		case *d == 0:
			*d = defaultTimeout
		}
	}
	return cfg, domains, nil
}

// validHostname reports whether h can be written in the greeting and in a
// Received header without quoting: a host name or an address literal.
func validHostname(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte(".-_:[]", c) >= 0) {
			return false
		}
	}
	return true
}

// Serve accepts SMTP connections on ln until Close is called, and then
// returns nil. It returns an error if accepting fails for another reason,
// or at once (closing ln) if the server is already closed. Serve may be
// called for several listeners.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return errClosed
	}
	s.listeners = append(s.listeners, ln)
	s.serving.Add(1)
	s.mu.Unlock()
	defer s.serving.Done()

	err := s.smtp.Serve(trackingListener{Listener: ln, s: s})
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil // the listener was closed by Close
	}
	return err
}

// Close stops the server: it closes the listeners and every connection,
// cancels the contexts of Lookup and Deliver calls in progress, and returns
// once every connection has been dealt with, so Lookup and Deliver are not
// called any more (provided they honour their context; Close waits for
// them). Serve then returns nil. Transactions in progress are lost and
// will be retried by their clients. Calling Close again does nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	listeners := s.listeners
	s.listeners = nil
	s.mu.Unlock()

	s.cancel()
	var err error
	for _, ln := range listeners {
		if e := ln.Close(); e != nil && !errors.Is(e, net.ErrClosed) && err == nil {
			err = e
		}
	}
	// Once the accept loops have returned, go-smtp has registered every
	// connection it accepted, and no other will come.
	s.serving.Wait()
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	// Shutdown (rather than Close) waits for go-smtp's connection
	// goroutines, which end now that their connections are closed. The
	// listeners it closes again are closed already.
	s.smtp.Shutdown(context.Background())
	// BDAT hands the message to Data in a goroutine of its own.
	s.busy.Wait()
	return err
}

// begin registers a call into Directory or Deliver; it reports false once
// the server is closed. Each successful begin must be matched by end.
func (s *Server) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.busy.Add(1)
	return true
}

func (s *Server) end() { s.busy.Done() }

// smtpLogger passes go-smtp's internal error messages (connection errors,
// recovered panics) to the slog logger.
type smtpLogger struct{ l *slog.Logger }

// Log messages for panics that go-smtp recovered from.
const (
	// msgPanic: the stack goes through this package (a bug here, or in
	// the Directory or Deliver). Logged as an error, with the stack.
	msgPanic = "relay: panic in SMTP session"
	// msgSMTPPanic: go-smtp (v0.25.1) panicked on its own. Known cases are
	// commands it still handles after closing the connection, such as the
	// goroutine BDAT starts using the session after the client hung up;
	// they are harmless and any client can cause them, so they are logged
	// as a warning without the stack.
	msgSMTPPanic = "relay: go-smtp recovered from an internal panic"
)

// ourFrames is how stack frames of this package begin.
var ourFrames = reflect.TypeFor[Server]().PkgPath() + "."

func (l smtpLogger) Printf(format string, v ...any) {
	l.print(fmt.Sprintf(format, v...))
}

func (l smtpLogger) Println(v ...any) {
	l.print(strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}

func (l smtpLogger) print(msg string) {
	switch {
	case !strings.HasPrefix(msg, "panic"):
		l.l.Warn("relay: SMTP connection error", "detail", msg)
	case strings.Contains(msg, ourFrames):
		l.l.Error(msgPanic, "detail", msg)
	default:
		first, _, _ := strings.Cut(msg, "\n")
		l.l.Warn(msgSMTPPanic, "detail", first)
	}
}

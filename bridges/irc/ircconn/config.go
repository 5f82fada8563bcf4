package ircconn

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/bridges/irc/ircident"
)

// Defaults applied by Dial to zero Config fields.
const (
	// DefaultBurst and DefaultRate pace outgoing lines: ten lines at once,
	// then one a second. That is biboumi's pace, which the big networks'
	// excess-flood limits tolerate (their penalty budgets allow about ten
	// queued lines and refill at a line a second), and it keeps a person
	// typing a line a second from ever waiting.
	DefaultBurst = 10
	DefaultRate  = 1.0 // lines per second

	DefaultQueueSize       = 1024
	DefaultPingInterval    = 60 * time.Second
	DefaultPingTimeout     = 60 * time.Second
	DefaultRegisterTimeout = 60 * time.Second
	DefaultBurstWindow     = 5 * time.Second
)

// SASL mechanisms.
const (
	SASLNone     = ""
	SASLPlain    = "PLAIN"
	SASLExternal = "EXTERNAL"
	// SASLScram insists on SCRAM-SHA-256; SASLPlain takes it too
	// whenever the server offers it, and PLAIN only when not.
	SASLScram = "SCRAM-SHA-256"
)

// Config describes one connection. Only Addr and Nick are required.
type Config struct {
	// Addr is host:port. Without a port, 6697 is used when TLS is set and
	// 6667 otherwise.
	Addr string
	// TLS connects over TLS with certificate verification against the
	// system roots (or TLSConfig.RootCAs) and Addr's host name. The
	// caller's configuration layer decides the default (TLS for 6697);
	// this package only connects in plain text when TLS is false.
	TLS bool
	// TLSConfig is optional: RootCAs for tests or private CAs, a client
	// certificate for SASL EXTERNAL. It is cloned; ServerName defaults to
	// Addr's host and MinVersion to TLS 1.2.
	TLSConfig *tls.Config

	// WebIRC, when set, is sent first of all, as the gateway vouching for
	// the user's address (IRCv3 WEBIRC; webirc.go).
	WebIRC *WebIRC

	// Password is sent as PASS before anything else when not empty.
	Password string
	// Nick is the wanted nick; User defaults to Nick and Realname to Nick.
	Nick, User, Realname string

	// SASL is "", "PLAIN", "SCRAM-SHA-256" or "EXTERNAL". When set,
	// authentication is mandatory: a server that cannot do it makes Dial
	// fail (Kind KindSASL) rather than continue unauthenticated. With a
	// password (PLAIN), SCRAM-SHA-256 is used whenever the server offers
	// it, so the password is not sent.
	SASL               string
	SASLUser, SASLPass string

	// Caps are the IRCv3 capabilities the caller handles, requested when
	// the server offers them (CAP LS 302). cap-notify is requested as
	// well, and sasl when SASL is set; nothing else.
	Caps []string

	// Burst and Rate are the token bucket pacing every line written after
	// registration (lines per second). Zero means the defaults; a negative
	// Rate disables pacing.
	Burst int
	Rate  float64
	// QueueSize bounds the outgoing queue; Send blocks while it is full.
	QueueSize int

	// PingInterval is the silence after which a keepalive PING is sent;
	// PingTimeout is how long after that PING any line must arrive before
	// the connection is declared dead. A negative PingInterval disables
	// the keepalive.
	PingInterval, PingTimeout time.Duration

	// RegisterTimeout bounds Dial as a whole (connect, TLS, registration)
	// in addition to Dial's context, so that a server that accepts the TCP
	// connection and then says nothing can never stall a caller that
	// passed a context without deadline.
	RegisterTimeout time.Duration
	// BurstWindow bounds how long Dial keeps reading after 001 while
	// waiting for the end of the MOTD (376/422), which marks the end of
	// the ISUPPORT lines.
	BurstWindow time.Duration

	// Dialer opens the transport; default net.Dialer.DialContext.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	// Clock drives the keepalive and the rate limiter; default the real
	// clock. Registration timeouts use the context and socket deadlines
	// and therefore always run on real time.
	Clock Clock
}

// Clock is the time source of the keepalive and of the rate limiter.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer that the connection uses.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

// withDefaults validates cfg and fills in defaults. It returns the host
// name used for TLS verification.
func (cfg *Config) withDefaults() (host string, err error) {
	if cfg.Addr == "" {
		return "", fmt.Errorf("no server address")
	}
	h, _, splitErr := net.SplitHostPort(cfg.Addr)
	if splitErr != nil {
		port := "6667"
		if cfg.TLS {
			port = "6697"
		}
		h = strings.TrimSuffix(strings.TrimPrefix(cfg.Addr, "["), "]")
		cfg.Addr = net.JoinHostPort(h, port)
	}
	if cfg.User == "" {
		cfg.User = cfg.Nick
	}
	if cfg.Realname == "" {
		cfg.Realname = cfg.Nick
	}
	// The same rules registration checks the user's values with.
	id := ircident.Identity{Nick: cfg.Nick, User: cfg.User, Realname: cfg.Realname, Password: cfg.Password, SASLUser: cfg.SASLUser, SASLPass: cfg.SASLPass}
	if err := id.Check(); err != nil {
		return "", err
	}
	if err := cfg.WebIRC.check(); err != nil {
		return "", err
	}
	switch strings.ToUpper(cfg.SASL) {
	case SASLNone:
	case SASLPlain:
		cfg.SASL = SASLPlain
		if cfg.SASLUser == "" {
			return "", fmt.Errorf("SASL PLAIN needs a user name")
		}
	case SASLScram:
		cfg.SASL = SASLScram
		if cfg.SASLUser == "" {
			return "", fmt.Errorf("SASL SCRAM-SHA-256 needs a user name")
		}
	case SASLExternal:
		cfg.SASL = SASLExternal
		if !cfg.TLS {
			return "", fmt.Errorf("SASL EXTERNAL needs TLS with a client certificate")
		}
	default:
		return "", fmt.Errorf("unsupported SASL mechanism %q", cfg.SASL)
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = DefaultPingTimeout
	}
	if cfg.RegisterTimeout <= 0 {
		cfg.RegisterTimeout = DefaultRegisterTimeout
	}
	if cfg.BurstWindow <= 0 {
		cfg.BurstWindow = DefaultBurstWindow
	}
	if cfg.Dialer == nil {
		d := &net.Dialer{KeepAlive: 30 * time.Second}
		cfg.Dialer = d.DialContext
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	return h, nil
}

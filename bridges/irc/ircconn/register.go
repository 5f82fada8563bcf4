package ircconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
	"github.com/ergochat/irc-go/ircutils"

	"github.com/ferry-xmpp/ferry/internal/netpoll"
)

// maxSASLChallenge bounds a server's SASL challenge (a SCRAM
// server-first message is about a hundred bytes).
const maxSASLChallenge = 8192

// maxOffered bounds the capabilities remembered from CAP LS.
const maxOffered = 256

// maxLineLen is the IRC line limit without tags, CR LF included.
const maxLineLen = 512

// maxNickAttempts bounds the fallback nicks tried during registration.
const maxNickAttempts = 10

// Dial connects to cfg.Addr and registers. It returns once the server has
// welcomed the client (001) and the welcome burst has ended (376/422, or
// BurstWindow after 001), so that ISupport() reflects every 005 line. The
// 001 and every line after it are delivered by Serve.
//
// Dial gives up at ctx's deadline or after cfg.RegisterTimeout, whichever
// comes first. Every error is an *Error.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	host, err := cfg.withDefaults()
	if err != nil {
		return nil, &Error{Kind: KindConfig, Text: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.RegisterTimeout)
	defer cancel()

	nc, err := cfg.Dialer(ctx, "tcp", cfg.Addr)
	if err != nil {
		if ctx.Err() != nil {
			e := ctxErr(ctx.Err(), "connecting to "+cfg.Addr)
			e.Err = err
			return nil, e
		}
		return nil, newErr(KindDial, "", err)
	}
	// Beneath TLS, so that a watched connection's TLS layer reads it
	// without blocking too (Watch).
	pc := netpoll.Wrap(nc)
	if pc != nil {
		nc = pc
	}
	if cfg.TLS {
		tc := tlsConfig(cfg.TLSConfig, host)
		tlsConn := tls.Client(nc, tc)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			nc.Close()
			if ctx.Err() != nil {
				e := ctxErr(ctx.Err(), "TLS handshake with "+cfg.Addr)
				e.Err = err
				return nil, e
			}
			return nil, newErr(KindTLS, "", err)
		}
		nc = tlsConn
	}

	c := newConn(cfg, nc)
	c.pc = pc
	reg := &registration{c: c, cfg: &cfg, nick: cfg.Nick, ctx: ctx}
	// Registration reads and writes the socket directly; canceling ctx
	// expires the socket's deadlines, which unblocks it.
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	burst, rerr := reg.run()
	if !stop() && rerr == nil {
		rerr = ctxErr(ctx.Err(), "registering")
	}
	if rerr != nil {
		nc.Close()
		return nil, rerr
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		nc.Close()
		return nil, newErr(KindIO, "", err)
	}
	c.burst = burst
	return c, nil
}

func tlsConfig(base *tls.Config, host string) *tls.Config {
	var tc *tls.Config
	if base != nil {
		tc = base.Clone()
	} else {
		tc = &tls.Config{}
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	return tc
}

type capPhase int

const (
	capWaitLS   capPhase = iota // CAP LS 302 sent, no answer yet
	capWaitReq                  // CAP REQ sent, waiting for ACK/NAK
	capWaitSASL                 // AUTHENTICATE in progress
	capDone                     // CAP END sent, or the server has no CAP
)

// registration is the state of Dial's synchronous registration loop; it
// runs before any of the connection's goroutines exist.
type registration struct {
	c   *Conn
	cfg *Config
	ctx context.Context

	phase      capPhase
	offered    map[string]string // accumulated CAP LS
	requested  map[string]bool   // the names in our CAP REQ
	pendingReq int               // CAP REQ lines without ACK/NAK yet
	splitNAK   bool              // a combined REQ was NAKed and re-sent cap by cap
	mech       saslMech          // the SASL mechanism chosen from the server's list
	saslIn     *ircutils.SASLBuffer
	saslMechs  string // from 908 RPL_SASLMECHS
	saslDone   bool   // 903 received
	triedPlain bool   // PLAIN was tried after SCRAM was refused (sasl_fallback.go)

	nick         string // nick last sent
	nickAttempts int
	maxNickLen   int // learnt from a 432 on a lengthened fallback

	welcomed bool
	burst    []ircmsg.Message
}

func (r *registration) run() ([]ircmsg.Message, error) {
	cfg := r.cfg
	if w := cfg.WebIRC; w != nil {
		if err := r.write("WEBIRC", w.Password, w.Gateway, w.Hostname, w.IP); err != nil {
			return nil, err
		}
	}
	if cfg.Password != "" {
		if err := r.write("PASS", cfg.Password); err != nil {
			return nil, err
		}
	}
	if err := r.write("CAP", "LS", "302"); err != nil {
		return nil, err
	}
	// NICK and USER go out at once: a server that supports CAP holds
	// registration until CAP END, and one that doesn't registers us
	// straight away instead of leaving us waiting for a CAP reply that
	// never comes.
	if err := r.write("NICK", r.nick); err != nil {
		return nil, err
	}
	if err := r.write("USER", cfg.User, "0", "*", cfg.Realname); err != nil {
		return nil, err
	}

	var burstDeadline time.Time
	for {
		if r.welcomed {
			if err := r.c.nc.SetReadDeadline(burstDeadline); err != nil {
				return nil, newErr(KindIO, "", err)
			}
		}
		if err := r.ctx.Err(); err != nil {
			return nil, ctxErr(err, r.stage())
		}
		line, err := r.c.reader.readLine()
		if err != nil {
			var ne net.Error
			if r.welcomed && r.ctx.Err() == nil && errors.As(err, &ne) && ne.Timeout() {
				return r.burst, nil // the burst window is over
			}
			return nil, r.readErr(err)
		}
		msg, err := ircmsg.ParseLineStrict(string(line), false, 0)
		if err != nil {
			continue
		}
		if msg.Command == "PING" {
			if err := r.write("PONG", msg.Params...); err != nil {
				return nil, err
			}
			continue
		}
		if msg.Command == "ERROR" {
			return nil, &Error{Kind: errorKind(lastParam(msg)), Text: lastParam(msg)}
		}
		if r.welcomed {
			r.burst = append(r.burst, msg)
			switch msg.Command {
			case "005":
				r.c.applyISupport(msg)
			case "376", "422": // end of MOTD, or no MOTD
				return r.burst, nil
			}
			continue
		}
		done, err := r.handle(msg)
		if err != nil {
			r.quit()
			return nil, err
		}
		if done {
			r.welcomed = true
			r.burst = append(r.burst, msg)
			burstDeadline = time.Now().Add(cfg.BurstWindow)
		}
	}
}

// handle processes one line before 001; done reports the 001.
func (r *registration) handle(msg ircmsg.Message) (done bool, err error) {
	switch msg.Command {
	case "001":
		if r.cfg.SASL != SASLNone && !r.saslDone {
			return false, &Error{Kind: KindSASL, Text: "the server registered the connection without SASL authentication (it does not support CAP or SASL)"}
		}
		r.phase = capDone
		if len(msg.Params) > 0 && msg.Params[0] != "" && msg.Params[0] != "*" {
			r.nick = msg.Params[0]
		}
		r.c.mu.Lock()
		r.c.nick = r.nick
		r.c.mu.Unlock()
		return true, nil
	case "CAP":
		return false, r.handleCAP(msg)
	case "AUTHENTICATE":
		return false, r.handleAuthenticate(msg)
	case "908": // RPL_SASLMECHS
		if len(msg.Params) > 1 {
			r.saslMechs = msg.Params[1]
		}
	case "903": // RPL_SASLSUCCESS
		if r.phase == capWaitSASL && !r.mech.done() {
			return false, &Error{Kind: KindSASL, Code: msg.Command, Text: "the server claimed success before the " + r.mech.name() + " exchange was complete; it did not prove that it knows your password"}
		}
		if r.phase == capWaitSASL {
			r.saslDone = true
			r.phase = capDone
			return false, r.write("CAP", "END")
		}
	case "902", "904", "905", "906", "907":
		if msg.Command == "904" {
			if retried, err := r.plainAfterSCRAM(); retried || err != nil {
				return false, err
			}
		}
		text := lastParam(msg)
		if r.saslMechs != "" {
			text += " (the server offers " + r.saslMechs + ")"
		}
		return false, &Error{Kind: KindSASL, Code: msg.Command, Text: text}
	case "410": // ERR_INVALIDCAPCMD
		if r.phase == capWaitLS {
			return false, r.noCAP()
		}
	case "421", "451": // unknown command / not registered
		if len(msg.Params) > 1 && strings.EqualFold(msg.Params[1], "CAP") && r.phase == capWaitLS {
			return false, r.noCAP()
		}
		if len(msg.Params) > 1 && strings.EqualFold(msg.Params[1], "AUTHENTICATE") {
			return false, &Error{Kind: KindSASL, Code: msg.Command, Text: "the server does not support AUTHENTICATE"}
		}
	case "432": // ERR_ERRONEUSNICKNAME
		if r.nick == r.cfg.Nick || len(r.nick) <= len(r.cfg.Nick) || r.maxNickLen != 0 {
			return false, &Error{Kind: KindNick, Code: msg.Command, Text: fmt.Sprintf("%q: %s", r.nick, lastParam(msg))}
		}
		// A lengthened fallback was refused: assume the original's
		// length is the limit and shorten the fallbacks to it.
		r.maxNickLen = len(r.cfg.Nick)
		r.nickAttempts--
		return false, r.nextNick(msg)
	case "433", "436", "437": // in use, collision, temporarily unavailable
		return false, r.nextNick(msg)
	case "464": // ERR_PASSWDMISMATCH
		if r.cfg.WebIRC != nil && r.cfg.Password == "" {
			// No PASS was sent: the password refused is the gateway's.
			return false, &Error{Kind: KindWebIRC, Code: msg.Command, Text: lastParam(msg)}
		}
		return false, &Error{Kind: KindPassword, Code: msg.Command, Text: lastParam(msg)}
	case "463", "465": // ERR_NOPERMFORHOST, ERR_YOUREBANNEDCREEP
		return false, &Error{Kind: KindBanned, Code: msg.Command, Text: lastParam(msg)}
	}
	return false, nil
}

// noCAP handles a server that rejected CAP: NICK and USER are already
// sent, so it will simply register us, unless SASL is mandatory.
func (r *registration) noCAP() error {
	r.phase = capDone
	if r.cfg.SASL != SASLNone {
		return &Error{Kind: KindSASL, Text: "the server does not support CAP, so SASL is impossible"}
	}
	return nil
}

func (r *registration) handleCAP(msg ircmsg.Message) error {
	if len(msg.Params) < 2 {
		return nil
	}
	sub := strings.ToUpper(msg.Params[1])
	more := len(msg.Params) > 3 && msg.Params[2] == "*"
	var list []capToken
	if len(msg.Params) > 2 { // "CAP * LS" without a list is an empty list
		list = parseCaps(lastParam(msg))
	}
	switch sub {
	case "LS":
		if r.phase != capWaitLS {
			return nil
		}
		if r.offered == nil {
			r.offered = map[string]string{}
		}
		for _, tok := range list {
			if len(r.offered) >= maxOffered {
				break // a server listing thousands of caps gets no more memory
			}
			r.offered[tok.name] = tok.value
		}
		if more {
			return nil
		}
		return r.requestCaps()
	case "ACK":
		r.c.mu.Lock()
		for _, tok := range list {
			if tok.disable {
				r.c.caps.Delete(tok.name)
			} else if r.requested[tok.name] {
				r.c.caps.Set(tok.name, true) // only what was asked for counts
				r.c.setCapValue(tok.name, r.offered[tok.name])
			}
		}
		r.c.mu.Unlock()
		if !more {
			return r.reqAnswered()
		}
	case "NAK":
		if more {
			return nil
		}
		if len(list) > 1 && !r.splitNAK {
			// A server refuses a combined REQ as a whole: ask again
			// for each capability alone, so one odd cap can't cost
			// us the others (or SASL).
			r.splitNAK = true
			for _, tok := range list {
				if !r.requested[tok.name] {
					continue // never ask for what the server made up
				}
				if err := r.write("CAP", "REQ", tok.name); err != nil {
					return err
				}
				r.pendingReq++
			}
		}
		return r.reqAnswered()
	}
	return nil
}

func (r *registration) requestCaps() error {
	var req []string
	if r.cfg.SASL != SASLNone {
		mechs, ok := r.offered["sasl"]
		if !ok {
			return &Error{Kind: KindSASL, Text: "the server does not offer SASL"}
		}
		mech, err := chooseMech(r.cfg, mechs)
		if errors.Is(err, errNotOffered) {
			return &Error{Kind: KindSASL, Text: fmt.Sprintf("the server offers SASL %s, not %s", mechs, r.cfg.SASL)}
		}
		if err != nil {
			return &Error{Kind: KindInternal, Text: "starting SASL", Err: err}
		}
		r.mech, r.saslIn = mech, ircutils.NewSASLBuffer(maxSASLChallenge)
		req = append(req, "sasl")
	}
	var others []string
	for name := range r.offered {
		if r.cfg.wants(name) {
			others = append(others, name)
		}
	}
	sort.Strings(others) // one line, the same every time
	req = append(req, others...)
	r.requested = map[string]bool{}
	for _, name := range req {
		r.requested[name] = true
	}
	if len(req) == 0 {
		r.phase = capDone
		return r.write("CAP", "END")
	}
	r.phase = capWaitReq
	r.pendingReq = 1
	return r.write("CAP", "REQ", strings.Join(req, " "))
}

// reqAnswered counts one ACK or NAK; when none are pending it starts SASL
// or ends capability negotiation.
func (r *registration) reqAnswered() error {
	if r.phase != capWaitReq {
		return nil
	}
	if r.pendingReq--; r.pendingReq > 0 {
		return nil
	}
	if r.cfg.SASL == SASLNone {
		r.phase = capDone
		return r.write("CAP", "END")
	}
	r.c.mu.RLock()
	acked := r.c.caps.Has("sasl")
	r.c.mu.RUnlock()
	if !acked {
		return &Error{Kind: KindSASL, Text: "the server refused the sasl capability"}
	}
	r.phase = capWaitSASL
	return r.write("AUTHENTICATE", r.mech.name())
}

// handleAuthenticate collects a server challenge (sent in 400-byte
// chunks) and answers it with the mechanism's next message.
func (r *registration) handleAuthenticate(msg ircmsg.Message) error {
	if r.phase != capWaitSASL || r.mech == nil || len(msg.Params) == 0 {
		return nil
	}
	complete, challenge, err := r.saslIn.Add(msg.Params[0])
	if err != nil {
		_ = r.write("AUTHENTICATE", "*")
		return &Error{Kind: KindSASL, Text: "the server sent a malformed SASL challenge", Err: err}
	}
	if !complete {
		return nil
	}
	raw, err := r.mech.next(challenge)
	if err != nil {
		_ = r.write("AUTHENTICATE", "*") // abort the exchange
		return &Error{Kind: KindSASL, Text: r.mech.name() + ": " + err.Error()}
	}
	for _, chunk := range ircutils.EncodeSASLResponse(raw) {
		if err := r.write("AUTHENTICATE", chunk); err != nil {
			return err
		}
	}
	return nil
}

// nextNick sends the next fallback after the server refused r.nick: nick_,
// nick__, then nick1, nick2, ...
func (r *registration) nextNick(msg ircmsg.Message) error {
	r.nickAttempts++
	if r.nickAttempts >= maxNickAttempts {
		return &Error{Kind: KindNick, Code: msg.Command, Text: fmt.Sprintf("nick %q and its fallbacks are all unavailable: %s", r.cfg.Nick, lastParam(msg))}
	}
	var suffix string
	switch r.nickAttempts {
	case 1:
		suffix = "_"
	case 2:
		suffix = "__"
	default:
		suffix = strconv.Itoa(r.nickAttempts - 2)
	}
	base := r.cfg.Nick
	if r.maxNickLen > 0 && len(base)+len(suffix) > r.maxNickLen {
		base = base[:max(1, r.maxNickLen-len(suffix))]
	}
	r.nick = base + suffix
	return r.write("NICK", r.nick)
}

func (r *registration) stage() string {
	switch {
	case r.welcomed:
		return "waiting for the end of the welcome burst"
	case r.phase == capWaitLS:
		return "waiting for the server's CAP LS reply or welcome"
	case r.phase == capWaitReq:
		return "waiting for the server's CAP ACK"
	case r.phase == capWaitSASL:
		return "waiting for the SASL result"
	default:
		return "waiting for the server's welcome (001)"
	}
}

func (r *registration) readErr(err error) error {
	if r.ctx.Err() != nil {
		e := ctxErr(r.ctx.Err(), r.stage())
		return e
	}
	if errors.Is(err, io.EOF) {
		return &Error{Kind: KindServer, Text: "while " + r.stage(), Err: err}
	}
	if errors.Is(err, errLineTooLong) {
		return &Error{Kind: KindProtocol, Text: "line too long", Err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ctxErr(context.DeadlineExceeded, r.stage())
	}
	return &Error{Kind: KindIO, Text: "reading while " + r.stage(), Err: err}
}

func (r *registration) write(cmd string, params ...string) error {
	m := ircmsg.MakeMessage(nil, "", cmd, params...)
	line, err := m.LineBytesStrict(true, maxLineLen)
	if err != nil {
		return &Error{Kind: KindConfig, Text: "cannot encode " + cmd, Err: err}
	}
	if _, err := r.c.nc.Write(line); err != nil {
		if r.ctx.Err() != nil {
			return ctxErr(r.ctx.Err(), r.stage())
		}
		return &Error{Kind: KindIO, Text: "writing " + cmd, Err: err}
	}
	return nil
}

// quit tells the server we are leaving after a failed registration. It is
// best effort: the socket is closed right after.
func (r *registration) quit() {
	if r.ctx.Err() == nil {
		r.c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		r.write("QUIT")
	}
}

// errorKind classifies an ERROR received during registration. Some
// servers (ngIRCd: "Access denied: Bad password?") refuse a password or a
// banned host with ERROR alone, without the 464 or 465 numeric.
func errorKind(text string) ErrorKind {
	t := strings.ToLower(text)
	switch {
	case strings.Contains(t, "password"):
		return KindPassword
	case strings.Contains(t, "banned"), strings.Contains(t, "k-lined"), strings.Contains(t, "g-lined"),
		strings.Contains(t, "z-lined"), strings.Contains(t, "d-lined"), strings.Contains(t, "klined"),
		strings.Contains(t, "glined"):
		return KindBanned
	}
	return KindServer
}

func lastParam(m ircmsg.Message) string {
	if len(m.Params) == 0 {
		return ""
	}
	return m.Params[len(m.Params)-1]
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

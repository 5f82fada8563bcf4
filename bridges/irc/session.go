package irc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircaddr"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircconn"
	"github.com/ferry-xmpp/ferry/bridges/irc/irctext"
	"github.com/ferry-xmpp/ferry/internal/netguard"
)

// connect dials one IRC server with the user's registration values.
func (b *Bridge) connect(ctx context.Context, jid, server string, v map[string]string, nick string) (*ircconn.Conn, error) {
	cfg, err := b.dialConfig(jid, server, v, nick)
	if err != nil {
		return nil, err
	}
	conn, err := b.dial(ctx, cfg)
	if err != nil {
		b.logDialError(server, err)
	}
	return conn, err
}

// dialConfig builds the connection settings for one user and server.
func (b *Bridge) dialConfig(jid, server string, v map[string]string, nick string) (ircconn.Config, error) {
	nw, ok := b.opts.network(server)
	if !ok {
		return ircconn.Config{}, bridges.Errorf(bridges.NotAllowed, "this gateway does not connect to %s", server)
	}
	return b.dialConfigFor(jid, nw, server, v, nick)
}

// dialConfigFor builds the connection settings for one user and one way
// to reach server (nw).
func (b *Bridge) dialConfigFor(jid string, nw Network, server string, v map[string]string, nick string) (ircconn.Config, error) {
	cfg := ircconn.Config{
		Addr: nw.Address, TLS: nw.TLS, Password: v["server_password"],
		Nick: nick, User: b.ident(jid, v, nick), Realname: nonEmpty(v["realname"], nick), WebIRC: b.webirc(nw, jid),
		Burst: b.opts.Burst, Rate: pace(b.opts.Rate), Caps: handledCaps,
		PingInterval: b.opts.PingInterval, PingTimeout: b.opts.PingTimeout,
	}
	if nw.TLS {
		cfg.TLSConfig = nw.tlsConfig()
	}
	if nw.UserNamed {
		// A server the user named may not lead into the operator's
		// network, whatever its name resolves to at each connection.
		host, _, _ := net.SplitHostPort(nw.Address)
		cfg.Dialer = b.opts.Hosts.Dialer(host).DialContext
	}
	cfg.Dialer = b.identDialer(cfg.Dialer, cfg.User)
	if cfg.Password == "" {
		cfg.Password = nw.Password
	}
	if nw.TLS && v["client_cert"] != "" {
		cert, err := clientCert(v["client_cert"])
		if err != nil {
			return cfg, &bridges.Error{Condition: bridges.InternalServer, Text: "your stored client certificate is unreadable; register again", Cause: err}
		}
		cfg.TLSConfig.Certificates = []tls.Certificate{cert}
	}
	switch {
	case v["sasl_mechanism"] == "EXTERNAL":
		if !nw.TLS {
			return cfg, bridges.Errorf(bridges.NotAcceptable, "SASL EXTERNAL needs TLS; %s is configured without it", server)
		}
		cfg.SASL, cfg.SASLUser = "EXTERNAL", v["sasl_user"]
	case v["sasl_password"] != "":
		cfg.SASL, cfg.SASLUser, cfg.SASLPass = "PLAIN", nonEmpty(v["sasl_user"], nick), v["sasl_password"]
	}
	return cfg, nil
}

// pace maps the operator's rate to ircconn's: 0 there means the default,
// while an operator's 0 switches pacing off.
func pace(rate float64) float64 {
	if rate == 0 {
		return -1
	}
	return rate
}

func nonEmpty(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// errorCondition turns a connection error into a condition and a text fit
// for the user.
func errorCondition(err error, server string) (bridges.Condition, string) {
	if unreachable(err) {
		return bridges.RemoteServerNotFnd, server + " cannot be reached from this gateway (check its name)"
	}
	var ie *ircconn.Error
	if !errors.As(err, &ie) {
		var be *bridges.Error
		if errors.As(err, &be) {
			return be.Condition, be.Text
		}
		return bridges.RemoteServerNotFnd, fmt.Sprintf("%s: %v", server, err)
	}
	text := fmt.Sprintf("%s: %s", server, strings.TrimPrefix(ie.Error(), "irc: "))
	switch ie.Kind {
	case ircconn.KindPassword, ircconn.KindSASL:
		return bridges.NotAuthorized, text
	case ircconn.KindBanned:
		return bridges.Forbidden, text
	case ircconn.KindWebIRC:
		return bridges.ServiceUnavailable, text + " (the gateway's operator must fix its configuration)"
	case ircconn.KindNick:
		return bridges.Conflict, text
	case ircconn.KindTimeout, ircconn.KindPingTimeout:
		return bridges.RemoteServerTmout, text
	default:
		return bridges.RemoteServerNotFnd, text
	}
}

func userError(err error, server string) error {
	cond, text := errorCondition(err, server)
	return &bridges.Error{Condition: cond, Text: text, Cause: err}
}

// address parses a puppet local part.
func (s *session) address(local string) (ircaddr.Address, error) {
	a, err := s.b.mapper.Parse(local, ircaddr.DefaultChanTypes)
	if err != nil {
		return a, bridges.Errorf(bridges.JIDMalformed, "%v", err)
	}
	return a, nil
}

// Send delivers a 1:1 message: to a nick, a room occupant, or a raw
// command when addressed to the server itself.
func (s *session) Send(ctx context.Context, m bridges.Message) error {
	a, err := s.address(m.Peer)
	if err != nil {
		return err
	}
	target := a.Target
	switch {
	case m.Resource != "" && a.Kind == ircaddr.Channel:
		target = m.Resource // private message to an occupant
	case a.Kind == ircaddr.Server:
		return s.raw(ctx, a.Server, m.Body, m.Sender)
	case a.Kind == ircaddr.Channel:
		return bridges.Errorf(bridges.BadRequest, "join %s to talk in it", a.Target)
	case a.Kind == ircaddr.Gateway:
		return bridges.Errorf(bridges.BadRequest, "no IRC server in that address")
	}
	n, err := s.network(a.Server, "")
	if err != nil {
		return err
	}
	var queueErr error
	if err := n.locked(ctx, func() { queueErr = n.sendOrQueue(target, m) }); err != nil {
		return sendError(err)
	}
	return queueErr
}

// sendError is what a user reads when a line could not be queued.
func sendError(err error) error {
	var be *bridges.Error
	if errors.As(err, &be) {
		return err
	}
	return &bridges.Error{Condition: bridges.RemoteServerTmout, Text: "not sent to IRC", Cause: err}
}

// raw sends each line of body as an IRC command: for power users. The
// answer goes to sender, the resource that sent it, where the server
// labels answers (labels.go).
func (s *session) raw(ctx context.Context, server, body, sender string) error {
	n, err := s.network(server, "")
	if err != nil {
		return err
	}
	var cmdErr error
	err = n.locked(ctx, func() {
		if n.conn == nil {
			cmdErr = bridges.Errorf(bridges.RemoteServerTmout, "not connected to %s yet", server)
			return
		}
		for _, line := range strings.FieldsFunc(body, func(r rune) bool { return r == '\n' || r == '\r' }) {
			m, err := ircmsg.ParseLineStrict(strings.TrimSpace(line), true, 0)
			if err != nil {
				cmdErr = bridges.Errorf(bridges.BadRequest, "not a valid IRC command: %v", err)
				n.lines = nil
				return
			}
			n.lines = append(n.lines, n.labelled(m, sender))
		}
	})
	if cmdErr != nil {
		return cmdErr
	}
	if err != nil {
		return sendError(err)
	}
	return nil
}

// IsRoom implements bridges.RoomAddresser.
func (b *Bridge) IsRoom(local string) bool {
	a, err := b.mapper.Parse(local, ircaddr.DefaultChanTypes)
	return err == nil && a.Kind == ircaddr.Channel
}

// room resolves a room local part to its network and channel name.
func (s *session) room(local, nick string) (*network, string, error) {
	a, err := s.address(local)
	if err != nil {
		return nil, "", err
	}
	if a.Kind != ircaddr.Channel {
		return nil, "", bridges.Errorf(bridges.BadRequest, "%s is not a channel", local)
	}
	n, err := s.network(a.Server, nick)
	return n, a.Target, err
}

// JoinRoom implements bridges.Rooms.
func (s *session) JoinRoom(ctx context.Context, local, nick, key string) error {
	return s.join(ctx, local, nick, key, nil)
}

// join joins a channel; prepare, if set, adjusts a channel not joined yet.
func (s *session) join(ctx context.Context, local, nick, key string, prepare func(*network, *channel)) error {
	n, name, err := s.room(local, nick)
	if err != nil {
		return err
	}
	var joinErr error
	err = n.locked(ctx, func() {
		if n.failed != nil {
			joinErr = userError(n.failed, n.server)
			return
		}
		folded := n.fold(name)
		if ch := n.channel(folded); ch != nil && ch.joined {
			n.reportJoined(ch)
			return
		}
		ch := &channel{name: name, local: local}
		if prepare != nil {
			prepare(n, ch)
		}
		n.channels.Set(folded, ch)
		n.wanted.Set(folded, key)
		if n.conn != nil {
			n.queue("JOIN", name, key)
		}
	})
	if joinErr != nil {
		return joinErr
	}
	return err
}

// LeaveRoom implements bridges.Rooms.
func (s *session) LeaveRoom(ctx context.Context, local, status string) error {
	n, name, err := s.room(local, "")
	if err != nil {
		return err
	}
	return n.locked(ctx, func() {
		folded := n.fold(name)
		n.wanted.Delete(folded)
		n.dropChannel(folded)
		if n.conn != nil && n.queueWithText(name, "PART", []string{name}, reasonText(status)) != nil {
			n.queue("PART", name) // a reason the channel's encoding cannot write: leave without it
		}
	})
}

// SendRoom implements bridges.Rooms.
func (s *session) SendRoom(ctx context.Context, local string, m bridges.Message) error {
	n, name, err := s.room(local, "")
	if err != nil {
		return err
	}
	var queueErr error
	err = n.locked(ctx, func() {
		if n.channel(n.fold(name)) == nil {
			queueErr = bridges.Errorf(bridges.NotAcceptable, "not in %s", name)
			return
		}
		queueErr = n.sendOrQueue(name, m)
	})
	if queueErr != nil {
		return queueErr
	}
	if err != nil {
		return sendError(err)
	}
	return nil
}

// SetSubject implements bridges.Rooms.
func (s *session) SetSubject(ctx context.Context, local, subject string) error {
	n, name, err := s.room(local, "")
	if err != nil {
		return err
	}
	var refused error
	err = n.locked(ctx, func() {
		if n.conn != nil {
			refused = n.queueWithText(name, "TOPIC", []string{name}, reasonText(subject))
		}
	})
	if err != nil {
		return err
	}
	return refused
}

// ChangeNick implements bridges.Rooms: IRC nicks are per network.
func (s *session) ChangeNick(ctx context.Context, local, nick string) error {
	if !validNick(nick) {
		return bridges.Errorf(bridges.NotAcceptable, "%q is not a valid IRC nickname", nick)
	}
	n, _, err := s.room(local, "")
	if err != nil {
		return err
	}
	return n.locked(ctx, func() {
		if n.conn != nil {
			n.queue("NICK", nick)
		}
	})
}

// Moderate implements bridges.Moderation: kick, voice, op and ban.
func (s *session) Moderate(ctx context.Context, local, nick, role, affiliation, reason string) error {
	n, name, err := s.room(local, "")
	if err != nil {
		return err
	}
	if !validNick(nick) {
		return bridges.Errorf(bridges.BadRequest, "%q is not a nick", nick)
	}
	var cmd []string
	switch {
	case affiliation == "outcast":
		cmd = []string{"MODE", name, "+b", nick + "!*@*"}
	case role == "none":
		cmd = []string{"KICK", name, nick}
	case role == "moderator":
		cmd = []string{"MODE", name, "+o", nick}
	case role == "participant":
		cmd = []string{"MODE", name, "+v", nick}
	case role == "visitor":
		cmd = []string{"MODE", name, "-v", nick}
	case affiliation == "admin" || affiliation == "owner":
		cmd = []string{"MODE", name, "+o", nick}
	case affiliation == "member" || affiliation == "none":
		cmd = []string{"MODE", name, "-o", nick}
	default:
		return bridges.Errorf(bridges.BadRequest, "unsupported change")
	}
	var notSent error
	err = n.locked(ctx, func() {
		if n.conn == nil {
			notSent = bridges.Errorf(bridges.RemoteServerTmout, "not connected to %s", n.server)
			return
		}
		if cmd[0] == "KICK" {
			notSent = n.queueWithText(name, "KICK", cmd[1:], reasonText(reason))
			return
		}
		n.queue(cmd[0], cmd[1:]...)
		if affiliation == "outcast" && role == "" {
			// A ban also removes the user, as XEP-0045 expects.
			notSent = n.queueWithText(name, "KICK", []string{name, nick}, reasonText(reason))
		}
	})
	if notSent != nil {
		return notSent
	}
	if err != nil {
		return sendError(err)
	}
	return nil
}

// Invite implements bridges.Inviter.
func (s *session) Invite(ctx context.Context, local, peer, _ string) error {
	n, name, err := s.room(local, "")
	if err != nil {
		return err
	}
	a, err := s.address(peer)
	if err != nil {
		return err
	}
	if a.Kind != ircaddr.User || a.Server != n.server {
		return bridges.Errorf(bridges.BadRequest, "invite a user of the same IRC server")
	}
	return n.locked(ctx, func() {
		if n.conn != nil {
			n.queue("INVITE", a.Target, name)
		}
	})
}

// reasonText makes free text (a part or kick reason, a topic, an away
// message) safe as a trailing IRC parameter: line breaks become spaces,
// NUL goes, and it is cut on a character boundary to what fits a line.
func reasonText(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ", "\x00", "").Replace(s)
	return irctext.Truncate(s, 300)
}

// unreachable reports an address the host policy refused: the user reads
// the same text for every refused or missing host, so nobody can map the
// operator's network through the gateway.
func unreachable(err error) bool {
	var refused *netguard.Refused
	var dns *net.DNSError
	return errors.As(err, &refused) || errors.As(err, &dns)
}

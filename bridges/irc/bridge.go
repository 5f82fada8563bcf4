// Package irc is the IRC bridge: each XMPP user gets one puppeted IRC
// connection per IRC server, shared by all their resources; channels are
// XEP-0045 rooms and nicks are 1:1 chats, addressed as biboumi does.
package irc

import (
	"context"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircaddr"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircconn"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircident"
	"github.com/ferry-xmpp/ferry/internal/identd"
	"github.com/ferry-xmpp/ferry/internal/netpoll"
	"github.com/ferry-xmpp/ferry/internal/ratelimit"
	"github.com/ferry-xmpp/ferry/internal/supervise"
	"github.com/ferry-xmpp/ferry/registry"
)

// Kind is the config kind of this bridge.
const Kind = "irc"

// Bridge is the IRC bridge for one transport domain.
type Bridge struct {
	domain string
	opts   Options
	log    *slog.Logger
	sup    *supervise.Supervisor
	mapper ircaddr.Mapper
	// dial is ircconn.Dial; tests may replace it.
	dial func(ctx context.Context, cfg ircconn.Config) (*ircconn.Conn, error)
	// logins paces the logins made for users, per user and per network
	// (loginKeys).
	logins *ratelimit.Limiter
	// limits counts connections for the operator's limits (limits.go).
	limits *connLimits
	// idents are the connections the identd answers for, identLn its
	// listener between Listen and Run (identd.go).
	idents  *identd.Table
	identLn net.Listener
	// store remembers who has seen a network's banner (banner.go); nil
	// when the configuration is only being checked.
	store registry.Store
	// poller watches idle connections (nil: a goroutine reads each).
	poller *netpoll.Poller
	// isupports lets the connections to one server share their ISupport.
	isupports sharedISupports
}

// Factory builds the bridge from [transport.options].
func Factory(domain string, raw map[string]any, deps bridges.Deps) (bridges.Bridge, error) {
	opts, err := parseOptions(raw)
	if err != nil {
		return nil, err
	}
	return &Bridge{domain: domain, opts: opts, log: deps.LoggerOr(), sup: deps.Supervisor,
		mapper: ircaddr.Mapper{Domain: domain, FixedServer: opts.FixedServer}, dial: ircconn.Dial,
		logins: ratelimit.New(ratelimit.Real), limits: newConnLimits(), idents: identd.NewTable(), store: deps.Store, poller: deps.Poller}, nil
}

// Describe declares the registration: the user's IRC defaults.
func (b *Bridge) Describe() bridges.Descriptor {
	server := bridges.Field{Var: "server", Label: "Default IRC server", Type: bridges.TextSingle,
		Desc: "Used when an address names no server, and to check your SASL login."}
	if len(b.opts.Networks) > 0 {
		server.Type = bridges.ListSingle
		for name := range b.opts.Networks {
			server.Options = append(server.Options, bridges.Option{Label: name, Value: name})
		}
		if b.opts.AllowOtherServers {
			server.Type, server.Options = bridges.TextSingle, nil
		}
	}
	// The nick and the server are what people answer; the rest has
	// defaults and is asked in chat only by "register advanced".
	fields := []bridges.Field{
		{Var: "nick", Label: "Nickname", Type: bridges.TextSingle, Required: true, Legacy: "nick"},
	}
	quick := []string{"nick"}
	if b.opts.FixedServer == "" {
		fields = append(fields, server)
		quick = append(quick, "server")
	}
	fields = append(fields,
		bridges.Field{Var: "username", Label: "User name (ident)", Type: bridges.TextSingle, Legacy: "username", Advanced: true,
			Desc: "Empty: your nickname."},
		bridges.Field{Var: "realname", Label: "Real name", Type: bridges.TextSingle, Legacy: "name", Advanced: true,
			Desc: "Empty: your nickname."},
		bridges.Field{Var: "sasl_user", Label: "SASL account", Type: bridges.TextSingle, Advanced: true,
			Desc: "Your services account (NickServ), if you have one."},
		bridges.Field{Var: "sasl_password", Label: "SASL password", Type: bridges.TextPrivate, Legacy: "password", Advanced: true},
		bridges.Field{Var: "sasl_mechanism", Label: "SASL mechanism", Type: bridges.ListSingle, Default: "PLAIN", Advanced: true,
			Desc:    "EXTERNAL logs in with your Ferry client certificate once its fingerprint is on your account (NickServ CERT ADD).",
			Options: []bridges.Option{{Label: "Password (SCRAM-SHA-256 where the server offers it, else PLAIN)", Value: "PLAIN"}, {Label: "EXTERNAL (certificate)", Value: "EXTERNAL"}}},
		bridges.Field{Var: "client_cert", Type: bridges.TextPrivate, Hidden: true},
		bridges.Field{Var: "server_password", Label: "Server password", Type: bridges.TextPrivate, Advanced: true,
			Desc: "Only for servers that require one (PASS)."},
		bridges.Field{Var: "on_connect", Label: "Commands after connecting", Type: bridges.TextSingle, Advanced: true,
			Desc: "Raw IRC commands separated by ';', e.g. PRIVMSG NickServ :IDENTIFY pw"},
	)
	return bridges.Descriptor{
		Kind: Kind, Name: "IRC", IdentityType: "irc",
		Instructions: "Choose your IRC nickname. Join channels as rooms: #channel%irc.server@" + b.domain +
			"; chat with nick%irc.server@" + b.domain + ".",
		Fields:        fields,
		GatewayDesc:   "Enter an IRC channel (#chan) or nick, optionally followed by %server",
		GatewayPrompt: "Channel or nick",
		// A connection lives while the user is online or in a room, as
		// biboumi's do; staying on the networks while offline (a bouncer)
		// is the user's choice (set stay_connected yes).
		StayConnected: false,
		// IRC has no store to fetch a private message from again.
		VolatileInbound: true,
		// IRCv3 client tags and read markers, on servers that have them.
		Signals:      true,
		QuickFields:  quick,
		HistoryLines: b.opts.HistoryLines,
		HistoryDays:  b.opts.HistoryDays,
		// Per room.
		HistoryMessages: b.opts.HistoryMessages,
		PublicHistory:   b.publicHistory,
	}
}

// publicHistory reports whether the operator opened the history of the
// room's network to every registered user.
func (b *Bridge) publicHistory(room string) bool {
	a, err := b.mapper.Parse(room, ircaddr.DefaultChanTypes)
	return err == nil && a.Kind == ircaddr.Channel && b.opts.publicHistory(a.Server)
}

// CheckField checks one answer of the chat registration as it is given.
func (b *Bridge) CheckField(_ context.Context, field, value string, _ map[string]string) (string, error) {
	switch field {
	case "nick":
		if !validNick(value) {
			return "", bridges.Errorf(bridges.NotAcceptable, "%q is not a valid IRC nickname: "+nickRules, value)
		}
	case "server":
		server := strings.ToLower(value)
		if server == "" {
			return "", nil
		}
		if _, ok := b.opts.network(server); !ok {
			return "", bridges.Errorf(bridges.NotAllowed, "this gateway does not connect to %s%s", server, b.serverChoices())
		}
		return server, nil
	case "on_connect", "sasl_user", "username", "realname":
		if strings.ContainsAny(value, "\r\n\x00") {
			return "", bridges.Errorf(bridges.NotAcceptable, "must be one line")
		}
	}
	return value, nil
}

// nickRules says what validNick wants.
const nickRules = "up to 64 characters, no spaces or any of , * ? ! @ . # & : $, not starting with a digit or -"

// serverChoices lists the servers a user may pick, when there is a list.
func (b *Bridge) serverChoices() string {
	if b.opts.AllowOtherServers || len(b.opts.Networks) == 0 {
		return ""
	}
	var names []string
	for name := range b.opts.Networks {
		names = append(names, name)
	}
	sort.Strings(names)
	return " (choose one of: " + strings.Join(names, ", ") + ")"
}

// Validate checks the nick and, where credentials are given, logs in.
func (b *Bridge) Validate(ctx context.Context, r bridges.Registration) (map[string]string, error) {
	v := r.Values
	nick := strings.TrimSpace(v["nick"])
	if err := checkValues(v, nick); err != nil {
		return nil, err
	}
	server := b.opts.FixedServer
	if server == "" {
		server = strings.ToLower(v["server"])
	}
	if server != "" {
		nw, ok := b.opts.network(server)
		if !ok {
			return nil, bridges.Errorf(bridges.NotAllowed, "this gateway does not connect to %s", server)
		}
		if nw.UserNamed {
			host, _, _ := net.SplitHostPort(nw.Address)
			if err := b.opts.Hosts.CheckHost(ctx, net.DefaultResolver, host); err != nil {
				return nil, userError(err, server)
			}
		}
	}
	external := v["sasl_mechanism"] == "EXTERNAL"
	if v["sasl_user"] != "" && v["sasl_password"] == "" && !external {
		return nil, bridges.Errorf(bridges.NotAcceptable, "SASL password is required with a SASL account")
	}
	if v["client_cert"] == "" {
		pair, err := newClientCert(nick)
		if err != nil {
			return nil, &bridges.Error{Condition: bridges.InternalServer, Text: "could not make your client certificate", Cause: err}
		}
		v["client_cert"] = pair
	}
	if external && server != "" {
		if nw, _ := b.opts.network(server); !nw.TLS {
			return nil, bridges.Errorf(bridges.NotAcceptable, "SASL EXTERNAL needs a TLS connection; %s is configured without TLS", server)
		}
	}
	// Log in for real where credentials can be checked (EXTERNAL cannot
	// succeed before the fingerprint is on the account: it is checked at
	// connection time instead).
	if server != "" && !external && (v["sasl_password"] != "" || v["server_password"] != "") {
		if d := b.logins.Take(b.loginKeys(r.JID, server)...); d != nil {
			return nil, b.tooManyLogins(d, server)
		}
		conn, err := b.connect(ctx, r.JID, server, v, nick)
		if err != nil {
			return nil, userError(err, server)
		}
		_ = conn.Close(ctx, "Checking your login")
	}
	return v, nil
}

// MapPrompt maps "#chan", "nick" or "nick%server" to a puppet local part.
func (b *Bridge) MapPrompt(_ context.Context, prompt string) (string, error) {
	def := b.opts.FixedServer
	for name := range b.opts.Networks {
		if def == "" {
			def = name
		}
	}
	a, err := b.mapper.FromPrompt(prompt, def, ircaddr.DefaultChanTypes)
	if err != nil {
		return "", bridges.Errorf(bridges.JIDMalformed, "%v", err)
	}
	return b.mapper.LocalPart(a)
}

// Open starts a session; connections open when a room or chat needs one,
// and for the default server at once.
func (b *Bridge) Open(ctx context.Context, acct bridges.Account, sink bridges.Events) (bridges.Session, error) {
	s := &session{b: b, acct: acct, sink: sink, networks: map[string]*network{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if def := b.defaultServer(acct.Values); def != "" {
		if _, err := s.network(def, ""); err != nil {
			sink.Status(bridges.Failed, err.Error())
		}
	} else {
		sink.Status(bridges.Connected, "Ready: join #channel%server")
	}
	return s, nil
}

func (b *Bridge) defaultServer(v map[string]string) string {
	if b.opts.FixedServer != "" {
		return b.opts.FixedServer
	}
	return strings.ToLower(v["server"])
}

// session is one XMPP user's IRC presence: a network per server.
type session struct {
	b      *Bridge
	acct   bridges.Account
	sink   bridges.Events
	ctx    context.Context
	cancel context.CancelFunc

	mu          sync.Mutex
	networks    map[string]*network
	closed      bool
	quitMessage string
}

// network returns the user's connection to server, starting it if needed.
// nick overrides the registered nick for a connection a join opens.
func (s *session) network(server, nick string) (*network, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, bridges.Errorf(bridges.ServiceUnavailable, "session closed")
	}
	if n := s.networks[server]; n != nil {
		return n, nil
	}
	cfg, ok := s.b.opts.network(server)
	if !ok {
		return nil, bridges.Errorf(bridges.NotAllowed, "this gateway does not connect to %s", server)
	}
	if set := s.acct.Addresses[server][setNick]; set != "" {
		nick = set // the nick set for the network wins over the room's
	}
	if nick == "" {
		nick = s.acct.Values["nick"]
	}
	n, err := s.startNetwork(server, cfg, nick)
	if err != nil {
		return nil, err
	}
	s.networks[server] = n
	return n, nil
}

// Close quits every network with why as the QUIT message and waits for
// them (bounded by ctx).
func (s *session) Close(ctx context.Context, why string) error {
	s.mu.Lock()
	s.closed = true
	s.quitMessage = reasonText(why)
	nets := make([]*network, 0, len(s.networks))
	for _, n := range s.networks {
		nets = append(nets, n)
	}
	s.mu.Unlock()
	s.cancel()
	for _, n := range nets {
		select {
		case <-n.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// quit is the QUIT message the session closes with.
func (s *session) quit() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.quitMessage
}

func validNick(nick string) bool { return ircident.CheckNick(nick) == nil }

// ImplicitRegistration lets a user join a channel before registering: the
// nick they join with (or their JID's local part) becomes their IRC nick.
func (b *Bridge) ImplicitRegistration(userJID, nickHint string) (map[string]string, bool) {
	if b.opts.RequireRegistration {
		return nil, false
	}
	nick := nickHint
	if !validNick(nick) {
		nick, _, _ = strings.Cut(userJID, "@")
		nick = strings.Map(func(r rune) rune {
			if r < 0x80 && (r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return r
			}
			return -1
		}, nick)
		if !validNick(nick) {
			nick = "ferry" + nick
		}
	}
	return map[string]string{"nick": nick}, true
}

package irc

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/bridges/irc/ircconn"
	"github.com/ferry-xmpp/ferry/bridges/options"
	"github.com/ferry-xmpp/ferry/internal/netguard"
	"github.com/ferry-xmpp/ferry/internal/ratelimit"
)

// Options are the operator's settings for an IRC transport, read from the
// transport's [transport.options] table.
type Options struct {
	// FixedServer serves one network: JIDs drop the %server part.
	FixedServer string
	// Networks are predefined servers, by the name used in JIDs.
	Networks map[string]Network
	// AllowOtherServers lets users reach servers not in Networks.
	AllowOtherServers bool
	// RequireRegistration refuses joins from unregistered users instead of
	// registering them implicitly with defaults.
	RequireRegistration bool
	// HistoryLines is how many archived lines a client joining a room
	// gets when it does not ask for a number itself.
	HistoryLines int
	// HistoryDays and HistoryMessages bound how much room history is
	// kept (by age, and per room); 0 keeps everything.
	HistoryDays, HistoryMessages int
	// PublicHistory opens the whole history of every network's channels
	// to every registered user (a network's own public_history opens
	// that network's alone); off, users read only what was said while
	// they were in a channel.
	PublicHistory bool
	Burst         int
	// Rate is lines per second after the burst; 0 switches pacing off
	// (for a network of the operator's own that trusts the gateway).
	Rate         float64
	PingInterval time.Duration
	PingTimeout  time.Duration
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// LoginPerUser and LoginPerNetwork bound the logins Ferry makes for
	// users (registration checks; see Bridge.loginKeys), so that a burst
	// of registrations cannot get the gateway's address banned.
	LoginPerUser    ratelimit.Limit
	LoginPerNetwork ratelimit.Limit
	// Hosts is what servers users name themselves (allow_other_servers)
	// may resolve to: public addresses, plus what allowed_private_hosts
	// lists. Networks the operator lists are not vetted.
	Hosts *netguard.Policy
	// Operator is what a public gateway's operator sets (operator.go).
	Operator Operator
}

// Network is how to reach one IRC server.
type Network struct {
	Name     string // as in JIDs: #chan%Name@gw
	Address  string // host:port
	TLS      bool
	RootCAs  *x509.CertPool // from ca_file; nil = system roots
	Password string         // server password for everyone (rare)
	// PublicHistory opens the whole history of this network's channels
	// to every registered user (see Options.PublicHistory).
	PublicHistory bool
	// UserNamed is a server a user named (allow_other_servers), not one
	// the operator listed: its addresses are vetted (Options.Hosts).
	UserNamed bool
	// Operator is the operator's WEBIRC, limit and banner (operator.go).
	Operator NetworkOperator
}

func defaultOptions() Options {
	return Options{
		Networks:          map[string]Network{},
		AllowOtherServers: true,
		HistoryLines:      20,
		// biboumi's pacing, which every public network tolerates: a user
		// who types a line a second never waits.
		Burst:        ircconn.DefaultBurst,
		Rate:         ircconn.DefaultRate,
		PingInterval: 90 * time.Second,
		PingTimeout:  60 * time.Second,
		ReconnectMin: 2 * time.Second,
		ReconnectMax: 5 * time.Minute,
		// A user retrying a mistyped password a few times never waits; a
		// network sees at most ten logins at once from the gateway, then
		// ten a minute.
		LoginPerUser:    ratelimit.Limit{Burst: 3, Every: 20 * time.Second},
		LoginPerNetwork: ratelimit.Limit{Burst: 10, Every: 6 * time.Second},
	}
}

// parseOptions validates the raw table; every error names its key.
func parseOptions(raw map[string]any) (Options, error) {
	o := defaultOptions()
	p := &options.Problems{}
	explicitAllow := false
	var allowedHosts []string
	for key, v := range raw {
		switch key {
		case "fixed_server":
			o.FixedServer, _ = v.(string)
			if !validHost(o.FixedServer) {
				p.Bad(key, "must be a server name")
			}
		case "allow_other_servers":
			p.Bool(key, v, &o.AllowOtherServers)
			explicitAllow = true
		case "require_registration":
			p.Bool(key, v, &o.RequireRegistration)
		case "history_lines":
			p.Int(key, v, 0, 1000, &o.HistoryLines)
		case "history_days":
			p.Int(key, v, 0, 100000, &o.HistoryDays)
		case "history_messages":
			p.Int(key, v, 0, 1000000000, &o.HistoryMessages)
		case "public_history":
			p.Bool(key, v, &o.PublicHistory)
		case "burst":
			p.Int(key, v, 1, 100, &o.Burst)
		case "rate":
			f, ok := toFloat(v)
			if !ok || f < 0 || f > 1000 {
				p.Bad(key, "must be a number of lines per second from 0 (pacing off) to 1000")
			}
			o.Rate = f
		case "ping_interval", "ping_timeout", "reconnect_min", "reconnect_max":
			p.Duration(key, v, "60s", map[string]*time.Duration{"ping_interval": &o.PingInterval, "ping_timeout": &o.PingTimeout,
				"reconnect_min": &o.ReconnectMin, "reconnect_max": &o.ReconnectMax}[key])
		case "login_limit_user":
			p.Limit(key, v, &o.LoginPerUser)
		case "login_limit_network":
			p.Limit(key, v, &o.LoginPerNetwork)
		case "allowed_private_hosts":
			p.Strings(key, v, &allowedHosts)
		case "network":
			list, ok := v.([]map[string]any)
			if !ok {
				if anyList, isList := v.([]any); isList {
					for _, item := range anyList {
						if m, isMap := item.(map[string]any); isMap {
							list = append(list, m)
						}
					}
					ok = len(list) == len(anyList)
				}
			}
			if !ok {
				p.Bad(key, "must be [[transport.options.network]] tables")
				continue
			}
			for i, m := range list {
				if n, ok := parseNetwork(p, fmt.Sprintf("network[%d].", i), m); ok {
					o.Networks[n.Name] = n
				}
			}
		default:
			if !o.Operator.parse(p, key, v) {
				p.Unknown(key, optionKeys)
			}
		}
	}
	o.Operator.check(p, o.Networks)
	if o.FixedServer != "" {
		o.AllowOtherServers = false
	} else if !explicitAllow && len(o.Networks) > 0 {
		o.AllowOtherServers = false
	}
	if o.ReconnectMin > o.ReconnectMax {
		p.Bad("reconnect_min", "must not exceed reconnect_max")
	}
	hosts, err := netguard.NewPolicy(false, allowedHosts)
	if err != nil {
		p.Bad("allowed_private_hosts", "%v", err)
	}
	o.Hosts = hosts
	return o, p.Err()
}

// optionKeys and networkKeys are the keys parseOptions and parseNetwork
// know, for "did you mean" hints (a test keeps them in step).
var (
	optionKeys = []string{"fixed_server", "allow_other_servers", "require_registration", "history_lines", "history_days", "history_messages", "public_history", "burst", "rate",
		"ping_interval", "ping_timeout", "reconnect_min", "reconnect_max", "network", "user_hash_key", "identd_listen", "ident",
		"max_networks_per_user", "max_connections_per_network"}
	networkKeys = []string{"name", "address", "tls", "password", "ca_file", "public_history",
		"webirc_password", "webirc_gateway", "webirc_ip", "webirc_host_suffix", "max_connections", "banner"}
)

// parseNetwork reads one [[transport.options.network]] table, adding every
// problem under prefix ("network[0]."); ok is false when it has any.
func parseNetwork(p *options.Problems, prefix string, m map[string]any) (Network, bool) {
	n := Network{TLS: true}
	before := p.Err()
	bad := func(key, format string, args ...any) { p.Bad(prefix+key, format, args...) }
	for key, v := range m {
		switch key {
		case "name":
			p.String(prefix+key, v, &n.Name)
		case "address":
			p.String(prefix+key, v, &n.Address)
		case "tls":
			p.Bool(prefix+key, v, &n.TLS)
		case "password":
			p.String(prefix+key, v, &n.Password)
		case "public_history":
			p.Bool(prefix+key, v, &n.PublicHistory)
		case "ca_file":
			path, _ := v.(string)
			pem, err := os.ReadFile(path)
			if err != nil {
				bad(key, "%v", err)
				continue
			}
			n.RootCAs = x509.NewCertPool()
			if !n.RootCAs.AppendCertsFromPEM(pem) {
				bad(key, "no certificate in %s", path)
			}
		default:
			if !n.Operator.parse(p, prefix, key, v) {
				p.Unknown(prefix+key, networkKeys)
			}
		}
	}
	n.Operator.check(p, prefix)
	n.Name = strings.ToLower(n.Name)
	if !validHost(n.Name) {
		bad("name", "must be a server name such as irc.libera.chat")
	}
	if n.Address == "" {
		n.Address = defaultAddress(n.Name, n.TLS)
	}
	if _, port, err := net.SplitHostPort(n.Address); err != nil || port == "" {
		bad("address", "must be host:port, such as irc.libera.chat:6697")
	}
	return n, problemCount(p.Err()) == problemCount(before)
}

func problemCount(err error) int {
	if e, ok := err.(*options.Error); ok {
		return len(e.Problems)
	}
	return 0
}

// network returns how to reach server: predefined, or by default on 6697
// with TLS when the operator allows other servers.
func (o Options) network(server string) (Network, bool) {
	if n, ok := o.Networks[server]; ok {
		return n, true
	}
	if !o.AllowOtherServers || !validHost(server) {
		return Network{}, false
	}
	return Network{Name: server, Address: defaultAddress(server, true), TLS: true, UserNamed: true,
		Operator: NetworkOperator{MaxConnections: o.Operator.MaxConnections}}, true
}

// publicHistory reports whether the history of channels on server is
// open to every registered user.
func (o Options) publicHistory(server string) bool {
	return o.PublicHistory || o.Networks[server].PublicHistory
}

func defaultAddress(host string, useTLS bool) string {
	if useTLS {
		return net.JoinHostPort(host, "6697")
	}
	return net.JoinHostPort(host, "6667")
}

// tlsConfig verifies the server's certificate against the host dialled,
// or against the network's name when the address is a bare IP.
func (n Network) tlsConfig() *tls.Config {
	host, _, _ := net.SplitHostPort(n.Address)
	if net.ParseIP(host) != nil && net.ParseIP(n.Name) == nil {
		host = n.Name
	}
	return &tls.Config{ServerName: host, RootCAs: n.RootCAs, MinVersion: tls.VersionTLS12}
}

func validHost(s string) bool {
	if s == "" || len(s) > 253 || strings.ContainsAny(s, " \t\r\n%@/:,") {
		return false
	}
	if net.ParseIP(s) != nil {
		return true
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return false
		}
	}
	return true
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

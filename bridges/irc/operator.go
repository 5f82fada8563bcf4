package irc

import (
	"net"
	"strconv"
	"strings"

	"github.com/ferry-xmpp/ferry/bridges/options"
)

// Operator holds the options of a public gateway that are the operator's
// alone (issue 11, item 3): how users are identified to networks that
// trust the gateway, and how many connections they may hold.
type Operator struct {
	// UserHashKey keys the hashes that name users to IRC networks (WEBIRC
	// host names, hashed idents) without revealing their JIDs: without the
	// key nobody can test a guessed JID against a host name.
	UserHashKey string
	// IdentdListen is where the identd listens (host:port); "" = no identd.
	IdentdListen string
	// Ident is what the identd answers and USER carries: identUsername
	// (the user's username setting, else their nick) or identHashed.
	Ident string
	// MaxNetworksPerUser bounds the networks one user is connected to at
	// once; 0 = no bound.
	MaxNetworksPerUser int
	// MaxConnections bounds the users connected to one server a user
	// named (allow_other_servers); listed networks have their own bound.
	// 0 = no bound.
	MaxConnections int
}

// NetworkOperator is the operator's settings for one listed network.
type NetworkOperator struct {
	// WebIRCPassword, when set, sends WEBIRC before registering.
	WebIRCPassword string
	// WebIRCGateway is WEBIRC's gateway parameter (ngIRCd shows it as the
	// user name).
	WebIRCGateway string
	// WebIRCIP is the address sent for every user: XMPP tells Ferry no
	// user's address, so it is the gateway's own.
	WebIRCIP string
	// WebIRCHostSuffix follows each user's hash in the host name sent;
	// "" = "users." + the transport's domain.
	WebIRCHostSuffix string
	// MaxConnections bounds Ferry's connections to this network (one per
	// user); 0 = no bound.
	MaxConnections int
	// Banner is shown once to each user of the network, the first time
	// they register for it or join a room on it.
	Banner string
}

const (
	identUsername = "username"
	identHashed   = "hashed"
	// minHashKey is the shortest user_hash_key taken: a short key could
	// be guessed, and then every host name tested against guessed JIDs.
	minHashKey = 16
	// maxBanner bounds a banner: it is a message, not a document.
	maxBanner = 4000
)

// parse reads one transport-level operator option; false when
// key is not one.
func (o *Operator) parse(p *options.Problems, key string, v any) bool {
	switch key {
	case "user_hash_key":
		p.String(key, v, &o.UserHashKey)
		if len(o.UserHashKey) < minHashKey {
			p.Bad(key, "must be a secret of at least %d characters", minHashKey)
		}
	case "identd_listen":
		p.String(key, v, &o.IdentdListen)
		if _, port, err := net.SplitHostPort(o.IdentdListen); err != nil || !validPort(port) {
			p.Bad(key, "must be host:port, such as \"0.0.0.0:113\" or \":1113\"")
		}
	case "ident":
		p.String(key, v, &o.Ident)
		if o.Ident != identUsername && o.Ident != identHashed {
			p.Bad(key, "must be %q (the user's username setting, else their nick) or %q", identUsername, identHashed)
		}
	case "max_networks_per_user":
		p.Int(key, v, 0, 10000, &o.MaxNetworksPerUser)
	case "max_connections_per_network":
		p.Int(key, v, 0, 1000000, &o.MaxConnections)
	default:
		return false
	}
	return true
}

// parse reads one operator option of a network table (keys under prefix);
// false when key is not one.
func (n *NetworkOperator) parse(p *options.Problems, prefix, key string, v any) bool {
	switch key {
	case "webirc_password":
		p.String(prefix+key, v, &n.WebIRCPassword)
		if n.WebIRCPassword == "" || !ircParam(n.WebIRCPassword) {
			p.Bad(prefix+key, "must be one word without spaces")
		}
	case "webirc_gateway":
		p.String(prefix+key, v, &n.WebIRCGateway)
		if n.WebIRCGateway == "" || !ircParam(n.WebIRCGateway) || len(n.WebIRCGateway) > 32 {
			p.Bad(prefix+key, "must be one word without spaces, up to 32 characters")
		}
	case "webirc_ip":
		p.String(prefix+key, v, &n.WebIRCIP)
		if net.ParseIP(n.WebIRCIP) == nil {
			p.Bad(prefix+key, "must be an IP address (the gateway's own)")
		}
	case "webirc_host_suffix":
		p.String(prefix+key, v, &n.WebIRCHostSuffix)
		if !validHost(n.WebIRCHostSuffix) || net.ParseIP(n.WebIRCHostSuffix) != nil {
			p.Bad(prefix+key, "must be a domain name such as users.irc.example.org")
		}
	case "max_connections":
		p.Int(prefix+key, v, 0, 1000000, &n.MaxConnections)
	case "banner":
		p.String(prefix+key, v, &n.Banner)
		if len(n.Banner) > maxBanner {
			p.Bad(prefix+key, "must be at most %d bytes", maxBanner)
		}
	default:
		return false
	}
	return true
}

// check reports what the transport-level operator options need: every
// problem names the option to set.
func (o *Operator) check(p *options.Problems, networks map[string]Network) {
	if o.Ident == "" {
		o.Ident = identUsername
	}
	if o.Ident == identHashed && o.UserHashKey == "" {
		p.Bad("user_hash_key", "must be set when ident is %q", identHashed)
	}
	for _, n := range networks {
		if n.Operator.WebIRCPassword != "" && o.UserHashKey == "" {
			p.Bad("user_hash_key", "must be set when a network has webirc_password (it keys each user's host name)")
			return
		}
	}
}

// check reports what a network's operator options need of each other.
func (n *NetworkOperator) check(p *options.Problems, prefix string) {
	if n.WebIRCPassword == "" {
		if n.WebIRCIP != "" || n.WebIRCGateway != "" || n.WebIRCHostSuffix != "" {
			p.Bad(prefix+"webirc_password", "must be set with the other webirc_ options")
		}
		return
	}
	if n.WebIRCIP == "" {
		p.Bad(prefix+"webirc_ip", "must be set with webirc_password (the gateway's address the network trusts)")
	}
	if n.WebIRCGateway == "" {
		n.WebIRCGateway = "ferry"
	}
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n < 65536
}

// ircParam is a middle IRC parameter: not empty, no space, no leading ':',
// no line break or NUL.
func ircParam(s string) bool {
	return s != "" && s[0] != ':' && !strings.ContainsAny(s, " \r\n\x00")
}

package email

import (
	"net"
	"os"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/bridges/options"
	"github.com/ferry-xmpp/ferry/internal/netguard"
	"github.com/ferry-xmpp/ferry/internal/ratelimit"
)

// Options are the operator's settings for an email transport.
type Options struct {
	// AllowPlain lets users choose unencrypted IMAP and SMTP (a server on
	// the same host, a test set-up). Off, only TLS and STARTTLS are offered.
	AllowPlain bool
	// AllowPrivateHosts lets users point Ferry at any address, loopback and
	// private ones included. Off, only public addresses and
	// AllowedPrivateHosts are reached, so the gateway cannot be used to
	// probe the operator's own network.
	AllowPrivateHosts bool
	// AllowedPrivateHosts are host names, addresses and CIDR prefixes users
	// may name although they are not public (the operator's own mail
	// server); see netguard.NewPolicy.
	AllowedPrivateHosts []string
	// Hosts is the policy both make: what users' servers may be.
	Hosts *netguard.Policy
	// CAFile is a PEM bundle trusted besides the system's roots, for mail
	// servers with certificates of a private CA.
	CAFile          string
	Backlog         int // default number of old mails shown on the first sync
	MaxBacklog      int // the most a user may ask for
	PollInterval    time.Duration
	MaxMailSize     int64 // bytes fetched of one mail
	Listen          string
	PublicURL       string // how users' clients reach Listen (attachment links)
	PerHour, PerDay int    // mails a user may send
	RetryMin        time.Duration
	RetryMax        time.Duration
	Attempts        int
	Relay           *RelayOptions // nil: no relay domain
	// LoginPerUser and LoginPerServer bound the logins a registration
	// makes (to check the password), per user and per mail server, so the
	// gateway cannot be used to guess passwords or to get its address
	// blocked by a provider.
	LoginPerUser   ratelimit.Limit
	LoginPerServer ratelimit.Limit
}

// RelayOptions configure the mail-to-chat relay domain.
type RelayOptions struct {
	Domain            string
	Listen            string
	MaxSize           int64
	PerAddressPerHour int
	MaxAddresses      int // per user
	Smarthost         string
	SmarthostSecurity string
	SmarthostUser     string
	SmarthostPassword string
	// SendToAnyone lets mail leave through relay addresses to any address.
	// Off (the default), a relay address answers only addresses that have
	// written to it, so the smarthost and the relay domain's name cannot be
	// used to mail strangers.
	SendToAnyone bool
}

func defaultOptions() Options {
	return Options{Backlog: 10, MaxBacklog: 200, PollInterval: 2 * time.Minute, MaxMailSize: 25 << 20,
		Listen: "127.0.0.1:8089", PerHour: 60, PerDay: 500,
		RetryMin: 10 * time.Second, RetryMax: 15 * time.Minute, Attempts: 12,
		LoginPerUser:   ratelimit.Limit{Burst: 3, Every: 20 * time.Second},
		LoginPerServer: ratelimit.Limit{Burst: 10, Every: 6 * time.Second}}
}

func defaultRelay() *RelayOptions {
	return &RelayOptions{Listen: "127.0.0.1:2525", MaxSize: 10 << 20, PerAddressPerHour: 60, MaxAddresses: 20,
		SmarthostSecurity: "starttls"}
}

// optionKeys and relayKeys are the keys parseOptions and parseRelay know,
// for "did you mean" hints (a test keeps them in step).
var (
	optionKeys = []string{"allow_plain", "allow_private_hosts", "ca_file", "backlog", "max_backlog", "poll_interval",
		"max_mail_size", "listen", "public_url", "per_hour", "per_day", "attempts", "retry_min", "retry_max", "relay"}
	relayKeys = []string{"domain", "listen", "max_size", "per_address_per_hour", "max_addresses", "smarthost",
		"smarthost_security", "smarthost_username", "smarthost_password", "smarthost_password_file"}
)

// parseOptions validates [transport.options]; errors name their key.
func parseOptions(raw map[string]any) (Options, error) {
	o := defaultOptions()
	p := &options.Problems{}
	for key, v := range raw {
		switch key {
		case "allow_plain":
			p.Bool(key, v, &o.AllowPlain)
		case "allow_private_hosts":
			p.Bool(key, v, &o.AllowPrivateHosts)
		case "allowed_private_hosts":
			p.Strings(key, v, &o.AllowedPrivateHosts)
		case "ca_file":
			p.String(key, v, &o.CAFile)
		case "backlog":
			p.Int(key, v, 0, 10000, &o.Backlog)
		case "max_backlog":
			p.Int(key, v, 0, 10000, &o.MaxBacklog)
		case "poll_interval":
			p.Duration(key, v, "30s", &o.PollInterval)
		case "max_mail_size":
			p.Size(key, v, &o.MaxMailSize)
		case "listen":
			p.String(key, v, &o.Listen)
		case "public_url":
			p.String(key, v, &o.PublicURL)
		case "per_hour":
			p.Int(key, v, 1, 100000, &o.PerHour)
		case "per_day":
			p.Int(key, v, 1, 10000000, &o.PerDay)
		case "attempts":
			p.Int(key, v, 1, 1000, &o.Attempts)
		case "retry_min":
			p.Duration(key, v, "30s", &o.RetryMin)
		case "retry_max":
			p.Duration(key, v, "30s", &o.RetryMax)
		case "login_limit_user":
			p.Limit(key, v, &o.LoginPerUser)
		case "login_limit_server":
			p.Limit(key, v, &o.LoginPerServer)
		case "relay":
			m, ok := v.(map[string]any)
			if !ok {
				p.Bad(key, "must be a table")
				continue
			}
			o.Relay = parseRelay(p, m)
		default:
			p.Unknown(key, optionKeys)
		}
	}
	hosts, err := netguard.NewPolicy(o.AllowPrivateHosts, o.AllowedPrivateHosts)
	if err != nil {
		p.Bad("allowed_private_hosts", "%v", err)
	}
	o.Hosts = hosts
	p.Listen("listen", o.Listen, o.PublicURL != "", "set public_url to the address users' clients reach")
	if o.PublicURL == "" {
		o.PublicURL = "http://" + o.Listen
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	if o.Backlog > o.MaxBacklog {
		p.Bad("backlog", "must not exceed max_backlog (%d)", o.MaxBacklog)
	}
	if o.RetryMin > o.RetryMax {
		p.Bad("retry_min", "must not exceed retry_max")
	}
	return o, p.Err()
}

func parseRelay(p *options.Problems, m map[string]any) *RelayOptions {
	r := defaultRelay()
	for k, v := range m {
		key := "relay." + k
		switch k {
		case "domain":
			p.String(key, v, &r.Domain)
			r.Domain = strings.ToLower(strings.TrimSpace(r.Domain))
		case "listen":
			p.String(key, v, &r.Listen)
		case "max_size":
			p.Size(key, v, &r.MaxSize)
		case "per_address_per_hour":
			p.Int(key, v, 1, 100000, &r.PerAddressPerHour)
		case "max_addresses":
			p.Int(key, v, 1, 10000, &r.MaxAddresses)
		case "smarthost":
			p.String(key, v, &r.Smarthost)
		case "smarthost_security":
			p.String(key, v, &r.SmarthostSecurity)
		case "smarthost_username":
			p.String(key, v, &r.SmarthostUser)
		case "smarthost_password":
			p.String(key, v, &r.SmarthostPassword)
		case "send_to_anyone":
			p.Bool(key, v, &r.SendToAnyone)
		case "smarthost_password_file":
			var name string
			p.String(key, v, &name)
			b, err := os.ReadFile(name)
			if err != nil {
				p.Bad(key, "%v", err)
				continue
			}
			r.SmarthostPassword = strings.TrimRight(string(b), "\r\n")
		default:
			p.Unknown(key, relayKeys)
		}
	}
	if r.Domain == "" || strings.ContainsAny(r.Domain, "@ /") || !strings.Contains(r.Domain, ".") {
		p.Bad("relay.domain", "must be a mail domain such as relay.example.org")
	}
	// The relay server sits behind the operator's MTA, wherever that is.
	p.Listen("relay.listen", r.Listen, true, "")
	if r.Smarthost != "" {
		if _, _, err := net.SplitHostPort(r.Smarthost); err != nil {
			p.Bad("relay.smarthost", "must be host:port")
		}
	}
	switch r.SmarthostSecurity {
	case "tls", "starttls", "plain":
	default:
		p.Bad("relay.smarthost_security", "must be tls, starttls or plain")
	}
	return r
}

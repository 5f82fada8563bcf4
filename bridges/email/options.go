package email

import (
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"time"
)

// Options are the operator's settings for an email transport.
type Options struct {
	// AllowPlain lets users choose unencrypted IMAP and SMTP (a server on
	// the same host, a test set-up). Off, only TLS and STARTTLS are offered.
	AllowPlain bool
	// AllowPrivateHosts lets users point Ferry at loopback and private
	// addresses. Off, a registration naming such a host is refused, so the
	// gateway cannot be used to probe the operator's own network.
	AllowPrivateHosts bool
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
}

func defaultOptions() Options {
	return Options{Backlog: 10, MaxBacklog: 200, PollInterval: 2 * time.Minute, MaxMailSize: 25 << 20,
		Listen: "127.0.0.1:8089", PerHour: 60, PerDay: 500,
		RetryMin: 10 * time.Second, RetryMax: 15 * time.Minute, Attempts: 12}
}

func defaultRelay() *RelayOptions {
	return &RelayOptions{Listen: "127.0.0.1:2525", MaxSize: 10 << 20, PerAddressPerHour: 60, MaxAddresses: 20,
		SmarthostSecurity: "starttls"}
}

// optionParser collects every problem, each naming its key.
type optionParser struct{ errs []string }

func (p *optionParser) bad(key, f string, a ...any) {
	p.errs = append(p.errs, key+": "+fmt.Sprintf(f, a...))
}

func (p *optionParser) intOpt(key string, v any, lo, hi int64, dst *int) {
	n, ok := v.(int64)
	if !ok || n < lo || n > hi {
		p.bad(key, "must be a whole number from %d to %d", lo, hi)
		return
	}
	*dst = int(n)
}

func (p *optionParser) sizeOpt(key string, v any, dst *int64) {
	n, ok := v.(int64)
	if !ok || n < 1024 || n > 1<<30 {
		p.bad(key, "must be a size in bytes from 1024 to 1073741824")
		return
	}
	*dst = n
}

func (p *optionParser) boolOpt(key string, v any, dst *bool) {
	b, ok := v.(bool)
	if !ok {
		p.bad(key, "must be true or false")
	}
	*dst = b
}

func (p *optionParser) durationOpt(key string, v any, dst *time.Duration) {
	s, _ := v.(string)
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		p.bad(key, "must be a duration such as \"30s\"")
		return
	}
	*dst = d
}

func (p *optionParser) stringOpt(key string, v any, dst *string) {
	s, ok := v.(string)
	if !ok {
		p.bad(key, "must be a string")
	}
	*dst = s
}

// parseOptions validates [transport.options]; errors name their key.
func parseOptions(raw map[string]any) (Options, error) {
	o := defaultOptions()
	p := &optionParser{}
	for key, v := range raw {
		switch key {
		case "allow_plain":
			p.boolOpt(key, v, &o.AllowPlain)
		case "allow_private_hosts":
			p.boolOpt(key, v, &o.AllowPrivateHosts)
		case "ca_file":
			p.stringOpt(key, v, &o.CAFile)
		case "backlog":
			p.intOpt(key, v, 0, 10000, &o.Backlog)
		case "max_backlog":
			p.intOpt(key, v, 0, 10000, &o.MaxBacklog)
		case "poll_interval":
			p.durationOpt(key, v, &o.PollInterval)
		case "max_mail_size":
			p.sizeOpt(key, v, &o.MaxMailSize)
		case "listen":
			p.stringOpt(key, v, &o.Listen)
		case "public_url":
			p.stringOpt(key, v, &o.PublicURL)
		case "per_hour":
			p.intOpt(key, v, 1, 100000, &o.PerHour)
		case "per_day":
			p.intOpt(key, v, 1, 10000000, &o.PerDay)
		case "attempts":
			p.intOpt(key, v, 1, 1000, &o.Attempts)
		case "retry_min":
			p.durationOpt(key, v, &o.RetryMin)
		case "retry_max":
			p.durationOpt(key, v, &o.RetryMax)
		case "relay":
			m, ok := v.(map[string]any)
			if !ok {
				p.bad(key, "must be a table")
				continue
			}
			o.Relay = parseRelay(p, m)
		default:
			p.bad(key, "unknown option")
		}
	}
	p.checkListen("listen", o.Listen, o.PublicURL)
	if o.PublicURL == "" {
		o.PublicURL = "http://" + o.Listen
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	if o.Backlog > o.MaxBacklog {
		p.bad("backlog", "must not exceed max_backlog (%d)", o.MaxBacklog)
	}
	if o.RetryMin > o.RetryMax {
		p.bad("retry_min", "must not exceed retry_max")
	}
	sort.Strings(p.errs)
	if len(p.errs) > 0 {
		return o, fmt.Errorf("%s", strings.Join(p.errs, "; "))
	}
	return o, nil
}

func parseRelay(p *optionParser, m map[string]any) *RelayOptions {
	r := defaultRelay()
	for k, v := range m {
		key := "relay." + k
		switch k {
		case "domain":
			p.stringOpt(key, v, &r.Domain)
			r.Domain = strings.ToLower(strings.TrimSpace(r.Domain))
		case "listen":
			p.stringOpt(key, v, &r.Listen)
		case "max_size":
			p.sizeOpt(key, v, &r.MaxSize)
		case "per_address_per_hour":
			p.intOpt(key, v, 1, 100000, &r.PerAddressPerHour)
		case "max_addresses":
			p.intOpt(key, v, 1, 10000, &r.MaxAddresses)
		case "smarthost":
			p.stringOpt(key, v, &r.Smarthost)
		case "smarthost_security":
			p.stringOpt(key, v, &r.SmarthostSecurity)
		case "smarthost_username":
			p.stringOpt(key, v, &r.SmarthostUser)
		case "smarthost_password":
			p.stringOpt(key, v, &r.SmarthostPassword)
		case "smarthost_password_file":
			var name string
			p.stringOpt(key, v, &name)
			b, err := os.ReadFile(name)
			if err != nil {
				p.bad(key, "%v", err)
				continue
			}
			r.SmarthostPassword = strings.TrimRight(string(b), "\r\n")
		default:
			p.bad(key, "unknown option")
		}
	}
	if r.Domain == "" || strings.ContainsAny(r.Domain, "@ /") || !strings.Contains(r.Domain, ".") {
		p.bad("relay.domain", "must be a mail domain such as relay.example.org")
	}
	// The relay server is meant to sit behind the operator's MTA.
	p.checkListen("relay.listen", r.Listen, "-")
	if r.Smarthost != "" {
		if _, _, err := net.SplitHostPort(r.Smarthost); err != nil {
			p.bad("relay.smarthost", "must be host:port")
		}
	}
	switch r.SmarthostSecurity {
	case "tls", "starttls", "plain":
	default:
		p.bad("relay.smarthost_security", "must be tls, starttls or plain")
	}
	return r
}

// checkListen insists on loopback unless the operator says how the
// listener is reached from outside (public, non-empty).
func (p *optionParser) checkListen(key, addr, public string) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		p.bad(key, "must be host:port")
		return
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) && public == "" {
		p.bad(key, "listens beyond loopback: set public_url to the address users' clients reach")
	}
}

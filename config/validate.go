package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"mellium.im/xmpp/jid"
)

// build validates raw on top of Defaults(), adding every problem to errs.
// The returned Config is meaningful only when errs stays empty.
func build(raw *rawConfig, baseDir string, errs *Errors) Config {
	c := Defaults()

	if s, ok := getNonEmpty(errs, "database", raw.Database); ok {
		c.Database = s
	}
	c.Database = resolveDatabase(baseDir, c.Database)
	if s, ok := getNonEmpty(errs, "database_sync", raw.DatabaseSync); ok {
		if s != "normal" && s != "full" {
			errs.add("database_sync", `must be "normal" or "full", got %q`, s)
		} else {
			c.DatabaseSync = s
		}
	}
	if s, ok := getNonEmpty(errs, "secrets_key_file", raw.SecretsKeyFile); ok {
		c.SecretsKeyFile = s
	}
	c.SecretsKeyFile = resolvePath(baseDir, c.SecretsKeyFile)
	c.Admins = buildAdmins(errs, raw.Admins)

	// Transports come last in the file and in the report, but the server
	// domain's default depends on them: check them into a separate list.
	terrs := &Errors{}
	c.Transports = buildTransports(terrs, raw.Transport, baseDir, &c.Warnings)

	buildXMPP(errs, &c.XMPP, &raw.XMPP, c.Transports, len(raw.Transport) > 0)
	if sd := c.XMPP.ServerDomain; sd != "" {
		for i, t := range c.Transports {
			if t.Domain == sd {
				terrs.add(fmt.Sprintf("transport[%d].domain", i), "must differ from xmpp.server_domain (%s): a component needs a domain of its own", sd)
			}
		}
	}
	buildRegistration(errs, &c.Registration, &raw.Registration, c.XMPP.ServerDomain)
	buildHTTP(errs, &c.HTTP, &raw.HTTP)
	buildLog(errs, &c.Log, &raw.Log)

	errs.Problems = append(errs.Problems, terrs.Problems...)
	return c
}

func buildAdmins(errs *Errors, l stringList) []string {
	var out []string
	for i, e := range getStrings(errs, "admins", l) {
		key := fmt.Sprintf("admins[%d]", i)
		s, ok := get(errs, key, e)
		if !ok {
			continue
		}
		j, err := jid.Parse(s)
		switch {
		case err != nil:
			errs.add(key, "invalid JID %q: %v", s, err)
		case j.Resourcepart() != "":
			errs.add(key, "must be a bare JID without a resource, got %q", s)
		case j.Localpart() == "":
			errs.add(key, "must be a user's JID (user@domain), got %q", s)
		default:
			if a := j.String(); !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

func buildXMPP(errs *Errors, x *XMPP, r *rawXMPP, transports []Transport, haveTransports bool) {
	if s, ok := get(errs, "xmpp.address", r.Address); ok {
		if host, ok := splitHostPort(s, false); !ok || host == "" {
			errs.add("xmpp.address", "must be host:port with a numeric port, got %q", s)
		} else {
			x.Address = s
		}
	} else if !r.Address.Set {
		errs.add("xmpp.address", `required: the XMPP server's component port, e.g. "127.0.0.1:5347"`)
	}

	if s, ok := get(errs, "xmpp.server_domain", r.ServerDomain); ok {
		if d, err := parseDomain(s); err != nil {
			errs.add("xmpp.server_domain", "%v", err)
		} else {
			x.ServerDomain = d
		}
	} else if !r.ServerDomain.Set {
		x.ServerDomain = deriveServerDomain(errs, transports, haveTransports)
	}

	durations := []struct {
		key string
		raw *duration
		dst *Duration
	}{
		{"xmpp.ping_interval", &r.PingInterval, &x.PingInterval},
		{"xmpp.ping_timeout", &r.PingTimeout, &x.PingTimeout},
		{"xmpp.reconnect_min", &r.ReconnectMin, &x.ReconnectMin},
		{"xmpp.reconnect_max", &r.ReconnectMax, &x.ReconnectMax},
	}
	valid := true
	for _, d := range durations {
		switch {
		case !d.raw.Set:
		case d.raw.Err != nil:
			errs.add(d.key, `invalid duration %q: use a number with a unit, such as "30s", "1m" or "500ms"`, d.raw.Text)
			valid = false
		case d.raw.Val <= 0:
			errs.add(d.key, "must be positive, got %s", d.raw.Text)
			valid = false
		default:
			*d.dst = d.raw.Val
		}
	}
	if valid {
		// Blame the key the file sets; when it sets both, the first.
		if x.PingTimeout >= x.PingInterval {
			if r.PingTimeout.Set || !r.PingInterval.Set {
				errs.add("xmpp.ping_timeout", "must be less than xmpp.ping_interval (%s), got %s", x.PingInterval, x.PingTimeout)
			} else {
				errs.add("xmpp.ping_interval", "must be greater than xmpp.ping_timeout (%s), got %s", x.PingTimeout, x.PingInterval)
			}
		}
		if x.ReconnectMin > x.ReconnectMax {
			if r.ReconnectMin.Set || !r.ReconnectMax.Set {
				errs.add("xmpp.reconnect_min", "must not exceed xmpp.reconnect_max (%s), got %s", x.ReconnectMax, x.ReconnectMin)
			} else {
				errs.add("xmpp.reconnect_max", "must be at least xmpp.reconnect_min (%s), got %s", x.ReconnectMin, x.ReconnectMax)
			}
		}
	}

	if n, ok := get(errs, "xmpp.queue_size", r.QueueSize); ok {
		if n < 1 || n > maxQueueSize {
			errs.add("xmpp.queue_size", "must be between 1 and %d, got %d", maxQueueSize, n)
		} else {
			x.QueueSize = int(n)
		}
	}
}

const maxQueueSize = 100_000

// deriveServerDomain defaults xmpp.server_domain to the parent of the first
// transport's domain, provided every transport domain has a parent.
// Transports whose domain is invalid are skipped (they are reported
// already).
func deriveServerDomain(errs *Errors, transports []Transport, haveTransports bool) string {
	first := ""
	for i, t := range transports {
		if t.Domain == "" {
			continue
		}
		p, ok := parentDomain(t.Domain)
		if !ok {
			errs.add("xmpp.server_domain", "required: it cannot be derived because transport[%d].domain (%s) has no parent domain", i, t.Domain)
			return ""
		}
		if first == "" {
			first = p
		}
	}
	if first == "" && !haveTransports {
		errs.add("xmpp.server_domain", "required: the XMPP server's own domain, e.g. \"example.org\"")
	}
	return first
}

// parentDomain strips the first label of d: irc.example.org → example.org.
// A top-level domain ("org") is not a usable parent, but "localhost" is;
// IP addresses have none.
func parentDomain(d string) (string, bool) {
	if net.ParseIP(strings.Trim(d, "[]")) != nil {
		return "", false
	}
	_, p, ok := strings.Cut(d, ".")
	if !ok || (p != "localhost" && !strings.Contains(p, ".")) {
		return "", false
	}
	return p, true
}

func buildRegistration(errs *Errors, reg *Registration, r *rawRegistration, serverDomain string) {
	if b, ok := get(errs, "registration.open", r.Open); ok {
		reg.Open = b
	}
	const key = "registration.allowed_domains"
	if !r.AllowedDomains.Set {
		if serverDomain != "" {
			reg.AllowedDomains = []string{serverDomain}
		}
		return
	}
	list := getStrings(errs, key, r.AllowedDomains)
	if len(list) == 0 {
		if r.AllowedDomains.Bad == "" {
			errs.add(key, `must not be empty: list the domains whose users may register, or ["*"] for any`)
		}
		return
	}
	var out []string
	anyDomain := false
	for i, e := range list {
		ekey := fmt.Sprintf("%s[%d]", key, i)
		s, ok := get(errs, ekey, e)
		if !ok {
			continue
		}
		if s == "*" {
			anyDomain = true
			continue
		}
		d, err := parseDomain(s)
		if err != nil {
			errs.add(ekey, "%v", err)
			continue
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	if anyDomain {
		out = []string{"*"}
	}
	reg.AllowedDomains = out
}

func buildHTTP(errs *Errors, h *HTTP, r *rawHTTP) {
	if b, ok := get(errs, "http.allow_public", r.AllowPublic); ok {
		h.AllowPublic = b
	}
	s, ok := get(errs, "http.listen", r.Listen)
	if !ok || s == "" {
		return
	}
	host, ok := splitHostPort(s, true)
	if !ok {
		errs.add("http.listen", "must be host:port with a numeric port, or empty to disable, got %q", s)
		return
	}
	if !isLoopback(host) && !h.AllowPublic {
		errs.add("http.listen", "%q is not a loopback address: set http.allow_public = true to expose /healthz and /metrics beyond this host", s)
		return
	}
	h.Listen = s
	if b, ok := get(errs, "http.pprof", r.Pprof); ok && b {
		if !isLoopback(host) {
			errs.add("http.pprof", "the profiler is only served on a loopback http.listen, not %q", s)
			return
		}
		h.Pprof = true
	}
}

// isLoopback reports whether host is localhost, 127.0.0.0/8 or ::1. An empty
// host means every interface.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

func buildLog(errs *Errors, l *Log, r *rawLog) {
	if s, ok := get(errs, "log.level", r.Level); ok {
		if lvl, ok := logLevels[strings.ToLower(s)]; ok {
			l.Level = lvl
		} else {
			errs.add("log.level", "must be one of debug, info, warn, error; got %q", s)
		}
	}
	if s, ok := get(errs, "log.format", r.Format); ok {
		switch f := strings.ToLower(s); f {
		case "text", "json":
			l.Format = f
		default:
			errs.add("log.format", "must be text or json, got %q", s)
		}
	}
}

var kindRE = regexp.MustCompile(`^[a-z0-9_-]+$`)

// buildTransports checks each [[transport]] table. A transport whose domain
// is invalid keeps an empty Domain so that later checks can skip it.
func buildTransports(errs *Errors, raws []rawTransport, baseDir string, warnings *[]Problem) []Transport {
	if len(raws) == 0 {
		errs.add("transport", "at least one [[transport]] table is required")
		return nil
	}
	out := make([]Transport, len(raws))
	seen := map[string]int{}
	for i := range raws {
		r, t := &raws[i], &out[i]
		prefix := fmt.Sprintf("transport[%d]", i)
		if r.Bad != "" {
			errs.add(prefix, "must be a table, not %s", r.Bad)
			continue
		}

		if s, ok := get(errs, prefix+".kind", r.Kind); ok {
			if kindRE.MatchString(s) {
				t.Kind = s
			} else {
				errs.add(prefix+".kind", "must be lower case letters, digits, '_' and '-', got %q", s)
			}
		} else if !r.Kind.Set {
			errs.add(prefix+".kind", `required: the bridge kind, e.g. "irc"`)
		}

		if s, ok := get(errs, prefix+".domain", r.Domain); ok {
			if d, err := parseDomain(s); err != nil {
				errs.add(prefix+".domain", "%v", err)
			} else if j, dup := seen[d]; dup {
				errs.add(prefix+".domain", "%s is already used by transport[%d]", d, j)
			} else {
				seen[d] = i
				t.Domain = d
			}
		} else if !r.Domain.Set {
			errs.add(prefix+".domain", `required: the component's domain, e.g. "irc.example.org"`)
		}

		if s, ok := get(errs, prefix+".name", r.Name); ok && s != "" {
			t.Name = s
		} else if t.Kind != "" {
			t.Name = defaultName(t.Kind)
		}

		t.Secret = transportSecret(errs, prefix, r, baseDir, warnings)

		if m, ok := get(errs, prefix+".options", r.Options); ok && m != nil {
			t.Options = m
		} else {
			t.Options = map[string]any{}
		}
	}
	return out
}

// transportSecret resolves a transport's secret from exactly one of secret
// and secret_file.
func transportSecret(errs *Errors, prefix string, r *rawTransport, baseDir string, warnings *[]Problem) string {
	switch {
	case r.Secret.Set && r.SecretFile.Set:
		errs.add(prefix+".secret_file", "cannot be used together with secret: set exactly one of them")
		return ""
	case r.Secret.Set:
		s, _ := getNonEmpty(errs, prefix+".secret", r.Secret)
		return s
	case r.SecretFile.Set:
		key := prefix + ".secret_file"
		p, ok := getNonEmpty(errs, key, r.SecretFile)
		if !ok {
			return ""
		}
		p = resolvePath(baseDir, p)
		b, err := os.ReadFile(p)
		if err != nil {
			errs.add(key, "cannot read the secret: %v", err)
			return ""
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" {
			errs.add(key, "%s is empty", p)
		}
		if w, bad := otherReadable(p); bad {
			*warnings = append(*warnings, Problem{Key: key, Msg: w})
		}
		return s
	}
	errs.add(prefix+".secret", "required: set secret or secret_file (the component password configured on the XMPP server)")
	return ""
}

// otherReadable says so when users other than the file's owner and group
// can read a secret file: anyone on the host could then attach a component
// in the transport's name.
func otherReadable(path string) (string, bool) {
	fi, err := os.Stat(path)
	if err != nil || runtime.GOOS == "windows" || fi.Mode().Perm()&0o004 == 0 {
		return "", false
	}
	return fmt.Sprintf("%s is readable by every user of this host (mode %#o); keep it to Ferry's user and group: chmod 640 %s", path, fi.Mode().Perm(), path), true
}

// acronyms are kind words that defaultName writes in capitals.
var acronyms = map[string]bool{"irc": true, "sms": true, "mms": true, "xmpp": true, "smtp": true, "imap": true}

// defaultName derives a human name from a kind: "irc" → "IRC",
// "email" → "Email", "mail_list" → "Mail List".
func defaultName(kind string) string {
	words := strings.FieldsFunc(kind, func(r rune) bool { return r == '_' || r == '-' })
	if len(words) == 0 {
		return kind
	}
	for i, w := range words {
		if acronyms[w] {
			words[i] = strings.ToUpper(w)
		} else {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// parseDomain validates a domain JID (no local part or resource) and
// returns its canonical form.
func parseDomain(s string) (string, error) {
	if s == "" {
		return "", errors.New("must not be empty")
	}
	j, err := jid.Parse(s)
	if err != nil {
		return "", fmt.Errorf("invalid domain %q: %v", s, err)
	}
	if j.Localpart() != "" || j.Resourcepart() != "" {
		return "", fmt.Errorf("must be a bare domain without '@' or '/', got %q", s)
	}
	d := j.Domainpart()
	if !strings.HasPrefix(d, "[") && slices.Contains(strings.Split(d, "."), "") {
		return "", fmt.Errorf("invalid domain %q: empty label", s)
	}
	return d, nil
}

// canonicalDomain is parseDomain for callers that only need a yes or no.
func canonicalDomain(s string) (string, bool) {
	d, err := parseDomain(s)
	return d, err == nil
}

// splitHostPort checks that s is host:port with a decimal port in 1..65535
// (0..65535 with allowZero) and returns the host, which may be empty.
func splitHostPort(s string, allowZero bool) (host string, ok bool) {
	host, port, err := net.SplitHostPort(s)
	if err != nil || port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
		return "", false
	}
	n, err := strconv.Atoi(port)
	return host, err == nil && n <= 65535 && (n > 0 || allowZero)
}

// get returns a setting's value when it is present and has the right type,
// reporting a type mismatch under key.
func get[T any](errs *Errors, key string, v value[T]) (T, bool) {
	var zero T
	if !v.Set {
		return zero, false
	}
	if v.Bad != "" {
		errs.add(key, "must be %s, not %s", withArticle(v.want()), v.Bad)
		return zero, false
	}
	return v.Val, true
}

// getNonEmpty is get for strings that must not be empty when present.
func getNonEmpty(errs *Errors, key string, v value[string]) (string, bool) {
	s, ok := get(errs, key, v)
	if ok && s == "" {
		errs.add(key, "must not be empty")
		return "", false
	}
	return s, ok
}

// getStrings returns an array setting's elements, still to be checked
// with get. It returns nil when the key is absent or not an array (reported
// under key).
func getStrings(errs *Errors, key string, l stringList) []value[string] {
	if !l.Set {
		return nil
	}
	if l.Bad != "" {
		errs.add(key, "must be an array of strings, not %s", l.Bad)
		return nil
	}
	return l.Elems
}

func withArticle(noun string) string {
	if noun != "" && strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}

// Package config loads Ferry's TOML configuration file.
//
// A file is decoded into an internal raw form that remembers which keys
// were present and whether their values had the right TOML type, and is
// then validated into a Config built on Defaults(). Every problem found is
// reported, each naming the key that causes it; see Errors.
//
// An annotated example lives next to this file as ferry.example.toml.
package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Duration is the type of every duration setting. In the file it is written
// as a Go duration string such as "30s" or "1m30s".
type Duration = time.Duration

// Config is a validated configuration.
type Config struct {
	// Database is the SQLite database path.
	Database string
	// DatabaseSync is "normal" (a commit reaches the operating system:
	// safe from Ferry crashing or being killed) or "full" (a commit
	// reaches the disk: safe from a power cut too, at a disk flush each).
	DatabaseSync string
	// SecretsKeyFile is the path of the AEAD key that seals legacy-network
	// secrets at rest. The daemon creates it (mode 0600) when missing.
	SecretsKeyFile string
	// Admins are the bare JIDs (canonical form, no duplicates) allowed to
	// use admin commands.
	Admins       []string
	XMPP         XMPP
	Registration Registration
	HTTP         HTTP
	Log          Log
	// Transports has one entry per [[transport]] table, in file order.
	Transports []Transport
	// Warnings are things worth fixing that do not stop Ferry, such as a
	// secret file other users can read. run logs them, check-config
	// prints them.
	Warnings []Problem
}

// XMPP configures the link to the XMPP server's component port.
type XMPP struct {
	// Address is the server's component port as host:port.
	Address string
	// ServerDomain is the XMPP server's own domain.
	ServerDomain string
	// PingInterval and PingTimeout drive the XMPP ping watchdog;
	// PingTimeout < PingInterval.
	PingInterval, PingTimeout Duration
	// ReconnectMin and ReconnectMax bound the reconnect backoff;
	// ReconnectMin <= ReconnectMax.
	ReconnectMin, ReconnectMax Duration
	// QueueSize bounds the stanzas waiting in memory for one user: a
	// legacy connection feeding a full queue is paused until it drains.
	QueueSize int
}

// Registration says who may register with the transports.
type Registration struct {
	// Open lets any user from an allowed domain register; when false only
	// admins can register users.
	Open bool
	// AllowedDomains lists the domains whose users may register, in
	// canonical form. After validation it is never empty; ["*"] allows any
	// domain.
	AllowedDomains []string
}

// DomainAllowed reports whether users of domain may register. Matching is
// exact (subdomains are not included) and ignores case and a trailing dot.
// An empty or invalid domain is never allowed.
func (r Registration) DomainAllowed(domain string) bool {
	d, ok := canonicalDomain(domain)
	if !ok {
		return false
	}
	for _, a := range r.AllowedDomains {
		if a == "*" {
			return true
		}
		if ca, ok := canonicalDomain(a); ok && ca == d {
			return true
		}
	}
	return false
}

// HTTP configures the /healthz and /metrics listener.
type HTTP struct {
	// Listen is host:port, or empty to disable the listener.
	Listen string
	// AllowPublic permits a non-loopback Listen address.
	AllowPublic bool
	// Pprof serves Go's profiler under /debug/pprof/ on the same
	// listener, for performance work; only on a loopback address.
	Pprof bool
}

// Log configures logging.
type Log struct {
	Level slog.Level
	// Format is "text" or "json".
	Format string
}

// Transport is one bridge attached as an external component.
type Transport struct {
	// Kind names the bridge ("irc", "email", ...). Only its syntax is
	// checked here; the daemon rejects kinds it does not know.
	Kind string
	// Domain is the component's JID (a bare domain), in canonical form.
	Domain string
	// Name is the human name shown in service discovery.
	Name string
	// Secret is the XEP-0114 handshake secret, read from secret_file when
	// the file uses that key.
	Secret string
	// Options holds the [transport.options] table as decoded by the TOML
	// library, for the bridge to interpret. It is never nil after Parse.
	Options map[string]any
}

// Load reads, parses and validates the configuration file at path.
// Relative paths inside the file (and the default database and key paths)
// are resolved against the file's directory.
//
// A file that cannot be read gives the underlying error, wrapped; a file
// with problems gives a *Errors.
func Load(path string) (Config, error) {
	cfg, err := LoadPartial(path)
	if err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Parse parses and validates a configuration file's contents. Relative
// paths are resolved against baseDir (left relative when baseDir is
// empty). On failure it returns the zero Config and a *Errors.
func Parse(data []byte, baseDir string) (Config, error) {
	cfg, err := ParsePartial(data, baseDir)
	if err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// LoadPartial is Load for check-config: with problems it still returns
// what could be built (settings with problems keep their defaults, a
// transport with an invalid kind or domain has it empty), so that the
// transports' own options can be checked in the same pass.
func LoadPartial(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	dir := filepath.Dir(path)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return ParsePartial(data, dir)
}

// ParsePartial is Parse that returns the partial Config along with the
// *Errors; after a syntax error nothing could be built and it is zero.
func ParsePartial(data []byte, baseDir string) (Config, error) {
	errs := &Errors{}
	raw, ok := decode(data, errs)
	if !ok {
		return Config{}, errs
	}
	cfg := build(raw, baseDir, errs)
	return cfg, errs.err()
}

// resolvePath joins a relative p onto baseDir.
func resolvePath(baseDir, p string) string {
	if p == "" || baseDir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(baseDir, p)
}

// resolveDatabase is resolvePath, except that SQLite's special names
// (":memory:" and "file:" URIs) are passed through.
func resolveDatabase(baseDir, p string) string {
	if p == ":memory:" || strings.HasPrefix(p, "file:") {
		return p
	}
	return resolvePath(baseDir, p)
}

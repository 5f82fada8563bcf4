package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// doc builds a file from minimal with extra top-level keys, extra [xmpp]
// keys and extra trailing text.
func doc(top, xmpp, tail string) string {
	return top + "\n[xmpp]\naddress = \"127.0.0.1:5347\"\n" + xmpp + `
[[transport]]
kind = "irc"
domain = "irc.example.org"
secret = "s3cret"
` + tail
}

func TestValidateProblems(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []Problem
	}{
		{
			name: "empty file",
			doc:  "",
			want: []Problem{
				{"xmpp.address", "required"},
				{"xmpp.server_domain", "required"},
				{"transport", "at least one [[transport]]"},
			},
		},
		{
			name: "empty paths",
			doc:  doc(`database = ""`+"\n"+`secrets_key_file = ""`, "", ""),
			want: []Problem{{"database", "must not be empty"}, {"secrets_key_file", "must not be empty"}},
		},
		{
			name: "admins",
			doc:  doc(`admins = ["ok@example.org", "a@example.org/phone", "example.org", "@example.org", ""]`, "", ""),
			want: []Problem{
				{"admins[1]", "without a resource"},
				{"admins[2]", "user@domain"},
				{"admins[3]", "invalid JID"},
				{"admins[4]", "invalid JID"},
			},
		},
		{
			name: "address without port",
			doc:  strings.Replace(minimal, "127.0.0.1:5347", "127.0.0.1", 1),
			want: []Problem{{"xmpp.address", "host:port"}},
		},
		{
			name: "address with named port",
			doc:  strings.Replace(minimal, "127.0.0.1:5347", "localhost:xmpp-component", 1),
			want: []Problem{{"xmpp.address", "numeric port"}},
		},
		{
			name: "address port out of range",
			doc:  strings.Replace(minimal, "127.0.0.1:5347", "[::1]:65536", 1),
			want: []Problem{{"xmpp.address", "host:port"}},
		},
		{
			name: "address port zero",
			doc:  strings.Replace(minimal, "127.0.0.1:5347", "localhost:0", 1),
			want: []Problem{{"xmpp.address", "host:port"}},
		},
		{
			name: "address without host",
			doc:  strings.Replace(minimal, "127.0.0.1:5347", ":5347", 1),
			want: []Problem{{"xmpp.address", "host:port"}},
		},
		{
			name: "address with empty brackets",
			doc:  strings.Replace(minimal, "127.0.0.1:5347", "[]:5347", 1),
			want: []Problem{{"xmpp.address", "host:port"}},
		},
		{
			name: "invalid server domain",
			doc:  doc("", `server_domain = "exa mple.org"`, ""),
			want: []Problem{{"xmpp.server_domain", "invalid domain"}},
		},
		{
			name: "server domain with local part",
			doc:  doc("", `server_domain = "me@example.org"`, ""),
			want: []Problem{{"xmpp.server_domain", "bare domain"}},
		},
		{
			name: "server domain with empty label",
			doc:  doc("", `server_domain = "example..org"`, ""),
			want: []Problem{{"xmpp.server_domain", "empty label"}},
		},
		{
			name: "server domain required when a transport domain has no parent",
			doc:  strings.Replace(minimal, "irc.example.org", "example.org", 1),
			want: []Problem{{"xmpp.server_domain", "transport[0].domain (example.org) has no parent"}},
		},
		{
			name: "server domain required when any transport domain has no parent",
			doc: minimal + `
[[transport]]
kind = "sms"
domain = "localhost"
secret = "s"
`,
			want: []Problem{{"xmpp.server_domain", "transport[1].domain (localhost) has no parent"}},
		},
		{
			name: "server domain required for an IP transport domain",
			doc:  strings.Replace(minimal, "irc.example.org", "192.0.2.1", 1),
			want: []Problem{{"xmpp.server_domain", "no parent"}},
		},
		{
			name: "bad durations",
			doc:  doc("", "ping_interval = \"30\"\nping_timeout = \"-1s\"\nreconnect_min = \"0s\"\nreconnect_max = \"soon\"", ""),
			want: []Problem{
				{"xmpp.ping_interval", `invalid duration "30"`},
				{"xmpp.ping_timeout", "must be positive"},
				{"xmpp.reconnect_min", "must be positive"},
				{"xmpp.reconnect_max", `invalid duration "soon"`},
			},
		},
		{
			name: "ping timeout not below interval, both set",
			doc:  doc("", "ping_interval = \"10s\"\nping_timeout = \"10s\"", ""),
			want: []Problem{{"xmpp.ping_timeout", "must be less than xmpp.ping_interval (10s)"}},
		},
		{
			name: "ping interval set below default timeout",
			doc:  doc("", `ping_interval = "5s"`, ""),
			want: []Problem{{"xmpp.ping_interval", "must be greater than xmpp.ping_timeout (10s)"}},
		},
		{
			name: "ping timeout set above default interval",
			doc:  doc("", `ping_timeout = "1m"`, ""),
			want: []Problem{{"xmpp.ping_timeout", "must be less than xmpp.ping_interval (30s)"}},
		},
		{
			name: "reconnect min above max, both set",
			doc:  doc("", "reconnect_min = \"2m\"\nreconnect_max = \"1m\"", ""),
			want: []Problem{{"xmpp.reconnect_min", "must not exceed xmpp.reconnect_max (1m0s)"}},
		},
		{
			name: "reconnect max set below default min",
			doc:  doc("", `reconnect_max = "500ms"`, ""),
			want: []Problem{{"xmpp.reconnect_max", "must be at least xmpp.reconnect_min (1s)"}},
		},
		{
			name: "database sync unknown",
			doc:  doc(`database_sync = "off"`, "", ""),
			want: []Problem{{"database_sync", `must be "normal" or "full", got "off"`}},
		},
		{
			name: "queue size zero",
			doc:  doc("", "queue_size = 0", ""),
			want: []Problem{{"xmpp.queue_size", "between 1 and 100000, got 0"}},
		},
		{
			name: "queue size too large",
			doc:  doc("", "queue_size = 1_000_001", ""),
			want: []Problem{{"xmpp.queue_size", "got 1000001"}},
		},
		{
			name: "allowed domains empty",
			doc:  doc("", "", "[registration]\nallowed_domains = []\n"),
			want: []Problem{{"registration.allowed_domains", "must not be empty"}},
		},
		{
			name: "allowed domains invalid entries",
			doc:  doc("", "", "[registration]\nallowed_domains = [\"example.org\", \"user@example.org\", \"*.example.org\", \"\"]\n"),
			want: []Problem{
				{"registration.allowed_domains[1]", "bare domain"},
				{"registration.allowed_domains[2]", "invalid domain"},
				{"registration.allowed_domains[3]", "must not be empty"},
			},
		},
		{
			name: "http listen malformed",
			doc:  doc("", "", "[http]\nlisten = \"9090\"\n"),
			want: []Problem{{"http.listen", "host:port"}},
		},
		{
			name: "http listen on all interfaces",
			doc:  doc("", "", "[http]\nlisten = \":9090\"\n"),
			want: []Problem{{"http.listen", "allow_public = true"}},
		},
		{
			name: "http listen on a public address",
			doc:  doc("", "", "[http]\nlisten = \"192.0.2.10:9090\"\nallow_public = false\n"),
			want: []Problem{{"http.listen", "not a loopback address"}},
		},
		{
			name: "http listen on a host name",
			doc:  doc("", "", "[http]\nlisten = \"metrics.example.org:9090\"\n"),
			want: []Problem{{"http.listen", "not a loopback address"}},
		},
		{
			name: "log level and format",
			doc:  doc("", "", "[log]\nlevel = \"verbose\"\nformat = \"xml\"\n"),
			want: []Problem{{"log.level", `"verbose"`}, {"log.format", `"xml"`}},
		},
		{
			name: "transport missing everything",
			doc:  "[xmpp]\naddress = \"127.0.0.1:5347\"\nserver_domain = \"example.org\"\n[[transport]]\n",
			want: []Problem{
				{"transport[0].kind", "required"},
				{"transport[0].domain", "required"},
				{"transport[0].secret", "required: set secret or secret_file"},
			},
		},
		{
			name: "transport kind syntax",
			doc:  strings.Replace(minimal, `kind = "irc"`, `kind = "IRC bridge"`, 1),
			want: []Problem{{"transport[0].kind", "lower case"}},
		},
		{
			name: "transport kind empty",
			doc:  strings.Replace(minimal, `kind = "irc"`, `kind = ""`, 1),
			want: []Problem{{"transport[0].kind", "lower case"}},
		},
		{
			name: "transport domain with resource",
			doc:  doc("", `server_domain = "example.org"`, "[[transport]]\nkind = \"sms\"\ndomain = \"sms.example.org/x\"\nsecret = \"s\"\n"),
			want: []Problem{{"transport[1].domain", "bare domain"}},
		},
		{
			name: "transport domain with local part",
			doc:  doc("", `server_domain = "example.org"`, "[[transport]]\nkind = \"sms\"\ndomain = \"sms@example.org\"\nsecret = \"s\"\n"),
			want: []Problem{{"transport[1].domain", "bare domain"}},
		},
		{
			name: "duplicate transport domains compare canonically",
			doc:  doc("", "", "[[transport]]\nkind = \"irc2\"\ndomain = \"IRC.Example.org.\"\nsecret = \"s\"\n"),
			want: []Problem{{"transport[1].domain", "irc.example.org is already used by transport[0]"}},
		},
		{
			name: "transport domain equal to server domain",
			doc:  doc("", `server_domain = "irc.example.org"`, ""),
			want: []Problem{{"transport[0].domain", "must differ from xmpp.server_domain"}},
		},
		{
			name: "secret and secret_file",
			doc:  minimal + "secret_file = \"irc.secret\"\n",
			want: []Problem{{"transport[0].secret_file", "exactly one"}},
		},
		{
			name: "empty secret",
			doc:  strings.Replace(minimal, `secret = "s3cret"`, `secret = ""`, 1),
			want: []Problem{{"transport[0].secret", "must not be empty"}},
		},
		{
			name: "empty secret_file path",
			doc:  strings.Replace(minimal, `secret = "s3cret"`, `secret_file = ""`, 1),
			want: []Problem{{"transport[0].secret_file", "must not be empty"}},
		},
		{
			name: "missing secret_file",
			doc:  strings.Replace(minimal, `secret = "s3cret"`, `secret_file = "/nonexistent/ferry/irc.secret"`, 1),
			want: []Problem{{"transport[0].secret_file", "cannot read the secret"}},
		},
		{
			name: "all problems are reported, in file order",
			doc: `admins = ["x@y/z"]
[xmpp]
queue_size = -1
[log]
level = "trace"
[[transport]]
kind = "irc"
domain = "irc.example.org"
`,
			want: []Problem{
				{"admins[0]", "resource"},
				{"xmpp.address", "required"},
				{"xmpp.queue_size", "got -1"},
				{"log.level", "trace"},
				{"transport[0].secret", "required"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.doc), t.TempDir())
			checkProblems(t, err, tt.want)
			if !reflect.DeepEqual(cfg, Config{}) {
				t.Errorf("Parse returned a non-zero Config with an error: %+v", cfg)
			}
		})
	}
}

func TestValidateValues(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		check func(t *testing.T, c Config)
	}{
		{
			name: "minimal file gets the defaults",
			doc:  minimal,
			check: func(t *testing.T, c Config) {
				want := Defaults()
				want.Database = "/base/ferry.db"
				want.SecretsKeyFile = "/base/ferry.key"
				want.XMPP.Address = "127.0.0.1:5347"
				want.XMPP.ServerDomain = "example.org"
				want.Registration.AllowedDomains = []string{"example.org"}
				want.Transports = []Transport{{
					Kind: "irc", Domain: "irc.example.org", Name: "IRC", Secret: "s3cret",
					Options: map[string]any{},
				}}
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got  %+v\nwant %+v", c, want)
				}
			},
		},
		{
			name: "server domain derived from the first transport",
			doc: minimal + `
[[transport]]
kind = "sms"
domain = "sms.example.net"
secret = "s"
`,
			check: func(t *testing.T, c Config) {
				if c.XMPP.ServerDomain != "example.org" {
					t.Errorf("ServerDomain = %q", c.XMPP.ServerDomain)
				}
			},
		},
		{
			name: "localhost is a parent domain",
			doc:  strings.Replace(minimal, "irc.example.org", "irc.localhost", 1),
			check: func(t *testing.T, c Config) {
				if c.XMPP.ServerDomain != "localhost" || !reflect.DeepEqual(c.Registration.AllowedDomains, []string{"localhost"}) {
					t.Errorf("ServerDomain = %q, AllowedDomains = %q", c.XMPP.ServerDomain, c.Registration.AllowedDomains)
				}
			},
		},
		{
			name: "explicit server domain is canonical and wins",
			doc:  doc("", `server_domain = "Chat.Example.COM."`, ""),
			check: func(t *testing.T, c Config) {
				if c.XMPP.ServerDomain != "chat.example.com" {
					t.Errorf("ServerDomain = %q", c.XMPP.ServerDomain)
				}
				if !reflect.DeepEqual(c.Registration.AllowedDomains, []string{"chat.example.com"}) {
					t.Errorf("AllowedDomains = %q", c.Registration.AllowedDomains)
				}
			},
		},
		{
			name: "every setting",
			doc: `database = "state/ferry.db"
database_sync = "full"
secrets_key_file = "/keys/ferry.key"
admins = ["Admin@Example.org", "ops@example.net", "admin@example.org"]
[xmpp]
address = "[::1]:5347"
server_domain = "example.org"
ping_interval = "1m"
ping_timeout = "5s"
reconnect_min = "250ms"
reconnect_max = "2m"
queue_size = 100_000
[registration]
open = false
allowed_domains = ["example.org", "EXAMPLE.net", "example.org"]
[http]
listen = "0.0.0.0:9090"
allow_public = true
[log]
level = "debug"
format = "json"
[[transport]]
kind = "mail_list"
domain = "Lists.Example.org"
secret = "a"
[[transport]]
kind = "irc"
domain = "irc.example.org"
name = "Libera"
secret = "b"
`,
			check: func(t *testing.T, c Config) {
				want := Config{
					Database:       "/base/state/ferry.db",
					DatabaseSync:   "full",
					SecretsKeyFile: "/keys/ferry.key",
					Admins:         []string{"admin@example.org", "ops@example.net"},
					XMPP: XMPP{
						Address: "[::1]:5347", ServerDomain: "example.org",
						PingInterval: time.Minute, PingTimeout: 5 * time.Second,
						ReconnectMin: 250 * time.Millisecond, ReconnectMax: 2 * time.Minute,
						QueueSize: 100_000,
					},
					Registration: Registration{Open: false, AllowedDomains: []string{"example.org", "example.net"}},
					HTTP:         HTTP{Listen: "0.0.0.0:9090", AllowPublic: true},
					Log:          Log{Level: slog.LevelDebug, Format: "json"},
					Transports: []Transport{
						{Kind: "mail_list", Domain: "lists.example.org", Name: "Mail List", Secret: "a", Options: map[string]any{}},
						{Kind: "irc", Domain: "irc.example.org", Name: "Libera", Secret: "b", Options: map[string]any{}},
					},
				}
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got  %+v\nwant %+v", c, want)
				}
			},
		},
		{
			name: "wildcard collapses the allow-list",
			doc:  doc("", "", "[registration]\nallowed_domains = [\"example.org\", \"*\"]\n"),
			check: func(t *testing.T, c Config) {
				if !reflect.DeepEqual(c.Registration.AllowedDomains, []string{"*"}) {
					t.Errorf("AllowedDomains = %q", c.Registration.AllowedDomains)
				}
			},
		},
		{
			name: "http loopback forms need no allow_public",
			doc: minimal + `
[[transport]]
kind = "a"
domain = "a.example.org"
secret = "s"
`,
			check: func(t *testing.T, c Config) {
				for _, addr := range []string{"127.0.0.1:9090", "127.8.9.10:80", "[::1]:9090", "localhost:9090", "LocalHost:0"} {
					d := doc("", "", "[http]\nlisten = \""+addr+"\"\n")
					cfg, err := Parse([]byte(d), "")
					if err != nil || cfg.HTTP.Listen != addr {
						t.Errorf("listen %q: Listen = %q, err = %v", addr, cfg.HTTP.Listen, err)
					}
				}
			},
		},
		{
			name: "empty http listen disables the listener",
			doc:  doc("", "", "[http]\nlisten = \"\"\n"),
			check: func(t *testing.T, c Config) {
				if c.HTTP.Listen != "" {
					t.Errorf("Listen = %q", c.HTTP.Listen)
				}
			},
		},
		{
			name: "log values are case-insensitive",
			doc:  doc("", "", "[log]\nlevel = \"WARN\"\nformat = \"JSON\"\n"),
			check: func(t *testing.T, c Config) {
				if c.Log.Level != slog.LevelWarn || c.Log.Format != "json" {
					t.Errorf("Log = %+v", c.Log)
				}
			},
		},
		{
			name: "sqlite special database names are kept",
			doc:  doc(`database = ":memory:"`, "", ""),
			check: func(t *testing.T, c Config) {
				if c.Database != ":memory:" {
					t.Errorf("Database = %q", c.Database)
				}
			},
		},
		{
			name: "empty name falls back to the derived one",
			doc:  minimal + "name = \"\"\n",
			check: func(t *testing.T, c Config) {
				if c.Transports[0].Name != "IRC" {
					t.Errorf("Name = %q", c.Transports[0].Name)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.doc), "/base")
			if err != nil {
				t.Fatalf("unexpected error:\n%v", err)
			}
			tt.check(t, cfg)
		})
	}
}

func TestSecretFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("plain.secret", "p4ss")
	write("newline.secret", "p4ss\n")
	write("crlf.secret", "p4ss\r\n\r\n")
	write("inner.secret", " p4 ss \n")
	write("empty.secret", "")
	write("newlines.secret", "\n\n")

	tests := []struct {
		file    string // as written in the config
		want    string
		wantErr string
	}{
		{file: "plain.secret", want: "p4ss"},
		{file: "newline.secret", want: "p4ss"},
		{file: "crlf.secret", want: "p4ss"},
		{file: "inner.secret", want: " p4 ss "},
		{file: filepath.Join(dir, "newline.secret"), want: "p4ss"},
		{file: "empty.secret", wantErr: "is empty"},
		{file: "newlines.secret", wantErr: "is empty"},
		{file: "missing.secret", wantErr: "cannot read the secret"},
		{file: ".", wantErr: "cannot read the secret"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			d := strings.Replace(minimal, `secret = "s3cret"`, `secret_file = "`+tt.file+`"`, 1)
			cfg, err := Parse([]byte(d), dir)
			if tt.wantErr != "" {
				checkProblems(t, err, []Problem{{"transport[0].secret_file", tt.wantErr}})
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Transports[0].Secret; got != tt.want {
				t.Errorf("Secret = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParentDomain(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"irc.example.org", "example.org", true},
		{"a.b.example.org", "b.example.org", true},
		{"irc.localhost", "localhost", true},
		{"example.org", "", false},
		{"localhost", "", false},
		{"192.0.2.1", "", false},
		{"[2001:db8::1]", "", false},
	}
	for _, tt := range tests {
		got, ok := parentDomain(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parentDomain(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDefaultName(t *testing.T) {
	tests := []struct{ kind, want string }{
		{"irc", "IRC"},
		{"sms", "SMS"},
		{"email", "Email"},
		{"mail_list", "Mail List"},
		{"xmpp-irc", "XMPP IRC"},
		{"2fa", "2fa"},
		{"-", "-"},
	}
	for _, tt := range tests {
		if got := defaultName(tt.kind); got != tt.want {
			t.Errorf("defaultName(%q) = %q, want %q", tt.kind, got, tt.want)
		}
	}
}

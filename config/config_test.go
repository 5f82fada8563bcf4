package config

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The shipped example must always be a valid configuration.
func TestExampleFileValidates(t *testing.T) {
	cfg, err := Load("ferry.example.toml")
	if err != nil {
		t.Fatalf("ferry.example.toml does not validate:\n%v", err)
	}
	want := Config{
		Database:       "/var/lib/ferry/ferry.db",
		DatabaseSync:   "normal",
		SecretsKeyFile: "/var/lib/ferry/secrets.key",
		Admins:         []string{"admin@example.org"},
		XMPP: XMPP{
			Address:      "127.0.0.1:5347",
			ServerDomain: "example.org",
			PingInterval: 30 * time.Second,
			PingTimeout:  10 * time.Second,
			ReconnectMin: time.Second,
			ReconnectMax: 60 * time.Second,
			QueueSize:    256,
		},
		Registration: Registration{Open: true, AllowedDomains: []string{"example.org"}},
		HTTP:         HTTP{Listen: "127.0.0.1:9090"},
		Log:          Log{Level: slog.LevelInfo, Format: "text"},
		Transports: []Transport{{
			Kind:   "irc",
			Domain: "irc.example.org",
			Name:   "IRC",
			Secret: "change-me-irc-component-secret",
			Options: map[string]any{
				"allow_other_servers": false, "require_registration": false, "history_lines": int64(20),
				"burst": int64(10), "rate": int64(1),
				"ping_interval": "90s", "ping_timeout": "60s", "reconnect_min": "2s", "reconnect_max": "5m",
				"login_limit_user":    map[string]any{"burst": int64(3), "every": "20s"},
				"login_limit_network": map[string]any{"burst": int64(10), "every": "6s"},
				"network":             []map[string]any{{"name": "irc.libera.chat", "address": "irc.libera.chat:6697", "tls": true}},
			},
		}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
}

// The server-side examples must name the same component domain and secret
// as the TOML example.
func TestServerExamplesMatch(t *testing.T) {
	cfg, err := Load("ferry.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	tr := cfg.Transports[0]
	for _, name := range []string{"prosody.cfg.lua.example", "ejabberd.yml.example"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, want := range []string{`"` + tr.Domain + `"`, `"` + tr.Secret + `"`, "5347", `"127.0.0.1"`} {
			if !strings.Contains(s, want) {
				t.Errorf("%s does not mention %s", name, want)
			}
		}
		// The transports the TOML example only sketches in comments too.
		for _, d := range exampleDomains(t) {
			if !strings.Contains(s, `"`+d+`"`) {
				t.Errorf("%s does not mention the example's transport %s", name, d)
			}
		}
	}
}

// exampleDomains lists every transport domain ferry.example.toml names,
// commented-out ones included.
func exampleDomains(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("ferry.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	table := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(strings.TrimLeft(line, "# "))
		if strings.HasPrefix(line, "[") {
			table = strings.Fields(line)[0]
		}
		if v, ok := strings.CutPrefix(line, `domain = "`); ok && table == "[[transport]]" {
			out = append(out, strings.TrimSuffix(strings.Fields(v)[0], `"`))
		}
	}
	if len(out) < 3 {
		t.Fatalf("found only %v in ferry.example.toml", out)
	}
	return out
}

func TestLoadResolvesRelativePaths(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "etc")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "irc.secret"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := `database = "data/ferry.db"
[xmpp]
address = "127.0.0.1:5347"
[[transport]]
kind = "irc"
domain = "irc.example.org"
secret_file = "irc.secret"
`
	path := filepath.Join(sub, "ferry.toml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(sub, "data", "ferry.db"); cfg.Database != want {
		t.Errorf("Database = %q, want %q", cfg.Database, want)
	}
	if want := filepath.Join(sub, "ferry.key"); cfg.SecretsKeyFile != want {
		t.Errorf("SecretsKeyFile = %q, want %q (default, next to the file)", cfg.SecretsKeyFile, want)
	}
	if cfg.Transports[0].Secret != "from-file" {
		t.Errorf("Secret = %q", cfg.Transports[0].Secret)
	}

	// A relative config path still gives absolute paths.
	t.Chdir(dir)
	cfg, err = Load(filepath.Join("etc", "ferry.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(sub, "data", "ferry.db"); cfg.Database != want {
		t.Errorf("relative load: Database = %q, want %q", cfg.Database, want)
	}
}

func TestParseWithoutBaseDirKeepsRelativePaths(t *testing.T) {
	cfg, err := Parse([]byte(`database = "x/ferry.db"`+minimal), "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database != "x/ferry.db" || cfg.SecretsKeyFile != "ferry.key" {
		t.Errorf("Database = %q, SecretsKeyFile = %q", cfg.Database, cfg.SecretsKeyFile)
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}

	path := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(path, []byte("[xmpp]\naddress = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	checkProblems(t, err, []Problem{
		{"xmpp.address", "must be a string"},
		{"xmpp.server_domain", "required"},
		{"transport", "required"},
	})
}

func TestErrorsFormat(t *testing.T) {
	tests := []struct {
		problems []Problem
		want     string
	}{
		{[]Problem{{"xmpp.address", "required"}}, "xmpp.address: required"},
		{
			[]Problem{{"transport[1].domain", "bad"}, {"log.level", "worse"}},
			"transport[1].domain: bad\nlog.level: worse",
		},
		{[]Problem{{"", "line 3, column 1: oops"}}, "line 3, column 1: oops"},
	}
	for _, tt := range tests {
		if got := (&Errors{tt.problems}).Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if err := (&Errors{}).err(); err != nil {
		t.Errorf("empty Errors.err() = %v, want nil", err)
	}
}

func TestDomainAllowed(t *testing.T) {
	tests := []struct {
		allowed []string
		domain  string
		want    bool
	}{
		{[]string{"example.org"}, "example.org", true},
		{[]string{"example.org"}, "EXAMPLE.org.", true},
		{[]string{"example.org"}, "sub.example.org", false},
		{[]string{"example.org"}, "example.net", false},
		{[]string{"example.org", "example.net"}, "example.net", true},
		{[]string{"Example.ORG"}, "example.org", true}, // hand-built lists too
		{[]string{"*"}, "anything.example", true},
		{[]string{"*"}, "", false},
		{[]string{"*"}, "not a domain", false},
		{[]string{"example.org"}, "user@example.org", false},
		{nil, "example.org", false},
	}
	for _, tt := range tests {
		r := Registration{AllowedDomains: tt.allowed}
		if got := r.DomainAllowed(tt.domain); got != tt.want {
			t.Errorf("%q.DomainAllowed(%q) = %v, want %v", tt.allowed, tt.domain, got, tt.want)
		}
	}
}

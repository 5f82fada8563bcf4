package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", for building old databases

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/registry"
)

// These tests drive the CLI through run, the way an operator does, and look
// only at what an operator sees: the exit code, stdout, stderr and the
// files left behind.

// fakeKind is the bridge kind the tests register in knownBridges.
const fakeKind = "fake"

// stubBridge is the least a bridges.Bridge can be; none of the commands
// tested here ever calls it.
type stubBridge struct{}

func (stubBridge) Describe() bridges.Descriptor {
	return bridges.Descriptor{Kind: fakeKind, Name: "Fake", IdentityType: "fake"}
}

func (stubBridge) Validate(_ context.Context, r bridges.Registration) (map[string]string, error) {
	return r.Values, nil
}

func (stubBridge) MapPrompt(_ context.Context, prompt string) (string, error) { return prompt, nil }

func (stubBridge) Open(context.Context, bridges.Account, bridges.Events) (bridges.Session, error) {
	return nil, errors.New("stub bridge: no sessions")
}

// stubFactory refuses options containing reject = true, so that the tests
// can see how a bridge's own option errors reach the operator.
func stubFactory(_ string, opts map[string]any, _ bridges.Deps) (bridges.Bridge, error) {
	if v, _ := opts["reject"].(bool); v {
		return nil, errors.New("reject is set")
	}
	return stubBridge{}, nil
}

// withBridges replaces knownBridges for the duration of the test. Tests
// that call it must not run in parallel.
func withBridges(t *testing.T, m map[string]bridges.Factory) {
	t.Helper()
	saved := knownBridges
	knownBridges = m
	t.Cleanup(func() { knownBridges = saved })
}

// withFakeBridge registers only fakeKind.
func withFakeBridge(t *testing.T) {
	t.Helper()
	withBridges(t, map[string]bridges.Factory{fakeKind: stubFactory})
}

// cli runs the command line and returns its exit code and output.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	t.Logf("ferry %s -> %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String(), errOut.String()
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// dirNames lists the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func containsAll(t *testing.T, stream, got string, want []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not mention %q", stream, w)
		}
	}
}

func containsNone(t *testing.T, stream, got string, unwanted []string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(got, w) {
			t.Errorf("%s mentions %q, which it should not", stream, w)
		}
	}
}

// validConfig is a minimal correct configuration using fakeKind. Database
// and key file are left at their defaults, ferry.db and ferry.key next to
// the configuration file.
const validConfig = `
[xmpp]
address = "127.0.0.1:5347"

[[transport]]
kind = "fake"
domain = "fake.example.org"
secret = "component-secret"
`

func TestTopLevelCommands(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
		// emptyStdout and emptyStderr require that stream to stay silent.
		emptyStdout, emptyStderr bool
	}{
		{
			name:        "no arguments prints usage on stderr",
			args:        nil,
			wantCode:    2,
			wantStderr:  []string{"usage: ferry", "check-config", "migrate", "run", "version"},
			emptyStdout: true,
		},
		{
			name:        "version",
			args:        []string{"version"},
			wantCode:    0,
			wantStdout:  []string{"ferry "},
			emptyStderr: true,
		},
		{
			name:        "--version",
			args:        []string{"--version"},
			wantCode:    0,
			wantStdout:  []string{"ferry "},
			emptyStderr: true,
		},
		{
			name:        "help prints usage on stdout",
			args:        []string{"help"},
			wantCode:    0,
			wantStdout:  []string{"usage: ferry"},
			emptyStderr: true,
		},
		{
			name:        "unknown command is named",
			args:        []string{"frobnicate"},
			wantCode:    2,
			wantStderr:  []string{`unknown command "frobnicate"`, "usage: ferry"},
			emptyStdout: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d", code, tc.wantCode)
			}
			containsAll(t, "stdout", stdout, tc.wantStdout)
			containsAll(t, "stderr", stderr, tc.wantStderr)
			if tc.emptyStdout && stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if tc.emptyStderr && stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
		})
	}
}

func TestVersionOutput(t *testing.T) {
	code, stdout, _ := cli(t, "version")
	if code != 0 {
		t.Fatalf("exit code = %d, want 0", code)
	}
	// One line, "ferry VERSION", with a non-empty version.
	line, rest, _ := strings.Cut(stdout, "\n")
	if rest != "" {
		t.Errorf("version printed more than one line: %q", stdout)
	}
	v, ok := strings.CutPrefix(line, "ferry ")
	if !ok || strings.TrimSpace(v) == "" {
		t.Errorf("version line = %q, want \"ferry VERSION\"", line)
	}
}

func TestCheckConfig(t *testing.T) {
	tests := []struct {
		name string
		// config is written to DIR/ferry.toml unless missing is set.
		config  string
		missing bool
		// files are extra files written next to the configuration.
		files map[string]string
		// bridges replaces knownBridges; nil means only fakeKind.
		bridges    map[string]bridges.Factory
		wantCode   int
		wantStdout []string
		// wantStderr may use PATH for the configuration file's path.
		wantStderr []string
		notStderr  []string
	}{
		{
			name:       "valid",
			config:     validConfig,
			wantCode:   0,
			wantStdout: []string{"PATH: ok"},
		},
		{
			name: "valid with every section and a relative secret_file",
			config: `
database = "state.db"
secrets_key_file = "state.key"
admins = ["admin@example.org"]

[xmpp]
address = "localhost:5347"
server_domain = "example.org"
ping_interval = "20s"
ping_timeout = "5s"
queue_size = 10

[registration]
open = false
allowed_domains = ["example.org", "example.net"]

[http]
listen = "127.0.0.1:9090"

[log]
level = "debug"
format = "json"

[[transport]]
kind = "fake"
domain = "fake.example.org"
secret_file = "fake.secret"
name = "Fake Network"

[transport.options]
anything = "goes"
`,
			files:      map[string]string{"fake.secret": "from-a-file\n"},
			wantCode:   0,
			wantStdout: []string{"PATH: ok"},
		},
		{
			name: "several problems are all reported",
			config: `
colour = "blue"

[xmpp]
address = "localhost"

[log]
level = "loud"

[[transport]]
kind = "fake"
domain = "fake.example.org"
sekret = "typo"

[[transport]]
kind = "fake"
domain = "fake.example.org"
secret = "x"
`,
			wantCode: 1,
			wantStderr: []string{
				"PATH",
				"colour: unknown key",
				"xmpp.address: ",
				"log.level: ",
				"transport[0].sekret: unknown key",
				"transport[0].secret: ",
				"transport[1].domain: ",
			},
		},
		{
			name:     "empty file lacks the required settings",
			config:   "",
			wantCode: 1,
			wantStderr: []string{
				"xmpp.address: required",
				"transport: at least one [[transport]] table is required",
			},
		},
		{
			name:       "secret_file that does not exist",
			config:     strings.Replace(validConfig, `secret = "component-secret"`, `secret_file = "no-such.secret"`, 1),
			wantCode:   1,
			wantStderr: []string{"transport[0].secret_file: ", "no-such.secret"},
		},
		{
			name:       "unknown bridge kind names the key and the known kinds",
			config:     strings.Replace(validConfig, `kind = "fake"`, `kind = "smoke-signal"`, 1),
			bridges:    map[string]bridges.Factory{fakeKind: stubFactory, "pigeon": stubFactory},
			wantCode:   1,
			wantStderr: []string{"PATH", "transport[0].kind: ", `"smoke-signal"`, "known: fake, pigeon"},
		},
		{
			name:       "unknown bridge kind when none are built in",
			config:     validConfig,
			bridges:    map[string]bridges.Factory{},
			wantCode:   1,
			wantStderr: []string{"transport[0].kind: ", `"fake"`, "known: none yet"},
		},
		{
			name: "only the transport with the unknown kind is blamed",
			config: validConfig + `
[[transport]]
kind = "smoke-signal"
domain = "smoke.example.org"
secret = "x"
`,
			wantCode:   1,
			wantStderr: []string{"transport[1].kind: ", `"smoke-signal"`},
			notStderr:  []string{"transport[0]"},
		},
		{
			name: "options the bridge rejects",
			config: validConfig + `
[transport.options]
reject = true
`,
			wantCode:   1,
			wantStderr: []string{"transport[0].options: ", "reject is set"},
		},
		{
			name:       "missing file names the path",
			missing:    true,
			wantCode:   1,
			wantStderr: []string{"PATH"},
		},
		{
			name: "TOML syntax error gives the line",
			config: `[xmpp]
address = "127.0.0.1:5347"
queue_size = = 5
`,
			wantCode:   1,
			wantStderr: []string{"PATH", "line 3"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bridges != nil {
				withBridges(t, tc.bridges)
			} else {
				withFakeBridge(t)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "ferry.toml")
			if !tc.missing {
				writeFile(t, dir, "ferry.toml", tc.config)
			}
			for name, content := range tc.files {
				writeFile(t, dir, name, content)
			}
			before := dirNames(t, dir)

			code, stdout, stderr := cli(t, "check-config", path)

			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d", code, tc.wantCode)
			}
			sub := func(ss []string) []string {
				out := make([]string, len(ss))
				for i, s := range ss {
					out[i] = strings.ReplaceAll(s, "PATH", path)
				}
				return out
			}
			containsAll(t, "stdout", stdout, sub(tc.wantStdout))
			containsAll(t, "stderr", stderr, sub(tc.wantStderr))
			containsNone(t, "stderr", stderr, sub(tc.notStderr))
			if code == 0 && stderr != "" {
				t.Errorf("a valid file printed to stderr: %q", stderr)
			}
			if code != 0 && strings.Contains(stdout, "ok") {
				t.Errorf("an invalid file printed %q to stdout", stdout)
			}
			// Checking must not create the database or the key file.
			if after := dirNames(t, dir); !slices.Equal(after, before) {
				t.Errorf("check-config changed the directory: before %v, after %v", before, after)
			}
		})
	}
}

func TestCheckConfigUsage(t *testing.T) {
	for _, args := range [][]string{
		{"check-config"},
		{"check-config", "a.toml", "b.toml"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := cli(t, args...)
			if code != 2 {
				t.Errorf("exit code = %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			containsAll(t, "stderr", stderr, []string{"usage: ferry check-config [-config] FILE"})
		})
	}
}

// sqlDB opens path directly, without the registry's checks.
func sqlDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func userVersion(t *testing.T, path string) int {
	t.Helper()
	db := sqlDB(t, path)
	defer db.Close()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func exec(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	if _, err := db.Exec(query); err != nil {
		t.Fatalf("%.60s...: %v", query, err)
	}
}

// makeCurrentDB creates a database the way the daemon does.
func makeCurrentDB(t *testing.T, path string) {
	t.Helper()
	sealer, err := registry.NewSealer(make([]byte, registry.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	store, err := registry.Open(context.Background(), path, sealer, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
}

// makeV1DB builds a database as ferry's first schema left it, holding one
// account so that the upgrade can be seen to keep data.
func makeV1DB(t *testing.T, path string) {
	t.Helper()
	schema, err := os.ReadFile(filepath.Join("..", "..", "registry", "testdata", "v1.sql"))
	if err != nil {
		t.Fatal(err)
	}
	db := sqlDB(t, path)
	exec(t, db, string(schema))
	exec(t, db, "PRAGMA user_version = 1")
	exec(t, db, `INSERT INTO accounts (transport, jid, created_at, updated_at)
		VALUES ('fake.example.org', 'user@example.org', 1, 1)`)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func setVersionDB(v int) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		t.Helper()
		db := sqlDB(t, path)
		exec(t, db, fmt.Sprintf("PRAGMA user_version = %d", v))
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMigrate(t *testing.T) {
	current := registry.SchemaVersion
	tests := []struct {
		name string
		// config defaults to validConfig plus database = "ferry-state.db".
		config string
		// setup prepares the database at path; nil leaves it absent.
		setup    func(t *testing.T, path string)
		wantCode int
		// DB in wantStdout and wantStderr stands for the database path.
		wantStdout []string
		wantStderr []string
		// check inspects the database afterwards.
		check func(t *testing.T, path string)
	}{
		{
			name:       "missing database is refused, not created",
			setup:      nil,
			wantCode:   1,
			wantStderr: []string{"ferry: migrate DB", "stat DB"},
			check: func(t *testing.T, path string) {
				if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("migrate left something at %s: %v", path, err)
				}
			},
		},
		{
			name: "empty file gets the whole schema",
			setup: func(t *testing.T, path string) {
				writeFile(t, filepath.Dir(path), filepath.Base(path), "")
			},
			wantCode:   0,
			wantStdout: []string{fmt.Sprintf("DB: schema upgraded from version 0 to %d", current)},
			check: func(t *testing.T, path string) {
				if v := userVersion(t, path); v != current {
					t.Errorf("user_version = %d, want %d", v, current)
				}
			},
		},
		{
			name:       "current database is left alone",
			setup:      makeCurrentDB,
			wantCode:   0,
			wantStdout: []string{fmt.Sprintf("DB: schema is current (version %d)", current)},
		},
		{
			name:       "version 1 database is upgraded",
			setup:      makeV1DB,
			wantCode:   0,
			wantStdout: []string{fmt.Sprintf("DB: schema upgraded from version 1 to %d", current)},
			check: func(t *testing.T, path string) {
				if v := userVersion(t, path); v != current {
					t.Errorf("user_version = %d, want %d", v, current)
				}
				var n int
				if err := sqlDB(t, path).QueryRow("SELECT count(*) FROM accounts").Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != 1 {
					t.Errorf("accounts has %d rows after the upgrade, want 1", n)
				}
				// A second run finds nothing to do.
				code, stdout, _ := cli(t, "migrate", "-config", filepath.Join(filepath.Dir(path), "ferry.toml"))
				if code != 0 || !strings.Contains(stdout, "schema is current") {
					t.Errorf("second migrate: exit %d, stdout %q; want 0 and \"schema is current\"", code, stdout)
				}
			},
		},
		{
			name:       "database from a newer ferry is refused untouched",
			setup:      setVersionDB(999),
			wantCode:   1,
			wantStderr: []string{"ferry: migrate DB", "999", "newer"},
			check: func(t *testing.T, path string) {
				if v := userVersion(t, path); v != 999 {
					t.Errorf("user_version = %d, want it left at 999", v)
				}
			},
		},
		{
			name: "another program's database is refused",
			setup: func(t *testing.T, path string) {
				db := sqlDB(t, path)
				exec(t, db, "CREATE TABLE photos (id INTEGER PRIMARY KEY)")
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
			},
			wantCode:   1,
			wantStderr: []string{"ferry: migrate DB", "refusing"},
			check: func(t *testing.T, path string) {
				if v := userVersion(t, path); v != 0 {
					t.Errorf("user_version = %d, want it left at 0", v)
				}
			},
		},
		{
			name:       "invalid configuration stops before the database",
			config:     "database = \"ferry-state.db\"\n[xmpp]\naddress = \"nowhere\"\n",
			setup:      setVersionDB(1),
			wantCode:   1,
			wantStderr: []string{"xmpp.address: "},
			check: func(t *testing.T, path string) {
				if v := userVersion(t, path); v != 1 {
					t.Errorf("user_version = %d, want it left at 1", v)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			withFakeBridge(t)
			dir := t.TempDir()
			config := tc.config
			if config == "" {
				// Relative: resolved against the configuration's directory,
				// not the working directory.
				config = "database = \"ferry-state.db\"\n" + validConfig
			}
			cfgPath := writeFile(t, dir, "ferry.toml", config)
			dbPath := filepath.Join(dir, "ferry-state.db")
			if tc.setup != nil {
				tc.setup(t, dbPath)
			}

			code, stdout, stderr := cli(t, "migrate", "-config", cfgPath)

			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d", code, tc.wantCode)
			}
			sub := func(ss []string) []string {
				out := make([]string, len(ss))
				for i, s := range ss {
					out[i] = strings.ReplaceAll(s, "DB", dbPath)
				}
				return out
			}
			containsAll(t, "stdout", stdout, sub(tc.wantStdout))
			containsAll(t, "stderr", stderr, sub(tc.wantStderr))
			if code == 0 && stderr != "" {
				t.Errorf("a successful migrate printed to stderr: %q", stderr)
			}
			if code != 0 && stdout != "" {
				t.Errorf("a failed migrate printed to stdout: %q", stdout)
			}
			if tc.check != nil {
				tc.check(t, dbPath)
			}
		})
	}
}

func TestMigrateBadFlag(t *testing.T) {
	code, stdout, stderr := cli(t, "migrate", "-confg", "ferry.toml")
	if code != 2 {
		t.Errorf("exit code = %d, want 2", code)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	containsAll(t, "stderr", stderr, []string{"-confg", "-config"})
}

// TestRunInvalidConfig checks that `ferry run` refuses a bad configuration
// before it starts anything: no database, no key file, no log lines.
func TestRunInvalidConfig(t *testing.T) {
	tests := []struct {
		name       string
		config     string // "" means no file
		args       func(cfgPath string) []string
		wantCode   int
		wantStderr []string
	}{
		{
			name:       "invalid values",
			config:     "[xmpp]\naddress = \"127.0.0.1\"\n",
			wantCode:   1,
			wantStderr: []string{"CFG", "xmpp.address: ", "transport: "},
		},
		{
			name:       "unknown bridge kind",
			config:     strings.Replace(validConfig, `kind = "fake"`, `kind = "smoke-signal"`, 1),
			wantCode:   1,
			wantStderr: []string{"CFG", "transport[0].kind: ", "known: fake"},
		},
		{
			name:       "options the bridge rejects",
			config:     validConfig + "\n[transport.options]\nreject = true\n",
			wantCode:   1,
			wantStderr: []string{"transport[0].options: "},
		},
		{
			name:       "syntax error",
			config:     "[xmpp]\naddress = \"127.0.0.1:5347\" 5347\n",
			wantCode:   1,
			wantStderr: []string{"CFG", "line 2"},
		},
		{
			name:       "missing file",
			config:     "",
			wantCode:   1,
			wantStderr: []string{"CFG"},
		},
		{
			name:       "unknown flag",
			config:     validConfig,
			args:       func(p string) []string { return []string{"run", "-config", p, "-verbose"} },
			wantCode:   2,
			wantStderr: []string{"-verbose"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			withFakeBridge(t)
			dir := t.TempDir()
			cfgPath := filepath.Join(dir, "ferry.toml")
			if tc.config != "" {
				writeFile(t, dir, "ferry.toml", tc.config)
			}
			before := dirNames(t, dir)
			args := []string{"run", "-config", cfgPath}
			if tc.args != nil {
				args = tc.args(cfgPath)
			}

			code, stdout, stderr := cli(t, args...)

			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d", code, tc.wantCode)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			for _, w := range tc.wantStderr {
				w = strings.ReplaceAll(w, "CFG", cfgPath)
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q", w)
				}
			}
			containsNone(t, "stderr", stderr, []string{"ferry running", "level=", `"level"`})
			// Nothing was started: the default ferry.db and ferry.key, which
			// live next to the configuration, were not created.
			if after := dirNames(t, dir); !slices.Equal(after, before) {
				t.Errorf("run changed the directory: before %v, after %v", before, after)
			}
		})
	}
}

// The config file may be given with or without -config; extra arguments
// are refused rather than silently ignored.
func TestConfigArgumentForms(t *testing.T) {
	dir := t.TempDir()
	missing := dir + "/nope.toml"
	for _, args := range [][]string{
		{"migrate", missing},
		{"migrate", "-config", missing},
		{"check-config", "-config", missing},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 1 || !strings.Contains(errb.String(), missing) {
			t.Errorf("%v -> %d, stderr %q; want 1 naming %s", args, code, errb.String(), missing)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"migrate", "-config", missing, "extra"}, &out, &errb); code != 2 {
		t.Errorf("extra argument -> %d, want 2", code)
	}
}

// The annotated example config must stay valid for this build's bridges.
// Its state lives in /var/lib/ferry, which the package creates; here a
// temporary directory stands in for it.
func TestExampleConfigChecks(t *testing.T) {
	example, err := os.ReadFile("../../config/ferry.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := writeFile(t, dir, "ferry.toml", strings.ReplaceAll(string(example), "/var/lib/ferry/", dir+"/"))
	var out, errb bytes.Buffer
	if code := run([]string{"check-config", cfg}, &out, &errb); code != 0 {
		t.Fatalf("check-config on the example: exit %d\n%s", code, errb.String())
	}
}

// The daemon runs Go code on one thread unless GOMAXPROCS says otherwise,
// and then keeps what it says.
func TestSchedulerThreads(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	for _, tc := range []struct {
		env        string // "": unset
		wantN      int
		wantChosen bool
	}{
		{"", 1, true},
		{"3", 3, false},
	} {
		runtime.GOMAXPROCS(2)
		if tc.env == "" {
			t.Setenv("GOMAXPROCS", "")
			os.Unsetenv("GOMAXPROCS")
		} else {
			t.Setenv("GOMAXPROCS", tc.env)
			runtime.GOMAXPROCS(tc.wantN) // what the runtime took from it at start
		}
		n, chosen := schedulerThreads()
		if n != tc.wantN || chosen != tc.wantChosen || runtime.GOMAXPROCS(0) != tc.wantN {
			t.Errorf("GOMAXPROCS=%q: schedulerThreads() = %d, %v and GOMAXPROCS is %d; want %d, %v", tc.env, n, chosen, runtime.GOMAXPROCS(0), tc.wantN, tc.wantChosen)
		}
	}
}

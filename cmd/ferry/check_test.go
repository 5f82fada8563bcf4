package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc"
)

// One run of check-config lists every problem: the file's own (with a
// suggestion for a typo), every bad option of every transport, and the
// secrets key run would refuse.
func TestCheckConfigFindsEverythingInOnePass(t *testing.T) {
	withBridges(t, map[string]bridges.Factory{irc.Kind: irc.Factory})
	dir := t.TempDir()
	key := writeFile(t, dir, "ferry.key", strings.Repeat("k", 32))
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, dir, "ferry.toml", `
[xmpp]
adress = "127.0.0.1:5347"

[[transport]]
kind = "irc"
domain = "irc.example.org"
secret = "s"
[transport.options]
brust = 10
rate = -1
[[transport.options.network]]
name = "irc.test"
adress = "irc.test:6697"
tls = "yes"

[[transport]]
kind = "irc"
domain = "irc2.example.org"
secret = "s"
[transport.options]
ping_interval = "soon"
`)
	code, stdout, stderr := cli(t, "check-config", cfg)
	if code != 1 || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	containsAll(t, "stderr", stderr, []string{
		`xmpp.adress: unknown key (did you mean "address"?)`,
		`xmpp.address: required`,
		`transport[0].options.brust: unknown option (did you mean "burst"?)`,
		`transport[0].options.rate: must be a number`,
		`transport[0].options.network[0].adress: unknown option (did you mean "address"?)`,
		`transport[0].options.network[0].tls: must be true or false`,
		`transport[1].options.ping_interval: must be a duration`,
		`secrets_key_file: key file ` + key + ` has mode 0644`,
	})
}

// A syntax error names its line and quotes it.
func TestCheckConfigSyntaxError(t *testing.T) {
	withFakeBridge(t)
	cfg := writeFile(t, t.TempDir(), "ferry.toml", "[xmpp]\naddress = \"127.0.0.1:5347\" 5347\n")
	code, _, stderr := cli(t, "check-config", cfg)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	containsAll(t, "stderr", stderr, []string{"line 2: ", `    address = "127.0.0.1:5347" 5347`})
}

// The key file checks are run's: a key of the wrong size is refused by
// both, before anything starts.
func TestWrongSizeKeyRefusedByBoth(t *testing.T) {
	withFakeBridge(t)
	dir := t.TempDir()
	writeFile(t, dir, "ferry.key", "short")
	cfg := writeFile(t, dir, "ferry.toml", validConfig)
	for _, cmd := range []string{"check-config", "run"} {
		code, _, stderr := cli(t, cmd, cfg)
		if code != 1 || !strings.Contains(stderr, "is not a 32-byte key") {
			t.Errorf("%s: exit %d, stderr %q", cmd, code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ferry.db")); err == nil {
		t.Error("run created the database despite the bad key")
	}
}

// A component secret file every user can read is worth a warning from both
// commands, but does not stop either.
func TestWorldReadableSecretFileWarned(t *testing.T) {
	withFakeBridge(t)
	dir := t.TempDir()
	secret := writeFile(t, dir, "component.secret", "s3cret\n")
	if err := os.Chmod(secret, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, dir, "ferry.toml", strings.Replace(validConfig, `secret = "component-secret"`, `secret_file = "component.secret"`, 1))
	code, stdout, stderr := cli(t, "check-config", cfg)
	if code != 0 || !strings.Contains(stdout, ": ok") {
		t.Fatalf("check-config: exit %d, stdout %q", code, stdout)
	}
	containsAll(t, "stderr", stderr, []string{"warning: transport[0].secret_file: " + secret + " is readable by every user", "chmod 640"})
	cfgRun := loadWarnings(t, cfg)
	if len(cfgRun) != 1 || !strings.Contains(cfgRun[0], "readable by every user") {
		t.Errorf("run's warnings: %v", cfgRun)
	}
	if err := os.Chmod(secret, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, stderr := cli(t, "check-config", cfg); strings.Contains(stderr, "warning") {
		t.Errorf("warned about a private secret file: %s", stderr)
	}
}

// loadWarnings is what run logs before it starts: the config's warnings.
func loadWarnings(t *testing.T, path string) []string {
	t.Helper()
	cfg, ok := loadConfig(path, true, os.Stderr)
	if !ok {
		t.Fatal("config refused")
	}
	var out []string
	for _, w := range cfg.Warnings {
		out = append(out, w.String())
	}
	return out
}

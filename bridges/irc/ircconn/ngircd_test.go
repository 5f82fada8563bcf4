package ircconn

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const ngircdPath = "/usr/sbin/ngircd"

// startNgircd runs a private ngIRCd on a loopback port for the test and
// returns its address; the test is skipped when ngIRCd is not installed.
func startNgircd(t *testing.T, password string) string {
	t.Helper()
	if _, err := os.Stat(ngircdPath); err != nil {
		t.Skipf("ngircd not installed: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	dir := t.TempDir()
	// ngIRCd drops root for "nobody", which must still read the MOTD.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "ngircd.conf")
	motd := filepath.Join(dir, "motd")
	if err := os.WriteFile(motd, []byte("ferry ircconn test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`[Global]
	Name = irc.ferry.test
	Info = ferry ircconn test
	Listen = 127.0.0.1
	Ports = %d
	MotdFile = %s
	Password = %s
	Network = FerryTest
[Limits]
	PingTimeout = 120
	PongTimeout = 20
	MaxConnectionsIP = 0
[Options]
	PAM = no
	Ident = no
	DNS = no
	OperCanUseMode = yes
`, port, motd, password)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ngircdPath, "--nodaemon", "--config", conf)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("ngircd output:\n%s", out.String())
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(step)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("ngircd did not listen on %s: %v\n%s", addr, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNgircd(t *testing.T) {
	addr := startNgircd(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 4*step)
	defer cancel()
	// ngIRCd may hold a client's commands back for a while after a NICK
	// or JOIN (its flood penalty), a keepalive PING included: the timeout
	// leaves room for that while the interval makes several rounds pass.
	cfg := Config{Addr: addr, Nick: "alice", Rate: -1, PingInterval: 200 * time.Millisecond, PingTimeout: 10 * time.Second}
	alice, err := Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	serveForTest(t, alice, 1024)
	t.Logf("ngircd: caps %v, isupport %v", alice.Caps(), alice.ISupport().Tokens())
	if alice.Nick() != "alice" || alice.ISupport().Network != "FerryTest" || alice.ISupport().NickLen == 0 {
		t.Fatalf("nick %q, isupport %+v", alice.Nick(), alice.ISupport())
	}

	// Same nick again: the fallback is used.
	bob, err := Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	serveForTest(t, bob, 1024)
	if bob.Nick() != "alice_" {
		t.Fatalf("second connection's nick %q, want alice_", bob.Nick())
	}
	if err := bob.SendRaw(ctx, "NICK bob"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, func(m msg) bool { return m.Command == "NICK" })
	if bob.Nick() != "bob" {
		t.Fatalf("Nick() after NICK = %q", bob.Nick())
	}

	for _, c := range []*Conn{alice, bob} {
		if err := c.SendRaw(ctx, "JOIN #ferry"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, c, func(m msg) bool { return m.Command == "366" }) // end of NAMES
	}
	// Several keepalive rounds pass while alice talks; none ends the
	// connection and no PONG is delivered.
	for i := range 5 {
		text := fmt.Sprintf("hello %d: with spaces", i)
		if err := alice.Send(ctx, privmsg("#ferry", text)); err != nil {
			t.Fatal(err)
		}
		m := waitFor(t, bob, func(m msg) bool { return m.Command == "PRIVMSG" })
		if m.Nick() != "alice" || m.Params[0] != "#ferry" || m.Params[1] != text {
			t.Fatalf("bob got %v from %s", m.Params, m.Source)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := alice.Close(ctx, "gone fishing"); err != nil {
		t.Fatal(err)
	}
	m := waitFor(t, bob, func(m msg) bool { return m.Command == "QUIT" })
	if m.Nick() != "alice" || !strings.Contains(m.Params[0], "gone fishing") {
		t.Fatalf("bob got %v", m)
	}
	wantErrKind(t, alice.Err(), KindClosed, "")
}

func TestNgircdFailures(t *testing.T) {
	addr := startNgircd(t, "letmein")
	ctx, cancel := context.WithTimeout(context.Background(), 4*step)
	defer cancel()

	_, err := Dial(ctx, Config{Addr: addr, Nick: "alice", Password: "wrong"})
	e := wantErrKind(t, err, KindPassword, "")
	t.Logf("wrong password: %v", e)

	_, err = Dial(ctx, Config{Addr: addr, Nick: "alice", Password: "letmein", SASL: "PLAIN", SASLUser: "alice", SASLPass: "x"})
	e = wantErrKind(t, err, KindSASL, "")
	t.Logf("no SASL: %v", e)

	_, err = Dial(ctx, Config{Addr: addr, Nick: "zoë", Password: "letmein"})
	e = wantErrKind(t, err, KindNick, "432")
	t.Logf("bad nick: %v", e)

	c, err := Dial(ctx, Config{Addr: addr, Nick: "alice", Password: "letmein"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close(ctx, "")
}

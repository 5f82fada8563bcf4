package testenv

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Time limits for mail server processes. Dovecot and Postfix are listening
// within half a second; the limits only bound a broken run.
const (
	mailReadyTimeout = 20 * time.Second
	mailStopTimeout  = 10 * time.Second
	mailKillTimeout  = 2 * time.Second
)

// mailUID and mailGID (nobody, nogroup) own the maildirs: Dovecot refuses to
// access mail as root, so it and Postfix's virtual delivery work as these.
const (
	mailUID = 65534
	mailGID = 65534
)

// Dovecot is one Dovecot IMAP server run by a test. Its port stays the same
// across Stop and Start.
type Dovecot struct {
	IMAPAddr string // "127.0.0.1:PORT", plain text IMAP with LOGIN and AUTHENTICATE PLAIN, and STARTTLS
	// IMAPSAddr is "127.0.0.1:PORT" with implicit TLS. The certificate is
	// for 127.0.0.1, localhost and mail.testenv.invalid, from the test CA
	// in CAFile (PEM).
	IMAPSAddr string
	CAFile    string
	certFile  string // server certificate and CA, PEM (Postfix uses it too)
	keyFile   string
	Dir       string // the temporary directory; users' maildirs are Dir/mail/<user>

	// AuthSocket is the absolute path of a Unix socket (mode 0666) of
	// Dovecot's auth server speaking its client protocol: what Postfix's
	// smtpd uses as smtpd_sasl_path with smtpd_sasl_type = dovecot
	// (PostfixOptions.Submission). It takes the same users and passwords
	// as IMAP, with the mechanisms PLAIN and LOGIN.
	AuthSocket string

	users   map[string]string
	uid     int
	gid     int
	bin     string
	config  string
	logFile string
	console string

	mu   sync.Mutex
	proc *mailProc
}

type mailProc struct {
	cmd  *exec.Cmd
	out  *os.File
	done chan struct{} // closed when the process has exited
	err  error         // from Wait, valid once done is closed
}

// NeedDovecot is Need(t, "dovecot"), also looking in /usr/sbin and
// /usr/local/sbin, and checks that the test runs as root: StartDovecot uses
// the system's dovecot and dovenull users for its login and auth processes
// and keeps mail as nobody (a set-up as an ordinary user is not supported).
// Like Need, it skips the test, or fails it in CI.
func NeedDovecot(t TB) string {
	t.Helper()
	bin := needIn(t, "dovecot", "/usr/sbin", "/usr/local/sbin")
	needRoot(t, "dovecot")
	return bin
}

// needRoot skips the test unless it runs as root, or fails it in CI.
func needRoot(t TB, server string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("testenv: %s needs the tests to run as root, in CI too", server)
	}
	t.Skipf("testenv: %s needs the tests to run as root", server)
}

// StartDovecot writes a configuration in a new temporary directory, starts
// Dovecot in the foreground with IMAP on a loopback port picked at random,
// and waits until it greets IMAP clients (its auth server is up then). It is stopped when the test ends;
// if the test failed, the end of its log is written to the test log.
//
// users maps each login name (a plain name or a full address such as
// alice@mail.test) to its password. Mail is kept in maildirs under
// Dir/mail/<user>; nothing of /etc/dovecot is read. IMAPAddr offers
// STARTTLS and IMAPSAddr implicit TLS, with a certificate of a test CA
// (CAFile); plain text logins are allowed too. The same logins work over AuthSocket, for
// Postfix's SMTP AUTH. A failed login is answered after about half a second
// (Dovecot's own timer; there is no growing penalty). WaitMail and Mails
// read what was delivered.
func StartDovecot(t TB, users map[string]string) *Dovecot {
	t.Helper()
	bin := NeedDovecot(t)
	dir := t.TempDir()
	d := &Dovecot{
		Dir:     dir,
		users:   maps.Clone(users),
		bin:     bin,
		config:  filepath.Join(dir, "dovecot.conf"),
		logFile: filepath.Join(dir, "dovecot.log"),
		console: filepath.Join(dir, "dovecot.console"),
		// Relative listener paths are in base_dir, Dir/run.
		AuthSocket: filepath.Join(dir, "run", dovecotAuthListener),
	}
	d.uid, d.gid = mailUID, mailGID
	for _, sub := range []string{"run", "mail", "tls"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	var err error
	if d.CAFile, d.certFile, d.keyFile, err = writeTestCA(filepath.Join(dir, "tls"), "mail.testenv.invalid"); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	// The temporary directory is private to root; Dovecot's mail processes
	// (and Postfix's virtual delivery) run as d.uid and must reach the
	// maildirs.
	if err := openTempDir(dir); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := os.Chown(filepath.Join(dir, "mail"), d.uid, d.gid); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	var pw strings.Builder
	for _, name := range slices.Sorted(maps.Keys(users)) {
		if name == "" || strings.ContainsAny(name, ":/\r\n\t ") || strings.ContainsAny(users[name], ":\r\n") {
			t.Fatalf("testenv: dovecot user %q or its password has a character passwd-file cannot hold", name)
		}
		fmt.Fprintf(&pw, "%s:{PLAIN}%s\n", name, users[name])
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(pw.String()), 0o644); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			d.dumpLog(t)
		}
	})
	for attempt := 1; attempt <= startAttempts; attempt++ {
		d.IMAPAddr = loopback(FreePort(t))
		d.IMAPSAddr = loopback(FreePort(t))
		if err = d.writeConfig(); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		err = d.start()
		if !errors.Is(err, errPortTaken) {
			break
		}
		d.stop()
	}
	if err != nil {
		t.Fatalf("testenv: starting dovecot: %v", err)
	}
	return d
}

// dovecotAuthListener is the name of the auth server's listener for
// Postfix, in base_dir. Like the usual private/auth of a system set-up, a
// name not ending in -master, -userdb or -login gets the client protocol,
// the one Postfix speaks.
const dovecotAuthListener = "auth-postfix"

func (d *Dovecot) writeConfig() error {
	_, port, _ := net.SplitHostPort(d.IMAPAddr)
	_, tlsPort, _ := net.SplitHostPort(d.IMAPSAddr)
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Written by internal/testenv for one test run.")
	w("protocols = imap")
	w("listen = 127.0.0.1")
	w("base_dir = %s", filepath.Join(d.Dir, "run"))
	w("state_dir = %s", filepath.Join(d.Dir, "run"))
	w("log_path = %s", d.logFile)
	w("info_log_path = %s", d.logFile)
	w("ssl = yes")
	w("ssl_cert = <%s", d.certFile)
	w("ssl_key = <%s", d.keyFile)
	w("auth_mechanisms = plain login")
	w("disable_plaintext_auth = no")
	// Short delays after failed logins, which tests try on purpose: no
	// 2s for the failed login itself (auth_failure_delay), nor the
	// penalty of 2s and up on every later login from the same address
	// (anvil's penalty socket, unusable with mode 0, turns that off).
	// Dovecot still holds every failure until a timer of its own fires,
	// half a second after the first one queued: a wrong password, over
	// IMAP or Postfix's AUTH, is answered after about 500 ms.
	w("auth_failure_delay = 0")
	w("mail_uid = %d", d.uid)
	w("mail_gid = %d", d.gid)
	w("first_valid_uid = 0")
	w("first_valid_gid = 0")
	w("mail_location = maildir:%s", filepath.Join(d.Dir, "mail", "%u"))
	w("service imap-login {")
	w("  inet_listener imap {")
	w("    address = 127.0.0.1")
	w("    port = %s", port)
	w("  }")
	w("  inet_listener imaps {")
	w("    address = 127.0.0.1")
	w("    port = %s", tlsPort)
	w("    ssl = yes")
	w("  }")
	w("}")
	// SASL for Postfix's submission smtpd, which runs as user postfix:
	// the socket is open to all, like the directories on its path
	// (openTempDir).
	w("service auth {")
	w("  unix_listener %s {", dovecotAuthListener)
	w("    mode = 0666")
	w("  }")
	w("}")
	w("service anvil {")
	w("  unix_listener anvil-auth-penalty {")
	w("    mode = 0")
	w("  }")
	w("}")
	w("passdb {")
	w("  driver = passwd-file")
	w("  args = scheme=PLAIN username_format=%%u %s", filepath.Join(d.Dir, "passwd"))
	w("}")
	w("userdb {")
	w("  driver = static")
	w("  args = uid=%d gid=%d home=%s", d.uid, d.gid, filepath.Join(d.Dir, "mail", "%u"))
	w("}")
	return os.WriteFile(d.config, []byte(b.String()), 0o644)
}

// Stop stops Dovecot and waits for it to exit, then kills any of its
// processes still running (on Linux). Stopping a stopped server does
// nothing. Logged-in clients see their connection closed, and Postfix's
// AUTH (PostfixOptions.Submission) fails.
func (d *Dovecot) Stop(t TB) {
	t.Helper()
	d.stop()
}

// Start starts Dovecot again after Stop, with the same configuration, mail
// and port, and waits until it greets IMAP clients.
func (d *Dovecot) Start(t TB) {
	t.Helper()
	d.mu.Lock()
	running := d.proc != nil
	d.mu.Unlock()
	restart(t, "dovecot", running, d.start)
}

// Log returns what Dovecot has logged so far, over all its runs.
func (d *Dovecot) Log() string {
	b, _ := os.ReadFile(d.logFile)
	return string(b)
}

// Deliver puts a message into user's INBOX: it writes the message to the
// maildir's tmp/ and renames it into new/, as a delivery agent does, so a
// client in IDLE is told of it. It works whether Dovecot runs or not.
func (d *Dovecot) Deliver(t TB, user string, rfc822 []byte) {
	t.Helper()
	d.DeliverTo(t, user, "INBOX", rfc822)
}

// DeliverTo is Deliver into another folder of user's mailbox (a Maildir++
// folder such as "Lists", made if missing).
func (d *Dovecot) DeliverTo(t TB, user, folder string, rfc822 []byte) {
	t.Helper()
	if _, ok := d.users[user]; !ok {
		t.Fatalf("testenv: dovecot has no user %q", user)
	}
	if strings.ContainsAny(user, "/") || user == "." || user == ".." {
		t.Fatalf("testenv: bad dovecot user %q", user)
	}
	if folder == "" || strings.ContainsAny(folder, "/.") {
		t.Fatalf("testenv: bad folder %q (no dots or slashes)", folder)
	}
	maildir := d.Maildir(user)
	if folder != "INBOX" {
		for _, p := range []string{maildir, filepath.Join(maildir, "."+folder)} {
			if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
				t.Fatalf("testenv: %v", err)
			}
			if err := os.Chown(p, d.uid, d.gid); err != nil {
				t.Fatalf("testenv: %v", err)
			}
		}
		maildir = filepath.Join(maildir, "."+folder)
	}
	for _, sub := range []string{"", "cur", "new", "tmp"} {
		p := filepath.Join(maildir, sub)
		if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			t.Fatalf("testenv: %v", err)
		}
		if err := os.Chown(p, d.uid, d.gid); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	host, _ := os.Hostname()
	host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
	now := time.Now()
	name := fmt.Sprintf("%d.M%dP%dR%s.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), hex.EncodeToString(rnd[:]), host)
	tmp := filepath.Join(maildir, "tmp", name)
	if err := os.WriteFile(tmp, rfc822, 0o600); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := os.Chown(tmp, d.uid, d.gid); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := os.Rename(tmp, filepath.Join(maildir, "new", name)); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// Maildir is the directory of user's INBOX (it may not exist before the
// first delivery or login).
func (d *Dovecot) Maildir(user string) string {
	return filepath.Join(d.Dir, "mail", user)
}

// maildirPollInterval is how often WaitMail looks at a maildir: a delivery
// shows only as a new file, and there is nothing to wait on but the
// directory itself.
const maildirPollInterval = 20 * time.Millisecond

// Mails returns the raw messages (as stored: with the Return-Path and
// Delivered-To headers Postfix adds) in user's INBOX, new/ and cur/, oldest
// first. It returns nil if user has no maildir yet or is no user of d.
func (d *Dovecot) Mails(user string) [][]byte {
	var raw [][]byte
	for _, m := range d.readMaildir(user) {
		raw = append(raw, m.raw)
	}
	return raw
}

// WaitMail waits until user's INBOX holds a message for which match (nil
// matches any) returns true, and returns the oldest such message, raw as in
// Mails. It looks every 20 ms; after timeout it fails the test, listing the
// messages that are there. A message stays in the maildir: a second call
// with the same match returns it again.
func (d *Dovecot) WaitMail(t TB, user string, match func(raw []byte) bool, timeout time.Duration) []byte {
	t.Helper()
	if _, ok := d.users[user]; !ok || !validMaildirUser(user) {
		t.Fatalf("testenv: dovecot has no user %q", user)
	}
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(maildirPollInterval)
	defer tick.Stop()
	for {
		msgs := d.readMaildir(user)
		for _, m := range msgs {
			if match == nil || match(m.raw) {
				return m.raw
			}
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, m := range msgs {
				fmt.Fprintf(&b, "\n  %s (%d bytes)", m.name, len(m.raw))
				if h, err := mail.ReadMessage(bytes.NewReader(m.raw)); err == nil {
					for _, k := range []string{"From", "To", "Subject", "Message-Id"} {
						if v := h.Header.Get(k); v != "" {
							fmt.Fprintf(&b, "\n    %s: %s", k, v)
						}
					}
				}
			}
			t.Fatalf("testenv: no matching mail for %s after %v; its INBOX holds %d messages:%s", user, timeout, len(msgs), b.String())
		}
		<-tick.C
	}
}

type maildirMsg struct {
	name string // the file's name in new/ or cur/
	mod  time.Time
	raw  []byte
}

func validMaildirUser(user string) bool {
	return user != "" && user != "." && user != ".." && !strings.ContainsAny(user, "/\x00")
}

// readMaildir reads the messages in new/ and cur/ of user's maildir, oldest
// first. A message that Dovecot moves from new/ to cur/, or renames to
// change its flags, while it is read is found again by reading the
// directories anew.
func (d *Dovecot) readMaildir(user string) []maildirMsg {
	if _, ok := d.users[user]; !ok || !validMaildirUser(user) {
		return nil
	}
	dir := d.Maildir(user)
	var msgs []maildirMsg
	for range 5 {
		msgs = msgs[:0]
		// A message's unique name is the part before ":2,flags".
		seen := map[string]bool{}
		moved := false
		for _, sub := range []string{"new", "cur"} {
			entries, _ := os.ReadDir(filepath.Join(dir, sub))
			for _, e := range entries {
				name := e.Name()
				unique, _, _ := strings.Cut(name, ":")
				if strings.HasPrefix(name, ".") || !e.Type().IsRegular() || seen[unique] {
					continue
				}
				raw, mod, err := readMaildirFile(filepath.Join(dir, sub, name))
				if err != nil {
					moved = true
					continue
				}
				seen[unique] = true
				msgs = append(msgs, maildirMsg{name: name, mod: mod, raw: raw})
			}
		}
		if !moved {
			break
		}
	}
	slices.SortStableFunc(msgs, func(a, b maildirMsg) int {
		if c := a.mod.Compare(b.mod); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return msgs
}

func readMaildirFile(path string) ([]byte, time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	raw, err := io.ReadAll(f)
	return raw, fi.ModTime(), err
}

func (d *Dovecot) start() error {
	out, err := os.OpenFile(d.console, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	logStart := int64(0)
	if fi, err := os.Stat(d.logFile); err == nil {
		logStart = fi.Size()
	}
	// -F: stay in the foreground. The master process keeps its user, so the
	// death signal holds; its children exit when it is gone.
	cmd := exec.Command(d.bin, "-F", "-c", d.config)
	cmd.Dir = d.Dir
	cmd.Stdout = out
	cmd.Stderr = out
	setDeathSignal(cmd)
	// On SIGTERM the master exits without waiting for its children: an
	// auth process may go on answering Postfix, an imap process its
	// client, for seconds. stop ends them with the group.
	setOwnProcessGroup(cmd)
	proc, err := startMailProc(cmd, out)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.proc = proc
	d.mu.Unlock()
	since := func() string { return logSince(d.logFile, logStart) }
	bindFailed := func() bool { return strings.Contains(since(), "Address already in use") }
	deadline := time.Now().Add(mailReadyTimeout)
	tick := time.NewTicker(readyPollInterval)
	defer tick.Stop()
	for !(strings.Contains(since(), "starting up") && imapGreets(d.IMAPAddr)) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v", d.IMAPAddr, mailReadyTimeout)
		}
		select {
		case <-proc.done:
			if bindFailed() {
				return errPortTaken
			}
			b, _ := os.ReadFile(d.console)
			return fmt.Errorf("dovecot exited before it was ready: %v: %s", proc.err, strings.TrimSpace(string(b)))
		case <-tick.C:
		}
	}
	return nil
}

// imapGreets reports whether the IMAP server at addr sends its greeting.
// Dovecot's login process greets only once its auth server answers: waiting
// for the greeting, rather than for the port, leaves no process starting
// up, which would make a Stop that follows wait several seconds on it.
func imapGreets(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "* OK")
}

func startMailProc(cmd *exec.Cmd, out *os.File) (*mailProc, error) {
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	proc := &mailProc{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		proc.err = cmd.Wait()
		close(proc.done)
	}()
	return proc, nil
}

// stop sends SIGTERM, then SIGKILL if the process lingers, and waits.
func (p *mailProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(mailStopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.out.Close()
}

func (d *Dovecot) stop() {
	d.mu.Lock()
	proc := d.proc
	d.proc = nil
	d.mu.Unlock()
	if proc != nil {
		proc.stop()
		killProcessGroup(proc.cmd.Process.Pid)
	}
}

func (d *Dovecot) dumpLog(t TB) {
	t.Helper()
	dumpTail(t, d.logFile, d.Log())
	if b, _ := os.ReadFile(d.console); len(strings.TrimSpace(string(b))) > 0 {
		t.Logf("testenv: dovecot console output:\n%s", b)
	}
}

func dumpTail(t TB, name, log string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	t.Logf("testenv: last %d lines of %s:\n%s", len(lines), name, strings.Join(lines, "\n"))
}

// openTempDir lets other users (the servers' unprivileged processes) into
// dir, a t.TempDir, and through its parent, which the testing package
// creates private to the test's user. Neither holds anything secret.
func openTempDir(dir string) error {
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		return err
	}
	return os.Chmod(dir, 0o755)
}

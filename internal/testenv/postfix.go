package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Postfix is one Postfix mail server run by a test.
type Postfix struct {
	// SMTPAddr is "127.0.0.1:PORT": plain SMTP without authentication,
	// accepting mail from 127.0.0.1 for the domains in
	// PostfixOptions.Domains and refusing any other recipient domain
	// ("Relay access denied").
	SMTPAddr string
	// SubmissionAddr is "127.0.0.1:PORT" when PostfixOptions.Submission
	// is set, else "": SMTP submission, STARTTLS offered (Dovecot's
	// certificate, trusted by Dovecot.CAFile) but not required, with
	// AUTH PLAIN and LOGIN checked by Dovecot (its users
	// and passwords). Only authenticated clients may send, from any
	// sender address, and only to the domains in PostfixOptions.Domains:
	// without AUTH every recipient is refused with "554 5.7.1 ... Client
	// host rejected: Access denied", a wrong password gets "535 5.7.8",
	// an unknown user of a "dovecot" domain "550 5.1.1", and any other
	// domain "554 5.7.1 ... Relay access denied" (there is no DNS and no
	// way out). The Received header of authenticated mail names the
	// login: "(Authenticated sender: alice@mail.test)".
	SubmissionAddr string
	Dir            string // the temporary directory: main.cf, master.cf, queue, postfix.log

	master  string
	logFile string
	console string

	mu   sync.Mutex
	proc *mailProc
}

// PostfixOptions configures StartPostfix.
type PostfixOptions struct {
	// Domains routes mail by recipient domain: "dovecot" delivers into
	// the maildirs of Dovecot (its users that are full addresses in the
	// domain, and its plain users as user@domain); anything else is a
	// Postfix transport such as "smtp:[127.0.0.1]:PORT".
	Domains map[string]string
	Dovecot *Dovecot // needed when a domain is routed to "dovecot", or for Submission

	// Submission adds a second smtpd, on Postfix.SubmissionAddr, that
	// requires SMTP AUTH through Dovecot's auth server
	// (Dovecot.AuthSocket); Dovecot must be set. Mail sent there is routed
	// by Domains like mail to SMTPAddr.
	//
	// Dovecot must be running for AUTH to work. While it is stopped, an
	// smtpd process that had reached the auth server answers AUTH with
	// "454 4.7.0 Temporary authentication failure", and a new one closes
	// the connection before its greeting, after about a second (it cannot
	// start its SASL and exits); once Dovecot runs again, the first
	// connection may wait up to a second more (service_throttle_time).
	Submission bool
}

// NeedPostfix checks, like Need, that Postfix is installed (postfix and
// postconf, also looked for in /usr/sbin and /usr/local/sbin), and that the
// test runs as root, which Postfix's master process requires. It returns
// the paths of postfix and postconf.
func NeedPostfix(t TB) (postfix, postconf string) {
	t.Helper()
	postfix = needIn(t, "postfix", "/usr/sbin", "/usr/local/sbin")
	postconf = needIn(t, "postconf", "/usr/sbin", "/usr/local/sbin")
	needRoot(t, "postfix")
	if _, err := user.Lookup("postfix"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testenv: no postfix user (run scripts/install-deps.sh): %v", err)
		}
		t.Skipf("testenv: no postfix user (scripts/install-deps.sh installs postfix): %v", err)
	}
	return postfix, postconf
}

// StartPostfix writes a private Postfix instance (its own main.cf,
// master.cf, queue and log in a new temporary directory; nothing of the
// system's instance is used or touched), starts its master process in the
// foreground with smtpd on a loopback port picked at random (and, with
// PostfixOptions.Submission, a submission smtpd on another), and waits
// until it accepts connections. It is stopped when the test ends; if the test
// failed, the end of its log is written to the test log.
//
// There is no local delivery, no aliases, no DNS lookup for the routed
// domains and no TLS on SMTPAddr.
func StartPostfix(t TB, o PostfixOptions) *Postfix {
	t.Helper()
	_, postconf := NeedPostfix(t)
	if o.Submission {
		if o.Dovecot == nil {
			t.Fatalf("testenv: postfix submission needs PostfixOptions.Dovecot for its AUTH")
		}
		if strings.ContainsAny(o.Dovecot.AuthSocket, " \t\r\n") {
			t.Fatalf("testenv: dovecot's auth socket %q has white space, which master.cf cannot hold", o.Dovecot.AuthSocket)
		}
	}
	daemonDir := strings.TrimSpace(run(t, postconf, "-h", "daemon_directory"))
	dir := t.TempDir()
	p := &Postfix{
		Dir:     dir,
		master:  filepath.Join(daemonDir, "master"),
		logFile: filepath.Join(dir, "postfix.log"),
		console: filepath.Join(dir, "postfix.console"),
	}
	for _, sub := range []string{"queue", "data"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	pf, err := user.Lookup("postfix")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	pfUID, _ := strconv.Atoi(pf.Uid)
	if err := os.Chown(filepath.Join(dir, "data"), pfUID, -1); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := openTempDir(dir); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	masterCF, err := os.ReadFile(filepath.Join(strings.TrimSpace(run(t, postconf, "-h", "config_directory")), "master.cf"))
	if err != nil {
		t.Fatalf("testenv: reading the system's master.cf: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "master.cf"), masterCF, 0o644); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	mainCF, err := postfixMainCF(dir, o)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(mainCF), 0o644); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	// No chroot (the jail would need copies of /etc files), and no smtpd
	// on port 25: it is added on a port of our own below.
	run(t, postconf, "-c", dir, "-F", "*/*/chroot=n")
	run(t, postconf, "-c", dir, "-MX", "smtp/inet")
	// The queue directories, with the owners and modes postfix-files
	// gives them ("postfix check" would make them too, with a slow run
	// of postfix-script's checks).
	if err := makePostfixQueue(filepath.Join(dir, "queue")); err != nil {
		t.Fatalf("testenv: %v", err)
	}

	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			dumpTail(t, p.logFile, p.Log())
			if b, _ := os.ReadFile(p.console); len(strings.TrimSpace(string(b))) > 0 {
				t.Logf("testenv: postfix console output:\n%s", b)
			}
		}
	})
	var services []string // the smtpd services of the last attempt, named by address
	for attempt := 1; attempt <= startAttempts; attempt++ {
		for _, name := range services {
			run(t, postconf, "-c", dir, "-MX", name+"/inet")
		}
		services = services[:0]
		addSMTPD := func(addr string, opts ...string) {
			services = append(services, addr)
			entry := addr + " inet n - n - - smtpd"
			for _, opt := range opts {
				entry += " -o " + opt
			}
			run(t, postconf, "-c", dir, "-M", addr+"/inet="+entry)
		}
		n := 1
		if o.Submission {
			n = 2
		}
		ports := freePorts(t, n)
		p.SMTPAddr = loopback(ports[0])
		addSMTPD(p.SMTPAddr)
		if o.Submission {
			p.SubmissionAddr = loopback(ports[1])
			addSMTPD(p.SubmissionAddr, postfixSubmissionOptions(o.Dovecot)...)
		}
		err = p.start(dir)
		if !errors.Is(err, errPortTaken) {
			break
		}
		p.stop()
	}
	if err != nil {
		t.Fatalf("testenv: starting postfix: %v", err)
	}
	return p
}

// postfixSubmissionOptions are the master.cf overrides ("-o name=value")
// that make an smtpd a submission service authenticating through
// Dovecot's auth socket.
func postfixSubmissionOptions(d *Dovecot) []string {
	return []string{
		"syslog_name=postfix/submission",
		// STARTTLS offered with Dovecot's certificate (Dovecot.CAFile
		// trusts it), not required: AUTH is offered in plain text too
		// (smtpd_tls_auth_only is no by default).
		"smtpd_tls_security_level=may",
		"smtpd_tls_cert_file=" + d.certFile,
		"smtpd_tls_key_file=" + d.keyFile,
		"smtpd_sasl_auth_enable=yes",
		"smtpd_sasl_type=dovecot",
		"smtpd_sasl_path=" + d.AuthSocket,
		"smtpd_sasl_security_options=noanonymous",
		"smtpd_sasl_authenticated_header=yes",
		// Authenticated clients only, from 127.0.0.1 too: mynetworks
		// plays no part here. With smtpd_delay_reject (the default)
		// the client restriction is applied at RCPT, after AUTH had
		// its chance.
		"smtpd_client_restrictions=permit_sasl_authenticated,reject",
		"smtpd_relay_restrictions=permit_sasl_authenticated,reject",
		// Even an authenticated client may send only to the routed
		// domains: anything else would sit in the queue waiting for
		// DNS. An unknown user of a "dovecot" domain is refused after
		// this by smtpd_reject_unlisted_recipient (on by default).
		"smtpd_recipient_restrictions=reject_unauth_destination",
	}
}

func makePostfixQueue(queue string) error {
	owner := func(name string) (int, error) {
		u, err := user.Lookup(name)
		if err != nil {
			return 0, err
		}
		return strconv.Atoi(u.Uid)
	}
	pfUID, err := owner("postfix")
	if err != nil {
		return err
	}
	postdrop, err := user.LookupGroup("postdrop")
	if err != nil {
		return err
	}
	postdropGID, err := strconv.Atoi(postdrop.Gid)
	if err != nil {
		return err
	}
	for _, d := range []struct {
		name     string
		uid, gid int
		mode     os.FileMode
	}{
		{"active", pfUID, 0, 0o700},
		{"bounce", pfUID, 0, 0o700},
		{"corrupt", pfUID, 0, 0o700},
		{"defer", pfUID, 0, 0o700},
		{"deferred", pfUID, 0, 0o700},
		{"flush", pfUID, 0, 0o700},
		{"hold", pfUID, 0, 0o700},
		{"incoming", pfUID, 0, 0o700},
		{"private", pfUID, 0, 0o700},
		{"saved", pfUID, 0, 0o700},
		{"trace", pfUID, 0, 0o700},
		{"maildrop", pfUID, postdropGID, 0o730},
		{"public", pfUID, postdropGID, 0o710},
		{"pid", 0, 0, 0o755},
	} {
		p := filepath.Join(queue, d.name)
		if err := os.Mkdir(p, d.mode); err != nil {
			return err
		}
		// Mkdir applies the umask; Chmod sets the mode exactly.
		if err := os.Chmod(p, d.mode); err != nil {
			return err
		}
		if err := os.Chown(p, d.uid, d.gid); err != nil {
			return err
		}
	}
	return nil
}

func postfixMainCF(dir string, o PostfixOptions) (string, error) {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Written by internal/testenv for one test run.")
	w("compatibility_level = 3.6")
	w("myhostname = mx.testenv.invalid")
	w("mydomain = testenv.invalid")
	w("myorigin = $myhostname")
	w("mydestination =")
	w("inet_interfaces = 127.0.0.1")
	w("inet_protocols = ipv4")
	w("mynetworks = 127.0.0.0/8")
	w("relayhost =")
	w("alias_maps =")
	w("alias_database =")
	w("local_transport = error:no local delivery in testenv")
	w("queue_directory = %s", filepath.Join(dir, "queue"))
	w("data_directory = %s", filepath.Join(dir, "data"))
	// The log goes to a file of the instance's own (through postlogd);
	// without it, errors go to syslog, which may not exist.
	w("maillog_file_prefixes = %s", dir)
	w("maillog_file = %s", filepath.Join(dir, "postfix.log"))
	w("smtpd_banner = $myhostname ESMTP testenv")
	w("smtpd_relay_restrictions = reject_unauth_destination")
	w("smtpd_recipient_restrictions =")
	w("biff = no")
	// Fail fast in tests rather than retry for days.
	w("queue_run_delay = 1s")
	w("minimal_backoff_time = 1s")
	w("maximal_backoff_time = 2s")
	w("bounce_queue_lifetime = 0")
	w("smtp_connect_timeout = 5s")
	// A daemon that dies at start-up (the submission smtpd does when
	// Dovecot's auth socket is gone) gets its service throttled: new
	// connections wait unanswered this long, not the default minute.
	w("service_throttle_time = 1s")
	var relay, virtual, transport, mailboxes []string
	for _, domain := range slices.Sorted(maps.Keys(o.Domains)) {
		route := o.Domains[domain]
		if domain == "" || strings.ContainsAny(domain, " ,{}=\t\r\n") || strings.ContainsAny(route, " ,{}\t\r\n") {
			return "", fmt.Errorf("bad postfix domain or route: %q = %q", domain, route)
		}
		if route != "dovecot" {
			relay = append(relay, domain)
			transport = append(transport, domain+"="+route)
			continue
		}
		if o.Dovecot == nil {
			return "", fmt.Errorf("postfix domain %s is routed to dovecot, but there is no Dovecot", domain)
		}
		virtual = append(virtual, domain)
		for _, u := range slices.Sorted(maps.Keys(o.Dovecot.users)) {
			addr := u
			if !strings.Contains(u, "@") {
				addr = u + "@" + domain
			} else if !strings.EqualFold(u[strings.LastIndexByte(u, '@')+1:], domain) {
				continue
			}
			// The trailing slash makes it a maildir.
			mailboxes = append(mailboxes, addr+"="+u+"/")
		}
	}
	w("relay_domains = %s", strings.Join(relay, " "))
	if len(transport) > 0 {
		w("transport_maps = inline:{ %s }", strings.Join(transport, ", "))
	}
	w("virtual_mailbox_domains = %s", strings.Join(virtual, " "))
	if len(virtual) > 0 {
		w("virtual_mailbox_base = %s", filepath.Join(o.Dovecot.Dir, "mail"))
		if len(mailboxes) > 0 {
			w("virtual_mailbox_maps = inline:{ %s }", strings.Join(mailboxes, ", "))
		}
		w("virtual_minimum_uid = 1")
		w("virtual_uid_maps = static:%d", o.Dovecot.uid)
		w("virtual_gid_maps = static:%d", o.Dovecot.gid)
	}
	return b.String(), nil
}

// run runs a command that must succeed and returns its output.
func run(t TB, name string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("testenv: %s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String()
}

// Log returns what Postfix has logged so far: every delivery, bounce and
// rejection, with the queue ID.
func (p *Postfix) Log() string {
	b, _ := os.ReadFile(p.logFile)
	return string(b)
}

func (p *Postfix) start(dir string) error {
	// Postfix waits until a configuration file written in the last couple
	// of seconds has stopped changing (about two seconds); the files are
	// complete, so they are dated a minute back.
	old := time.Now().Add(-time.Minute)
	for _, f := range []string{"main.cf", "master.cf"} {
		if err := os.Chtimes(filepath.Join(dir, f), old, old); err != nil {
			return err
		}
	}
	out, err := os.OpenFile(p.console, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	logStart := int64(0)
	if fi, err := os.Stat(p.logFile); err == nil {
		logStart = fi.Size()
	}
	// The master process itself in the foreground (-d), not "postfix
	// start", which detaches it: so the death signal reaches it (it stays
	// root), and its children exit when it is gone.
	cmd := exec.Command(p.master, "-c", dir, "-d")
	cmd.Dir = dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.Env = append(os.Environ(), "MAIL_CONFIG="+dir)
	setDeathSignal(cmd)
	proc, err := startMailProc(cmd, out)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.proc = proc
	p.mu.Unlock()
	since := func() string { return logSince(p.logFile, logStart) + logSince(p.console, 0) }
	bindFailed := func() bool { return strings.Contains(since(), "Address already in use") }
	deadline := time.Now().Add(mailReadyTimeout)
	tick := time.NewTicker(readyPollInterval)
	defer tick.Stop()
	ready := func() bool {
		return strings.Contains(since(), "daemon started") && accepts(p.SMTPAddr) &&
			(p.SubmissionAddr == "" || accepts(p.SubmissionAddr))
	}
	for !ready() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v", strings.TrimSpace(p.SMTPAddr+" "+p.SubmissionAddr), mailReadyTimeout)
		}
		select {
		case <-proc.done:
			if bindFailed() {
				return errPortTaken
			}
			b, _ := os.ReadFile(p.console)
			return fmt.Errorf("postfix exited before it was ready: %v: %s", proc.err, strings.TrimSpace(string(b)))
		case <-tick.C:
		}
	}
	return nil
}

func (p *Postfix) stop() {
	p.mu.Lock()
	proc := p.proc
	p.proc = nil
	p.mu.Unlock()
	if proc != nil {
		proc.stop()
	}
}

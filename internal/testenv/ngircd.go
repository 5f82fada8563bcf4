package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// NgircdOptions configures StartNgircd. The zero value is a server named
// "irc.test" with no password, no TLS and ngIRCd's flood protection off.
type NgircdOptions struct {
	Name     string // server name with at least one dot, default "irc.test"
	Password string // connection password clients must send with PASS; "" for none
	// FloodProtection keeps ngIRCd's throttling of fast senders (command
	// penalties): a client that sends many lines at once has the first few
	// handled at once and the rest a few a second (30 PRIVMSGs take about
	// 9s), and each PING costs it a second. Nothing is dropped. Off, every
	// line is handled as it arrives.
	FloodProtection bool
	// RelaxedFlood gives every user mode F ("relaxed flood protection"),
	// so ngIRCd handles more of a client's queued lines per pass of its
	// main loop: what a load test needs on top of FloodProtection off.
	// It adds a MODE line after the MOTD.
	RelaxedFlood bool
	// TLS adds a TLS port (IRCServer.TLSAddr) with a certificate for Name,
	// 127.0.0.1 and localhost, signed by a CA made for this server alone
	// (IRCServer.CACertFile).
	TLS bool
	// WebircPassword lets clients that send it use WEBIRC. It also turns
	// ngIRCd's DNS lookups on: without them ngIRCd shows the WEBIRC IP
	// instead of the host name.
	WebircPassword string
	// Ident has ngIRCd ask each client's identd (port 113 of the client's
	// address) for its user name, and wait for the answer. It turns DNS
	// lookups on too: ngIRCd asks for idents only in the same step.
	Ident bool
}

// StartNgircd writes a configuration in a new temporary directory, starts
// ngIRCd in the foreground bound to 127.0.0.1 on ports picked at random, and
// waits until it accepts connections. It is stopped when the test ends; if
// the test failed, the end of its log is written to the test log.
//
// Nicks may be up to 30 characters long, a user may join any number of
// channels, and there is no limit on connections per IP address. There is
// no DNS or ident lookup (unless asked for), and no operator, service or linked server.
func StartNgircd(t TB, o NgircdOptions) *IRCServer {
	t.Helper()
	bin := NeedNgircd(t)
	if o.Name == "" {
		o.Name = "irc.test"
	}
	for _, v := range []string{o.Name, o.Password, o.WebircPassword} {
		// ngIRCd's configuration has one setting a line and trims values.
		if strings.ContainsAny(v, "\r\n") || strings.TrimSpace(v) != v {
			t.Fatalf("testenv: ngircd option with a line break or surrounding space: %q", v)
		}
	}
	if !strings.Contains(o.Name, ".") {
		// ngIRCd refuses such a name ("No (valid) server name configured").
		t.Fatalf("testenv: ngircd server name %q has no dot", o.Name)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "ngircd.conf")
	s := &IRCServer{
		Name:     o.Name,
		Dir:      dir,
		kind:     "ngircd",
		bin:      bin,
		args:     []string{"--nodaemon", "--config", config},
		console:  filepath.Join(dir, "ngircd.log"),
		password: o.Password,
		readyLine: func(log string) bool {
			return strings.Contains(log, "Server \""+o.Name+"\" (on ") && strings.Contains(log, ") ready.")
		},
		bindFailed: func(log string) bool {
			return strings.Contains(log, "Can't bind socket to address")
		},
	}
	// ngIRCd reads every file in its include directory; an empty one of its
	// own keeps the system's /etc/ngircd/ngircd.conf.d out.
	includeDir := filepath.Join(dir, "conf.d")
	if err := os.Mkdir(includeDir, 0o700); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	var certFile, keyFile, dhFile string
	if o.TLS {
		var err error
		if s.caCert, certFile, keyFile, err = writeTestCA(dir, o.Name); err != nil {
			t.Fatalf("testenv: making a certificate for %s: %v", o.Name, err)
		}
		// Without DH parameters ngIRCd (GnuTLS) generates some at every
		// start, which takes a second or more.
		dhFile = filepath.Join(dir, "dhparams.pem")
		if err := os.WriteFile(dhFile, []byte(ffdhe2048PEM), 0o600); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	nports := 1
	if o.TLS {
		nports = 2
	}
	s.launch(t, nports, func(ports []int) error {
		s.Addr = loopback(ports[0])
		var b strings.Builder
		w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
		w("# Written by internal/testenv for one test run.")
		w("[Global]")
		w("\tName = %s", o.Name)
		w("\tInfo = Ferry testenv")
		w("\tAdminInfo1 = testenv")
		w("\tAdminInfo2 = testenv")
		w("\tAdminEMail = testenv@%s", o.Name)
		w("\tListen = 127.0.0.1")
		w("\tPorts = %d", ports[0])
		// No PID file: the test knows the process, and ngIRCd writes the
		// file after switching user, where it may not write to Dir.
		w("\tPidFile =")
		w("\tMotdFile =")
		w("\tMotdPhrase = testenv server %s", o.Name)
		if o.Password != "" {
			w("\tPassword = %s", o.Password)
		}
		w("[Limits]")
		w("\tMaxConnections = 0")
		w("\tMaxConnectionsIP = 0")
		w("\tMaxJoins = 0")
		w("\tMaxNickLength = 30")
		w("\tIdleTimeout = 0")
		w("\tPingTimeout = 120")
		w("\tPongTimeout = 20")
		if !o.FloodProtection {
			// No command penalties: nothing is throttled. (User mode F,
			// "relaxed flood protection", is not needed on top: 2000 lines
			// sent at once arrive in well under a second without it, and
			// DefaultUserModes = F would add a MODE line after the MOTD.)
			w("\tMaxPenaltyTime = 0")
		}
		w("[Options]")
		w("\tDNS = %s", yesNo(o.WebircPassword != "" || o.Ident))
		w("\tIdent = %s", yesNo(o.Ident))
		if o.WebircPassword != "" {
			w("\tWebircPassword = %s", o.WebircPassword)
		}
		w("\tPAM = no")
		w("\tIncludeDir = %s", includeDir)
		if o.RelaxedFlood {
			w("\tDefaultUserModes = F")
		}
		if o.TLS {
			s.TLSAddr = loopback(ports[1])
			w("[SSL]")
			w("\tCertFile = %s", certFile)
			w("\tKeyFile = %s", keyFile)
			w("\tDHFile = %s", dhFile)
			w("\tPorts = %d", ports[1])
		}
		return os.WriteFile(config, []byte(b.String()), 0o600)
	})
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// NeedNgircd is Need(t, "ngircd"), also looking in /usr/sbin and
// /usr/local/sbin, where Debian installs ngIRCd but which are not in an
// ordinary user's PATH.
func NeedNgircd(t TB) string {
	t.Helper()
	if _, err := exec.LookPath("ngircd"); err != nil {
		for _, dir := range []string{"/usr/sbin", "/usr/local/sbin"} {
			if path, err := exec.LookPath(filepath.Join(dir, "ngircd")); err == nil {
				return path
			}
		}
	}
	return Need(t, "ngircd")
}

// ffdhe2048PEM is the 2048-bit finite field Diffie-Hellman group of RFC 7919
// (ffdhe2048, generator 2) as PKCS #3 parameters: public, fixed values, so
// ngIRCd need not generate parameters when it starts.
const ffdhe2048PEM = `-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
`

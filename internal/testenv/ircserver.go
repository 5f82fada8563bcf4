package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Time limits for IRC server processes. ngIRCd is listening within a few
// milliseconds and exits at once on SIGTERM; the limits only bound a broken
// run.
const (
	ircReadyTimeout = 20 * time.Second
	ircStopTimeout  = 5 * time.Second
	ircKillTimeout  = 2 * time.Second
)

// IRCServer is one IRC server run by a test. Its ports stay the same across
// Stop and Start, so a gateway can be left pointed at it over a restart.
type IRCServer struct {
	Name    string // the server's name, "irc.test" unless chosen; also in its TLS certificate
	Addr    string // "127.0.0.1:PORT", plain text
	TLSAddr string // "127.0.0.1:PORT" for TLS, "" unless TLS was asked for
	Dir     string // the temporary directory holding config, certificates and logs

	kind     string // "ngircd": the binary, for messages
	bin      string
	args     []string
	console  string // the server's stdout and stderr, where it logs when in the foreground
	password string // the connection password (PASS) clients must give, if any
	caCert   string // PEM file of the CA that signed the server's certificate

	// readyLine and bindFailed read the console output of one run: whether
	// the server says it has finished starting (every port bound or
	// failed), and whether it could not bind one of its ports.
	readyLine  func(log string) bool
	bindFailed func(log string) bool

	mu   sync.Mutex
	proc *serverProc
}

type serverProc struct {
	cmd      *exec.Cmd
	out      *os.File
	done     chan struct{} // closed when the process has exited
	err      error         // from Wait, valid once done is closed
	watchdog *watchdog
}

// CACertFile is the PEM file of the certificate authority that signed the
// server's certificate, to be trusted by clients; "" without TLS.
func (s *IRCServer) CACertFile() string { return s.caCert }

// Password is the connection password the server requires (PASS), or "".
func (s *IRCServer) Password() string { return s.password }

// Stop stops the server (SIGTERM, then SIGKILL if it lingers) and waits for
// it to exit. Stopping a stopped server does nothing. Connected clients see
// their connection closed.
func (s *IRCServer) Stop(t TB) {
	t.Helper()
	s.stop()
}

// Start starts the server again after Stop, with the same configuration and
// ports, and waits until it accepts connections.
func (s *IRCServer) Start(t TB) {
	t.Helper()
	s.mu.Lock()
	running := s.proc != nil
	s.mu.Unlock()
	restart(t, s.kind, running, s.start)
}

// Log returns what the server has written to its console so far, over all
// its runs.
func (s *IRCServer) Log() string {
	b, _ := os.ReadFile(s.console)
	return string(b)
}

// launch starts the server in s.Dir, written and configured by the caller,
// and stops it when the test ends, dumping its log if the test failed. A
// port picked by FreePort can be taken by another process before the server
// binds it; then writeConfig is called again with new ports, up to
// startAttempts times.
func (s *IRCServer) launch(t TB, nports int, writeConfig func(ports []int) error) {
	t.Helper()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			s.dumpLog(t)
		}
	})
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		if err = writeConfig(freePorts(t, nports)); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		err = s.start()
		if !errors.Is(err, errPortTaken) {
			break
		}
		s.stop()
	}
	if err != nil {
		t.Fatalf("testenv: starting %s: %v", s.kind, err)
	}
}

func (s *IRCServer) start() error {
	out, err := os.OpenFile(s.console, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	// A restart appends to the same file; the checks below read this run's
	// lines only.
	logStart := int64(0)
	if fi, err := out.Stat(); err == nil {
		logStart = fi.Size()
	}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Dir = s.Dir
	cmd.Stdout = out
	cmd.Stderr = out
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		out.Close()
		return err
	}
	proc := &serverProc{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		proc.err = cmd.Wait()
		close(proc.done)
	}()
	s.mu.Lock()
	s.proc = proc
	s.mu.Unlock()
	if needsWatchdog() {
		// Started as root, the server switches to an unprivileged user, and
		// the kernel forgets the death signal when it does.
		if proc.watchdog, err = startWatchdog(cmd.Process.Pid); err != nil {
			return fmt.Errorf("starting the watchdog: %w", err)
		}
	}

	addrs := []string{s.Addr}
	if s.TLSAddr != "" {
		addrs = append(addrs, s.TLSAddr)
	}
	deadline := time.Now().Add(ircReadyTimeout)
	tick := time.NewTicker(readyPollInterval)
	defer tick.Stop()
	for {
		if s.readyLine(logSince(s.console, logStart)) && allAccept(addrs) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v", strings.Join(addrs, " and "), ircReadyTimeout)
		}
		select {
		case <-proc.done:
			if s.bindFailed(logSince(s.console, logStart)) {
				return errPortTaken
			}
			return fmt.Errorf("%s exited before it was ready: %v", s.kind, proc.err)
		case <-tick.C:
		}
	}
	if s.bindFailed(logSince(s.console, logStart)) {
		return errPortTaken
	}
	return nil
}

func allAccept(addrs []string) bool {
	for _, a := range addrs {
		if !accepts(a) {
			return false
		}
	}
	return true
}

func (s *IRCServer) stop() {
	s.mu.Lock()
	proc := s.proc
	s.proc = nil
	s.mu.Unlock()
	if proc == nil {
		return
	}
	_ = proc.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-proc.done:
	case <-time.After(ircStopTimeout):
		_ = proc.cmd.Process.Kill()
		select {
		case <-proc.done:
		case <-time.After(ircKillTimeout):
		}
	}
	proc.watchdog.stop()
	<-proc.done
	proc.out.Close()
}

// dumpLog writes the end of the server's console output to the test log.
func (s *IRCServer) dumpLog(t TB) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(s.Log(), "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	t.Logf("testenv: last %d lines of %s:\n%s", len(lines), s.console, strings.Join(lines, "\n"))
}

func loopback(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// needsWatchdog reports whether servers need a watchdog: when the tests run
// as root, ngIRCd refuses to keep root and switches to "nobody", and Linux
// clears the parent-death signal (setDeathSignal) on that change of user.
func needsWatchdog() bool { return os.Geteuid() == 0 }

// watchdogScript kills the server ($1) when its standard input ends without
// the word "stop" first: the test binary holds the other end of that pipe,
// so the kernel ends the input when the binary dies, however it dies. It
// ignores the terminal's interrupt, which reaches the server by itself.
const watchdogScript = `trap '' INT HUP
read -r word
[ "$word" = stop ] || kill -9 "$1" 2>/dev/null
exit 0`

// watchdog is a small shell process that kills the server if the test
// binary dies without stopping it.
type watchdog struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
}

func startWatchdog(pid int) (*watchdog, error) {
	cmd := exec.Command("/bin/sh", "-c", watchdogScript, "testenv-watchdog", strconv.Itoa(pid))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &watchdog{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(w.done)
	}()
	return w, nil
}

// stop lets the watchdog exit without killing anything. A nil watchdog does
// nothing.
func (w *watchdog) stop() {
	if w == nil {
		return
	}
	_, _ = io.WriteString(w.stdin, "stop\n")
	w.stdin.Close()
	select {
	case <-w.done:
	case <-time.After(ircKillTimeout):
		_ = w.cmd.Process.Kill()
		<-w.done
	}
}

// writeTestCA makes a certificate authority and a certificate for name
// (and 127.0.0.1, ::1 and localhost) signed by it, valid for a day, with
// ECDSA P-256 keys. It writes ca.pem, cert.pem (the server's certificate
// followed by the CA's) and key.pem (PKCS #8) into dir, and returns their
// paths.
func writeTestCA(dir, name string) (caFile, certFile, keyFile string, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", "", err
	}
	now := time.Now()
	serial := func() *big.Int {
		n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
		return n
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "testenv CA for " + name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return "", "", "", err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return "", "", "", err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name, "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return "", "", "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", "", err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	caFile = filepath.Join(dir, "ca.pem")
	certFile = filepath.Join(dir, "cert.pem")
	keyFile = filepath.Join(dir, "key.pem")
	for _, f := range []struct {
		path string
		data []byte
	}{{caFile, caPEM}, {certFile, append(leafPEM, caPEM...)}, {keyFile, keyPEM}} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return "", "", "", err
		}
	}
	return caFile, certFile, keyFile, nil
}

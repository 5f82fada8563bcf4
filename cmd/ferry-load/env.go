package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// Addresses of the run. The IRC server's name is what users write in JIDs
// (#chan%irc.load.test@irc.localhost).
const (
	ferryDomain   = "irc.localhost"
	biboumiDomain = "biboumi.localhost"
	loadDomain    = "load.localhost"   // the simulated users; allowed to register with Ferry
	remoteDomain  = "remote.localhost" // made-up remote JIDs; not allowed to register
	ircName       = "irc.load.test"
	serverDomain  = "localhost"
)

// env is what every scenario shares: one Prosody, one ngIRCd, the tool's
// two components and the ferry binary built from this tree. Gateways are
// started fresh for each scenario, so one scenario's leftovers do not show
// in the next one's figures.
type env struct {
	tb      testenv.TB
	log     io.Writer
	prosody *testenv.Prosody
	irc     *testenv.IRCServer
	users   *component // loadDomain
	remote  *component // remoteDomain
	secrets map[string]string

	ferryBin   string
	biboumiBin string // "" when biboumi is not run
}

// startEnv builds ferry and starts the servers. withBiboumi asks for the
// biboumi binary too, failing with the command that installs it.
func startEnv(tb testenv.TB, log io.Writer, withBiboumi bool) *env {
	tb.Helper()
	e := &env{tb: tb, log: log, secrets: map[string]string{}}
	for _, d := range []string{ferryDomain, biboumiDomain, loadDomain, remoteDomain} {
		e.secrets[d] = newSecret()
	}
	if withBiboumi {
		bin, err := exec.LookPath("biboumi")
		if err != nil {
			tb.Fatalf("load: biboumi is not installed: run `scripts/install-deps.sh biboumi` (or `apt-get install biboumi`), or pass -biboumi=false")
		}
		e.biboumiBin = bin
	}
	e.ferryBin = buildFerry(tb)
	e.prosody = testenv.StartProsody(tb, testenv.ProsodyOptions{Components: e.secrets})
	e.irc = testenv.StartNgircd(tb, testenv.NgircdOptions{Name: ircName, RelaxedFlood: true})
	var err error
	if e.users, err = dialComponent(e.prosody.ComponentAddr, loadDomain, e.secrets[loadDomain]); err != nil {
		tb.Fatalf("load: %v", err)
	}
	tb.Cleanup(e.users.close)
	if e.remote, err = dialComponent(e.prosody.ComponentAddr, remoteDomain, e.secrets[remoteDomain]); err != nil {
		tb.Fatalf("load: %v", err)
	}
	tb.Cleanup(e.remote.close)
	return e
}

// restartIRC stops and starts the IRC server (same ports, fresh state), so
// a scenario does not inherit connections an earlier one left behind.
func (e *env) restartIRC() {
	e.irc.Stop(e.tb)
	e.irc.Start(e.tb)
}

// buildFerry builds cmd/ferry of the module this tool belongs to into a
// temporary directory.
func buildFerry(tb testenv.TB) string {
	tb.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		tb.Fatalf("load: finding the module (run the tool from the Ferry tree): %v", err)
	}
	root := strings.TrimSpace(string(out))
	bin := filepath.Join(tb.TempDir(), "ferry")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/ferry")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("load: building ferry in %s: %v\n%s", root, err, b)
	}
	return bin
}

func newSecret() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// userJID is the full JID of simulated user i.
func userJID(i int) string { return fmt.Sprintf("u%d@%s/load", i, loadDomain) }

// userIndex reads i back from a JID of userJID's shape; -1 if it is not one.
func userIndex(jid string) int {
	local, rest, ok := strings.Cut(jid, "@")
	if !ok || !strings.HasPrefix(rest, loadDomain) || len(local) < 2 || local[0] != 'u' {
		return -1
	}
	n := 0
	for _, c := range local[1:] {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// process is a gateway run as a child process, killed if the tool dies.
type process struct {
	cmd  *exec.Cmd
	out  *os.File
	done chan struct{}
	err  error
}

func startProcess(dir, logName, bin string, args ...string) (*process, error) {
	out, err := os.Create(filepath.Join(dir, logName))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	p := &process{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, then SIGKILL after grace, and waits.
func (p *process) stop(grace time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.out.Close()
}

// raiseFileLimit lifts RLIMIT_NOFILE to n (as root, the hard limit too), so
// the tool and the servers it starts, which inherit it, can hold tens of
// thousands of connections.
func raiseFileLimit(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= n {
		return nil
	}
	want := syscall.Rlimit{Cur: n, Max: max(lim.Max, n)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		// Not root: as far as the hard limit goes.
		want = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		if err2 := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err2 != nil {
			return err2
		}
		return fmt.Errorf("open files limited to %d (%v)", lim.Max, err)
	}
	return nil
}

// Package testenv runs real servers for end-to-end tests.
//
// Tests call Need for each server binary they use: on a developer machine
// without it the test is skipped, but in CI (CI=true) it fails, so a missing
// install step cannot pass unnoticed. scripts/install-deps.sh installs the
// binaries.
//
// StartProsody runs a throw-away Prosody in a temporary directory, bound to
// loopback ports picked at random, with the transports' component secrets and
// user accounts the test asks for. Prosody.Login connects a plain XMPP client
// over c2s so a test can act as a user of the gateway.
package testenv

import (
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Need returns the path of binary, looked up in PATH. When it is missing the
// test is skipped, except under CI (the environment variable CI is "true"),
// where a missing server is an error in the CI set-up and the test fails.
func Need(t TB, binary string) string {
	t.Helper()
	path, err := exec.LookPath(binary)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("testenv: %s is required in CI but not found (run scripts/install-deps.sh): %v", binary, err)
	}
	t.Skipf("testenv: %s not installed (scripts/install-deps.sh installs it): %v", binary, err)
	return ""
}

// needFile is Need for a file a Debian package installs: a skip on a
// developer machine without it, a failure in CI.
func needFile(t TB, path, pkg string) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("testenv: %s (package %s) is required in CI but missing (run scripts/install-deps.sh)", path, pkg)
	}
	t.Skipf("testenv: %s missing (package %s; scripts/install-deps.sh installs it)", path, pkg)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
//
// The port is below the kernel's ephemeral range, so the operating system
// never hands it out as the source port of an outgoing connection: a server
// that is stopped and started again (Prosody.Stop, Prosody.Start) finds its
// port still free, even while other tests open connections. No port is
// returned twice in one test binary. Another process can still bind it
// first; StartProsody notices that and retries with new ports.
func FreePort(t TB) int {
	t.Helper()
	return freePorts(t, 1)[0]
}

var (
	portsMu   sync.Mutex
	portsUsed = map[int]bool{}
)

// freePorts returns n distinct ports, holding each open until all are
// chosen.
func freePorts(t TB, n int) []int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	lo, hi := portRange()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n && tries < 10000; tries++ {
		port := lo + rand.IntN(hi-lo+1)
		if portsUsed[port] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		defer l.Close()
		portsUsed[port] = true
		ports = append(ports, port)
	}
	if len(ports) < n {
		t.Fatalf("testenv: no free port in %d-%d", lo, hi)
	}
	return ports
}

// portRange is where FreePort picks from: up to 20000 ports just below the
// ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range; elsewhere
// the usual ranges start at 32768 or higher).
func portRange() (lo, hi int) {
	ephemeral := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > 2048 {
				ephemeral = v
			}
		}
	}
	hi = ephemeral - 1
	lo = max(1024, hi-20000)
	return lo, hi
}

// logSince is what a server wrote to its log file after offset off: the
// part of the log that belongs to the current start.
func logSince(path string, off int64) string {
	b, _ := os.ReadFile(path)
	if off > int64(len(b)) {
		return ""
	}
	return string(b[off:])
}

// restart starts a stopped server again (same config, ports and data),
// failing the test if it is still running or does not come up.
func restart(t TB, name string, running bool, start func() error) {
	t.Helper()
	if running {
		t.Fatalf("testenv: %s is already running", name)
	}
	if err := start(); err != nil {
		t.Fatalf("testenv: restarting %s: %v", name, err)
	}
}

// TB is what the start-up code needs from its caller: TB satisfies
// it, and so can a program that runs these servers outside a test (the load
// tool, cmd/ferry-load). Fatalf and Skipf must not return.
type TB interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Skipf(format string, args ...any)
	Failed() bool
	Cleanup(func())
	TempDir() string
}

var _ TB = testing.TB(nil)

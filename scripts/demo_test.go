// Package scripts holds the project's shell scripts; its tests run them.
package scripts

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// demoPortVars are the demo's port settings, each given its own port.
var demoPortVars = []string{"FERRY_DEMO_C2S_PORT", "FERRY_DEMO_COMPONENT_PORT", "FERRY_DEMO_HTTP_PORT",
	"FERRY_DEMO_IRC_PORT", "FERRY_DEMO_SMS_HOOK_PORT", "FERRY_DEMO_IMAP_PORT", "FERRY_DEMO_SMTP_PORT",
	"FERRY_DEMO_SUBMISSION_PORT", "FERRY_DEMO_MAIL_RELAY_PORT", "FERRY_DEMO_MAIL_LINK_PORT"}

// freePort is a loopback port nobody listens on at the moment.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// kannelBase is a base whose four Kannel ports (BASE..BASE+2, BASE+13)
// nobody listens on.
func kannelBase(t *testing.T) int {
	t.Helper()
	for base := 21000; base < 31000; base += 50 {
		free := true
		for _, off := range []int{0, 1, 2, 13} {
			if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(base+off), time.Second); err == nil {
				c.Close()
				free = false
			}
		}
		if free {
			return base
		}
	}
	t.Fatal("no free Kannel base")
	return 0
}

// runDemo runs scripts/demo.sh with every port set to a free one, then
// the overrides, and returns its exit code and output. The demo must stop
// at its port check: the test fails if it gets further.
func runDemo(t *testing.T, overrides map[string]int) (int, string) {
	t.Helper()
	env := os.Environ()
	for _, v := range demoPortVars {
		p := freePort(t)
		if o, ok := overrides[v]; ok {
			p = o
		}
		env = append(env, v+"="+strconv.Itoa(p))
	}
	env = append(env, "FERRY_DEMO_KANNEL_BASE="+strconv.Itoa(kannelBase(t)))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "demo.sh")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "== building ferry") || strings.Contains(string(out), "install-deps:") {
		t.Fatalf("the demo went on past its port check:\n%s", out)
	}
	return code, string(out)
}

// make demo checks every port before it starts anything and names the
// variable to change.
func TestDemoRefusesBusyPorts(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	for _, v := range []string{"FERRY_DEMO_C2S_PORT", "FERRY_DEMO_COMPONENT_PORT", "FERRY_DEMO_IRC_PORT", "FERRY_DEMO_SMS_HOOK_PORT"} {
		t.Run(v, func(t *testing.T) {
			code, out := runDemo(t, map[string]int{v: port})
			want := "127.0.0.1:" + strconv.Itoa(port) + " is already in use by another program; set " + v + " to a free port"
			if code != 1 || !strings.Contains(out, want) {
				t.Errorf("exit %d, output:\n%s\nwant %q", code, out, want)
			}
		})
	}
	t.Run("one port for two servers", func(t *testing.T) {
		p := freePort(t)
		code, out := runDemo(t, map[string]int{"FERRY_DEMO_C2S_PORT": p, "FERRY_DEMO_HTTP_PORT": p})
		if code != 1 || !strings.Contains(out, "port "+strconv.Itoa(p)+" is given to two of the demo's servers; set FERRY_DEMO_HTTP_PORT") {
			t.Errorf("exit %d, output:\n%s", code, out)
		}
	})
	t.Run("not a number", func(t *testing.T) {
		code, out := runDemo(t, map[string]int{"FERRY_DEMO_IRC_PORT": 70000})
		if code != 1 || !strings.Contains(out, "FERRY_DEMO_IRC_PORT=70000 is not a port number") {
			t.Errorf("exit %d, output:\n%s", code, out)
		}
	})
}

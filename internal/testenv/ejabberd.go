package testenv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Time limits for the ejabberd node. It starts in one or two seconds; the
// limits only bound a broken run.
const (
	ejabberdReadyTimeout = 60 * time.Second
	ejabberdStopTimeout  = 20 * time.Second
	ejabberdKillTimeout  = 5 * time.Second
)

// ejabberdLibs is where Debian installs ejabberd's Erlang applications.
const ejabberdLibs = "/usr/lib/x86_64-linux-gnu"

// Ejabberd is one private ejabberd node run by a test: its own config,
// Mnesia spool and log directories, run directly with erl (not through
// ejabberdctl, which switches to the ejabberd user when run as root) and
// without Erlang distribution, so no epmd and no node name are shared with
// anything else on the machine. It is stopped by its PID. Users are added
// through mod_http_api on a loopback port of its own.
type Ejabberd struct {
	Domain        string // the users' host, "localhost" unless chosen
	C2SAddr       string // "127.0.0.1:PORT" for clients
	ComponentAddr string // "127.0.0.1:PORT" for XEP-0114 components
	HTTPAddr      string // "127.0.0.1:PORT" of the registration API
	Dir           string // the temporary directory holding config, spool and logs

	opts    EjabberdOptions
	erl     string
	config  string
	logFile string
	console string
	spool   string

	mu   sync.Mutex
	proc *erlProc
}

// EjabberdOptions configures StartEjabberd. The zero value is a server for
// "localhost" with no component and no user.
type EjabberdOptions struct {
	Domain     string            // default "localhost"
	Components map[string]string // component domain -> password
	Users      map[string]string // localpart -> password
	// Privileged component domains get XEP-0356 permissions through the
	// built-in mod_privilege: roster both, message outgoing.
	Privileged []string
	// Include are YAML files ejabberd merges into its configuration
	// (include_config_file): their listeners, ACLs and modules are added.
	Include []string
}

// erlProc is the running Erlang VM of a node.
type erlProc struct {
	cmd  *exec.Cmd
	out  *os.File
	done chan struct{} // closed when the process has exited
	err  error         // from Wait, valid once done is closed
}

// NeedEjabberd skips (or, in CI, fails) a test on a machine without
// Debian's ejabberd package.
func NeedEjabberd(t TB) string {
	t.Helper()
	erl := Need(t, "erl")
	needFile(t, filepath.Join(ejabberdLibs, "ejabberd-23.01", "ebin", "ejabberd.app"), "ejabberd")
	return erl
}

// StartEjabberd writes a configuration in a new temporary directory, starts
// a private ejabberd node and waits until its c2s, component and API ports
// accept connections, then creates the users. The node is stopped when the
// test ends; if the test failed, the end of its log is written to the test
// log.
func StartEjabberd(t TB, opts EjabberdOptions) *Ejabberd {
	t.Helper()
	erl := NeedEjabberd(t)
	if opts.Domain == "" {
		opts.Domain = "localhost"
	}
	dir := t.TempDir()
	e := &Ejabberd{
		Domain:  opts.Domain,
		Dir:     dir,
		opts:    opts,
		erl:     erl,
		config:  filepath.Join(dir, "ejabberd.yml"),
		logFile: filepath.Join(dir, "logs", "ejabberd.log"),
		console: filepath.Join(dir, "ejabberd.console"),
		spool:   filepath.Join(dir, "spool"),
	}
	for _, sub := range []string{e.spool, filepath.Join(dir, "logs")} {
		if err := os.MkdirAll(sub, 0o700); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	t.Cleanup(func() {
		e.stop()
		if t.Failed() {
			e.dumpLog(t)
		}
	})
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		ports := freePorts(t, 3)
		e.C2SAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
		e.ComponentAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
		e.HTTPAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2]))
		if err = os.WriteFile(e.config, []byte(e.configText()), 0o600); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		err = e.start()
		if !errors.Is(err, errPortTaken) {
			break
		}
		e.stop()
	}
	if err != nil {
		t.Fatalf("testenv: starting ejabberd: %v", err)
	}
	for _, local := range slices.Sorted(maps.Keys(opts.Users)) {
		e.AddUser(t, local, opts.Users[local])
	}
	return e
}

// Name is "ejabberd".
func (e *Ejabberd) Name() string { return "ejabberd" }

// UserDomain is the users' host.
func (e *Ejabberd) UserDomain() string { return e.Domain }

// ComponentAddress is the component port's address.
func (e *Ejabberd) ComponentAddress() string { return e.ComponentAddr }

// Login logs local@Domain/resource in and sends initial presence.
func (e *Ejabberd) Login(t TB, local, password, resource string) *Client {
	t.Helper()
	return login(t, e.Domain, e.C2SAddr, local, password, resource)
}

// Connect is Login without the initial presence.
func (e *Ejabberd) Connect(t TB, local, password, resource string) *Client {
	t.Helper()
	return connectC2S(t, e.Domain, e.C2SAddr, local, password, resource)
}

// AddUser creates an account, or changes the password of an existing one,
// through mod_http_api.
func (e *Ejabberd) AddUser(t TB, local, password string) {
	t.Helper()
	args := map[string]string{"user": local, "host": e.Domain, "password": password}
	if err := e.api("register", args); err != nil {
		if !strings.Contains(err.Error(), "already registered") {
			t.Fatalf("testenv: ejabberd register %s: %v", local, err)
		}
		args = map[string]string{"user": local, "host": e.Domain, "newpass": password}
		if err := e.api("change_password", args); err != nil {
			t.Fatalf("testenv: ejabberd change_password %s: %v", local, err)
		}
	}
}

// api calls one mod_http_api command.
func (e *Ejabberd) api(command string, args map[string]string) error {
	body, _ := json.Marshal(args)
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Post("http://"+e.HTTPAddr+"/api/"+command, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(out.String()))
	}
	return nil
}

// Stop stops the node (SIGTERM, which Erlang turns into an orderly
// shutdown) and waits for it. Stopping a stopped node does nothing.
func (e *Ejabberd) Stop(t TB) {
	t.Helper()
	e.stop()
}

// Start starts the node again after Stop, with the same configuration,
// data and ports.
func (e *Ejabberd) Start(t TB) {
	t.Helper()
	e.mu.Lock()
	running := e.proc != nil
	e.mu.Unlock()
	restart(t, "ejabberd", running, e.start)
}

// Log returns what ejabberd has logged so far.
func (e *Ejabberd) Log() string {
	b, _ := os.ReadFile(e.logFile)
	return string(b)
}

func (e *Ejabberd) start() error {
	out, err := os.OpenFile(e.console, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	logStart := int64(0)
	if fi, err := os.Stat(e.logFile); err == nil {
		logStart = fi.Size()
	}
	// What ejabberdctl's "foreground" runs, minus the user switch and the
	// node name: erl with ejabberd's libraries, its config and a Mnesia
	// directory of our own.
	cmd := exec.Command(e.erl, "+K", "true", "-noinput", "-mnesia", "dir", strconv.Quote(e.spool), "-s", "ejabberd")
	cmd.Dir = e.Dir
	cmd.Env = append(os.Environ(),
		"HOME="+e.Dir,
		"ERL_LIBS="+ejabberdLibs,
		"EJABBERD_CONFIG_PATH="+e.config,
		"EJABBERD_LOG_PATH="+e.logFile,
		"ERL_CRASH_DUMP="+filepath.Join(e.Dir, "logs", "erl_crash.dump"),
	)
	cmd.Stdout = out
	cmd.Stderr = out
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		out.Close()
		return err
	}
	proc := &erlProc{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		proc.err = cmd.Wait()
		close(proc.done)
	}()
	e.mu.Lock()
	e.proc = proc
	e.mu.Unlock()

	deadline := time.Now().Add(ejabberdReadyTimeout)
	tick := time.NewTicker(readyPollInterval)
	defer tick.Stop()
	for {
		log := logSince(e.logFile, logStart)
		if strings.Contains(log, "eaddrinuse") {
			return errPortTaken
		}
		if strings.Contains(log, "is started in the node") && accepts(e.C2SAddr) && accepts(e.ComponentAddr) && accepts(e.HTTPAddr) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ports %s, %s and %s not ready after %v", e.C2SAddr, e.ComponentAddr, e.HTTPAddr, ejabberdReadyTimeout)
		}
		select {
		case <-proc.done:
			return fmt.Errorf("ejabberd exited before it was ready: %v", proc.err)
		case <-tick.C:
		}
	}
}

func (e *Ejabberd) stop() {
	e.mu.Lock()
	proc := e.proc
	e.proc = nil
	e.mu.Unlock()
	if proc == nil {
		return
	}
	_ = proc.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-proc.done:
	case <-time.After(ejabberdStopTimeout):
		_ = proc.cmd.Process.Kill()
		select {
		case <-proc.done:
		case <-time.After(ejabberdKillTimeout):
		}
	}
	proc.out.Close()
}

func (e *Ejabberd) dumpLog(t TB) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(e.Log(), "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	t.Logf("testenv: last %d lines of %s:\n%s", len(lines), e.logFile, strings.Join(lines, "\n"))
	if b, _ := os.ReadFile(e.console); len(strings.TrimSpace(string(b))) > 0 {
		t.Logf("testenv: ejabberd console output:\n%s", b)
	}
}

// configText is the node's ejabberd.yml: loopback listeners without TLS,
// the components, mod_http_api for adding users from the test, and the
// modules a client of a gateway meets (roster, disco, ping, carbons,
// offline storage).
func (e *Ejabberd) configText() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	port := func(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }
	w("# Written by internal/testenv for one test run.")
	w("hosts:")
	w("  - %s", yamlString(e.Domain))
	w("loglevel: info")
	w("certfiles: []")
	w("auth_method: internal")
	w("auth_password_format: plain")
	w("shaper_rules:")
	w("  c2s_shaper: none")
	w("  s2s_shaper: none")
	w("acl:")
	w("  loopback:")
	w("    ip:")
	w("      - 127.0.0.0/8")
	if len(e.opts.Privileged) > 0 {
		w("  ferry_transports:")
		w("    server:")
		for _, d := range e.opts.Privileged {
			w("      - %s", yamlString(d))
		}
	}
	w("access_rules:")
	w("  c2s:")
	w("    allow: all")
	if len(e.opts.Privileged) > 0 {
		w("  ferry_privileged:")
		w("    allow: ferry_transports")
	}
	w("api_permissions:")
	w("  testenv:")
	w("    from:")
	w("      - mod_http_api")
	w("    who:")
	w("      acl: loopback")
	w("    what:")
	w("      - register")
	w("      - change_password")
	w("listen:")
	w("  - port: %s", port(e.C2SAddr))
	w("    ip: \"127.0.0.1\"")
	w("    module: ejabberd_c2s")
	w("    starttls: false")
	w("    access: c2s")
	w("    shaper: c2s_shaper")
	w("  - port: %s", port(e.ComponentAddr))
	w("    ip: \"127.0.0.1\"")
	w("    module: ejabberd_service")
	w("    hosts:")
	if len(e.opts.Components) == 0 {
		w("      {}")
	}
	for _, d := range slices.Sorted(maps.Keys(e.opts.Components)) {
		w("      %s:", yamlString(d))
		w("        password: %s", yamlString(e.opts.Components[d]))
	}
	w("  - port: %s", port(e.HTTPAddr))
	w("    ip: \"127.0.0.1\"")
	w("    module: ejabberd_http")
	w("    request_handlers:")
	w("      /api: mod_http_api")
	w("modules:")
	for _, m := range []string{"mod_roster", "mod_disco", "mod_ping", "mod_carboncopy", "mod_offline", "mod_http_api"} {
		w("  %s: {}", m)
	}
	if len(e.opts.Privileged) > 0 {
		w("  mod_privilege:")
		w("    roster:")
		w("      both: ferry_privileged")
		w("    message:")
		w("      outgoing: ferry_privileged")
	}
	if len(e.opts.Include) > 0 {
		w("include_config_file:")
		for _, f := range e.opts.Include {
			w("  - %s", yamlString(f))
		}
	}
	return b.String()
}

// yamlString quotes s for YAML (JSON strings are valid YAML scalars).
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

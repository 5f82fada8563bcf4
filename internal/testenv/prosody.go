package testenv

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"mellium.im/xmpp/jid"
)

// Time limits for the Prosody process. Prosody starts and stops in well under
// a second; the limits only bound a broken run.
const (
	prosodyReadyTimeout = 20 * time.Second
	prosodyStopTimeout  = 10 * time.Second // Prosody gives c2s clients 6s to close their streams
	prosodyKillTimeout  = 2 * time.Second
	readyPollInterval   = 20 * time.Millisecond
	logTailLines        = 150
	startAttempts       = 3
	testenvModule       = "testenv"
)

// testenvModuleSource is a Prosody module that lets the test talk to the
// server through files:
//
//   - It creates the ready file once Prosody has started (every host loaded,
//     every port bound or failed), so the wait for the ports cannot succeed
//     early on a port that another process holds.
//   - It shuts the server down when the stop file appears. Stop uses this
//     instead of SIGTERM: Prosody 0.12 runs its signal handlers in whatever
//     Lua code is executing when the signal lands, and a SIGTERM that
//     interrupts a closing c2s session aborts the shutdown half-way ("Error
//     calling ondisconnect ... mod_c2s.lua:469") and leaves the process
//     running. A timer runs from the main loop, where shutting down is safe.
//
// Start removes both files before Prosody runs again.
const testenvModuleSource = `-- Written by internal/testenv: report readiness, stop on request.
module:set_global();
local ready_file = module:get_option_string("testenv_ready_file");
local stop_file = module:get_option_string("testenv_stop_file");

module:hook("server-started", function ()
	local f = assert(io.open(ready_file, "w"));
	f:close();
end);

local stopping = false;
module:add_timer(0.02, function ()
	if stopping then return 0.02; end
	local f = io.open(stop_file, "r");
	if not f then return 0.02; end
	f:close();
	stopping = true;
	module:log("info", "Stop file found, shutting down");
	prosody.main_thread:run(function ()
		prosody.unlock_globals();
		prosody.shutdown("testenv stop file");
		prosody.lock_globals();
	end);
	-- Keep ticking: the main loop only notices that it may exit when
	-- something wakes it, and otherwise sleeps until its next timer (1s).
	return 0.02;
end);
`

// Prosody is one Prosody server run by a test. Its ports stay the same across
// Stop and Start, so a gateway can be left pointed at it over a restart.
type Prosody struct {
	Domain        string // the users' host, "localhost" unless chosen
	C2SAddr       string // "127.0.0.1:PORT" for clients
	ComponentAddr string // "127.0.0.1:PORT" for XEP-0114 components
	Dir           string // the temporary directory holding config, data and logs

	opts      ProsodyOptions
	bin       string
	config    string
	logFile   string
	console   string // Prosody's own stdout and stderr
	dataDir   string
	stopFile  string
	readyFile string

	mu   sync.Mutex
	proc *prosodyProc
}

type prosodyProc struct {
	cmd  *exec.Cmd
	out  *os.File
	done chan struct{} // closed when the process has exited
	err  error         // from Wait, valid once done is closed
}

// ProsodyOptions configures StartProsody. The zero value is a server for
// "localhost" with no component and no user.
type ProsodyOptions struct {
	Domain     string            // default "localhost"
	Components map[string]string // component domain -> secret
	Users      map[string]string // localpart -> password
	// Modules are enabled on top of the default set (roster, saslauth, disco,
	// ping, private, carbons, blocklist, version, time, and the auto-loaded
	// presence, message, iq and offline).
	Modules []string
	// Privileged component domains get XEP-0356 permissions through
	// mod_privilege (Debian's prosody-modules): roster both, message
	// outgoing.
	Privileged []string
}

// prosodyModulesDir is where Debian's prosody-modules installs mod_privilege.
const prosodyModulesDir = "/usr/lib/prosody/modules"

// StartProsody writes a configuration in a new temporary directory, starts
// Prosody in the foreground and waits until both its c2s and its component
// port accept connections. Prosody is stopped when the test ends; if the test
// failed, the end of Prosody's log is written to the test log.
func StartProsody(t TB, opts ProsodyOptions) *Prosody {
	t.Helper()
	bin := Need(t, "prosody")
	if len(opts.Privileged) > 0 {
		needFile(t, filepath.Join(prosodyModulesDir, "mod_privilege", "mod_privilege.lua"), "prosody-modules")
	}
	if opts.Domain == "" {
		opts.Domain = "localhost"
	}
	dir := t.TempDir()
	p := &Prosody{
		Domain:    opts.Domain,
		Dir:       dir,
		opts:      opts,
		bin:       bin,
		config:    filepath.Join(dir, "prosody.cfg.lua"),
		logFile:   filepath.Join(dir, "prosody.log"),
		console:   filepath.Join(dir, "prosody.console"),
		dataDir:   filepath.Join(dir, "data"),
		stopFile:  filepath.Join(dir, "stop"),
		readyFile: filepath.Join(dir, "ready"),
	}
	for _, sub := range []string{p.dataDir, filepath.Join(dir, "certs"), filepath.Join(dir, "plugins")} {
		if err := os.MkdirAll(sub, 0o700); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "plugins", "mod_"+testenvModule+".lua"), []byte(testenvModuleSource), 0o600); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	for _, local := range slices.Sorted(maps.Keys(opts.Users)) {
		p.AddUser(t, local, opts.Users[local])
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			p.dumpLog(t)
		}
	})

	// A port picked by FreePort can be taken by someone else before Prosody
	// binds it. Prosody then logs the failure and runs on without that port,
	// so the check is on the log, and the cure is another pair of ports.
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		ports := freePorts(t, 2)
		p.C2SAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
		p.ComponentAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
		if err = p.writeConfig(); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		err = p.start()
		if !errors.Is(err, errPortTaken) {
			break
		}
		p.stop()
	}
	if err != nil {
		t.Fatalf("testenv: starting prosody: %v", err)
	}
	return p
}

// Stop stops Prosody and waits for it to exit. Stopping a stopped server does
// nothing. Clients logged in see their stream closed.
func (p *Prosody) Stop(t TB) {
	t.Helper()
	p.stop()
}

// Start starts Prosody again after Stop, with the same configuration, data
// and ports, and waits until it accepts connections.
func (p *Prosody) Start(t TB) {
	t.Helper()
	p.mu.Lock()
	running := p.proc != nil
	p.mu.Unlock()
	restart(t, "prosody", running, p.start)
}

// AddUser creates (or changes the password of) an account. It writes the
// account file that Prosody's internal_plain authentication reads on each
// login, so it works while Prosody is running too.
func (p *Prosody) AddUser(t TB, local, password string) {
	t.Helper()
	j, err := jid.New(local, p.Domain, "")
	if err != nil {
		t.Fatalf("testenv: bad user %q: %v", local, err)
	}
	dir := filepath.Join(p.dataDir, encodePath(p.Domain), "accounts")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	body := "return {\n\t[\"password\"] = " + luaString(password) + ";\n};\n"
	file := filepath.Join(dir, encodePath(j.Localpart())+".dat")
	// Write then rename, so a login racing with this never reads half a file.
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// Log returns what Prosody has written to its log file so far (debug level).
func (p *Prosody) Log() string {
	b, _ := os.ReadFile(p.logFile)
	return string(b)
}

var errPortTaken = errors.New("a listening port was taken by another process")

func (p *Prosody) start() error {
	for _, f := range []string{p.stopFile, p.readyFile} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	out, err := os.OpenFile(p.console, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	// A restart appends to the same log; remember where this run starts so
	// the port check below reads this run's lines only.
	logStart := int64(0)
	if fi, err := os.Stat(p.logFile); err == nil {
		logStart = fi.Size()
	}
	cmd := exec.Command(p.bin, "--config", p.config, "-F")
	cmd.Dir = p.Dir
	cmd.Stdout = out
	cmd.Stderr = out
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		out.Close()
		return err
	}
	proc := &prosodyProc{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		proc.err = cmd.Wait()
		close(proc.done)
	}()
	p.mu.Lock()
	p.proc = proc
	p.mu.Unlock()

	deadline := time.Now().Add(prosodyReadyTimeout)
	tick := time.NewTicker(readyPollInterval)
	defer tick.Stop()
	for {
		if exists(p.readyFile) && accepts(p.C2SAddr) && accepts(p.ComponentAddr) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ports %s and %s not ready after %v", p.C2SAddr, p.ComponentAddr, prosodyReadyTimeout)
		}
		select {
		case <-proc.done:
			return fmt.Errorf("prosody exited before it was ready: %v", proc.err)
		case <-tick.C:
		}
	}
	if strings.Contains(logSince(p.logFile, logStart), "Failed to open server port") {
		return errPortTaken
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func accepts(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (p *Prosody) stop() {
	p.mu.Lock()
	proc := p.proc
	p.proc = nil
	p.mu.Unlock()
	if proc == nil {
		return
	}
	// The stop file first (see testenvModuleSource), then a signal, then a kill.
	if err := os.WriteFile(p.stopFile, nil, 0o600); err != nil {
		_ = proc.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-proc.done:
	case <-time.After(prosodyStopTimeout):
		_ = proc.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-proc.done:
		case <-time.After(prosodyKillTimeout):
			_ = proc.cmd.Process.Kill()
			<-proc.done
		}
	}
	proc.out.Close()
}

// dumpLog writes the last lines of Prosody's log, and anything it printed on
// its console, to the test log.
func (p *Prosody) dumpLog(t TB) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(p.Log(), "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	t.Logf("testenv: last %d lines of %s:\n%s", len(lines), p.logFile, strings.Join(lines, "\n"))
	if b, _ := os.ReadFile(p.console); len(strings.TrimSpace(string(b))) > 0 {
		t.Logf("testenv: prosody console output:\n%s", b)
	}
}

func (p *Prosody) writeConfig() error {
	var b strings.Builder
	q := func(s string) string { return luaString(filepath.ToSlash(s)) }
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	_, c2sPort, _ := net.SplitHostPort(p.C2SAddr)
	_, compPort, _ := net.SplitHostPort(p.ComponentAddr)

	w("-- Written by internal/testenv for one test run.")
	w("run_as_root = true")
	w("daemonize = false")
	w("pidfile = %s", q(filepath.Join(p.Dir, "prosody.pid")))
	w("admin_socket = %s", q(filepath.Join(p.Dir, "prosody.sock")))
	w("data_path = %s", q(p.dataDir))
	w("certificates = %s", q(filepath.Join(p.Dir, "certs")))
	w("log = { debug = %s }", q(p.logFile))
	if len(p.opts.Privileged) > 0 {
		w("plugin_paths = { %s, %s }", q(filepath.Join(p.Dir, "plugins")), q(prosodyModulesDir))
	} else {
		w("plugin_paths = { %s }", q(filepath.Join(p.Dir, "plugins")))
	}
	w("testenv_stop_file = %s", q(p.stopFile))
	w("testenv_ready_file = %s", q(p.readyFile))
	w("")
	w(`interfaces = { "127.0.0.1" }`)
	w(`local_interfaces = { "127.0.0.1" }`)
	w(`c2s_interfaces = { "127.0.0.1" }`)
	w(`component_interfaces = { "127.0.0.1" }`)
	w("c2s_ports = { %s }", c2sPort)
	w("component_ports = { %s }", compPort)
	for _, none := range []string{"s2s_ports", "s2s_direct_tls_ports", "http_ports", "https_ports", "c2s_direct_tls_ports", "legacy_ssl_ports"} {
		w("%s = { }", none)
	}
	w("")
	w("c2s_require_encryption = false")
	w("s2s_require_encryption = false")
	w("allow_unencrypted_plain_auth = true")
	w(`authentication = "internal_plain"`)
	w(`storage = "internal"`)
	w("allow_registration = false")
	w("")
	modules := []string{testenvModule, "roster", "saslauth", "disco", "ping", "private", "carbons", "blocklist", "version", "time"}
	if len(p.opts.Privileged) > 0 {
		modules = append(modules, "privilege")
	}
	for _, m := range p.opts.Modules {
		if !slices.Contains(modules, m) {
			modules = append(modules, m)
		}
	}
	w("modules_enabled = { %s }", luaList(modules))
	w("modules_disabled = { %s }", luaList([]string{"s2s", "tls", "http", "limits"}))
	w("")
	w("VirtualHost %s", luaString(p.Domain))
	if len(p.opts.Privileged) > 0 {
		w("\tprivileged_entities = {")
		for _, d := range p.opts.Privileged {
			w("\t\t[%s] = { roster = \"both\"; message = \"outgoing\" };", luaString(d))
		}
		w("\t}")
	}
	for _, domain := range slices.Sorted(maps.Keys(p.opts.Components)) {
		w("")
		w("Component %s", luaString(domain))
		w("\tcomponent_secret = %s", luaString(p.opts.Components[domain]))
		if slices.Contains(p.opts.Privileged, domain) {
			w("\tmodules_enabled = { \"privilege\" }")
		}
	}
	return os.WriteFile(p.config, []byte(b.String()), 0o600)
}

func luaList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = luaString(s)
	}
	return strings.Join(quoted, ", ")
}

// luaString quotes s as a Lua string literal. Lua strings are byte strings,
// so only quotes, backslashes and control bytes need escaping.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// encodePath is how Prosody's file storage names hosts and users on disk:
// every byte that is not an ASCII letter or digit becomes %xx (lower case).
func encodePath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02x", c)
	}
	return b.String()
}

package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// gateway is one run of a gateway under test, seen from the outside: its
// process, its domain, and whatever it needs before users arrive.
type gateway interface {
	name() string
	domain() string
	pid() int
	// goroutines reads the gateway's goroutine count; errNotGo for a
	// gateway that has none.
	goroutines() (int, error)
	// goMemory reads the Go heap and goroutine stacks in use, in bytes;
	// errNotGo for a gateway that is not a Go program.
	goMemory() (heap, stacks float64, err error)
	// prepare sets up what each of these users needs before they join
	// (biboumi: the IRC server's address and port, no TLS, no throttle;
	// with channelMessages, no history recording either).
	prepare(users []int, channelMessages bool) error
	stop()
}

var errNotGo = errors.New("not a Go program")

// gatewayKind starts a gateway for one scenario.
type gatewayKind struct {
	label string
	start func(e *env) (gateway, error)
}

const (
	gatewayReadyTimeout = 30 * time.Second
	gatewayStopGrace    = 30 * time.Second
	iqTimeout           = 30 * time.Second
)

// waitAnswers pings domain from the tool's users' component until it
// answers: the gateway is attached to Prosody and serving.
func waitAnswers(e *env, domain string, proc *process) error {
	deadline := time.Now().Add(gatewayReadyTimeout)
	for {
		r, err := e.users.iq(userJID(0), domain, "get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", 2*time.Second)
		if err == nil && r.attr("type") == "result" {
			return nil
		}
		if proc.exited() {
			return fmt.Errorf("%s exited: %v", domain, proc.err)
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New(describe(r))
			}
			return fmt.Errorf("%s did not answer within %v: %v", domain, gatewayReadyTimeout, err)
		}
		time.Sleep(50 * time.Millisecond) // polling for a process to come up, not a test synchronisation
	}
}

// ferryGateway is the ferry binary built from this tree, run with a config
// written for the load run.
type ferryGateway struct {
	proc    *process
	dir     string
	metrics string // http://127.0.0.1:PORT/metrics
	pprof   string // http://127.0.0.1:PORT/debug/pprof
}

func (g *ferryGateway) profilerURL() string { return g.pprof }

func startFerry(e *env) (gateway, error) {
	dir := e.tb.TempDir()
	port := testenv.FreePort(e.tb)
	listen := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cfg := fmt.Sprintf(`# Written by ferry-load.
database = "ferry.db"
secrets_key_file = "ferry.key"

[xmpp]
address = %q
server_domain = %q

[registration]
allowed_domains = [%q]

[http]
listen = %q
# The profiler, for looking into a run (curl /debug/pprof/profile).
pprof = true

[[transport]]
kind = "irc"
domain = %q
secret = %q
name = "IRC (load)"
[transport.options]
allow_other_servers = false
# Pacing off, as biboumi's throttle is for the run.
rate = 0
[[transport.options.network]]
name = %q
address = %q
tls = false
`, e.prosody.ComponentAddr, serverDomain, loadDomain, listen, ferryDomain, e.secrets[ferryDomain], ircName, e.irc.Addr)
	config := filepath.Join(dir, "ferry.toml")
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	proc, err := startProcess(dir, "ferry.log", e.ferryBin, "run", "-config", config)
	if err != nil {
		return nil, err
	}
	g := &ferryGateway{proc: proc, dir: dir, metrics: "http://" + listen + "/metrics", pprof: "http://" + listen + "/debug/pprof"}
	if err := waitHealthy("http://"+listen+"/healthz", proc); err != nil {
		g.stop()
		return nil, fmt.Errorf("ferry: %w (log: %s)", err, filepath.Join(dir, "ferry.log"))
	}
	if err := waitAnswers(e, ferryDomain, proc); err != nil {
		g.stop()
		return nil, err
	}
	return g, nil
}

func waitHealthy(url string, proc *process) error {
	deadline := time.Now().Add(gatewayReadyTimeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		if proc.exited() {
			return fmt.Errorf("exited: %v", proc.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("/healthz not 200 within %v: %v", gatewayReadyTimeout, err)
		}
		time.Sleep(50 * time.Millisecond) // polling for a process to come up
	}
}

func (g *ferryGateway) name() string   { return "Ferry" }
func (g *ferryGateway) domain() string { return ferryDomain }
func (g *ferryGateway) pid() int       { return g.proc.pid() }

func (g *ferryGateway) goroutines() (int, error) {
	b, err := g.readMetrics()
	if err != nil {
		return 0, err
	}
	v, err := parseGauge(b, "go_goroutines")
	return int(v), err
}

func (g *ferryGateway) goMemory() (heap, stacks float64, err error) {
	b, err := g.readMetrics()
	if err != nil {
		return 0, 0, err
	}
	if heap, err = parseGauge(b, "go_memstats_heap_inuse_bytes"); err != nil {
		return 0, 0, err
	}
	stacks, err = parseGauge(b, "go_memstats_stack_inuse_bytes")
	return heap, stacks, err
}

func (g *ferryGateway) readMetrics() ([]byte, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(g.metrics)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// prepare has nothing to do: Ferry registers a user who joins a room with
// the join nick.
func (g *ferryGateway) prepare([]int, bool) error { return nil }

func (g *ferryGateway) stop() { g.proc.stop(gatewayStopGrace) }

// biboumiGateway is Debian's biboumi, the incumbent, on the same Prosody.
type biboumiGateway struct {
	e    *env
	proc *process
	dir  string
}

func startBiboumi(e *env) (gateway, error) {
	if e.biboumiBin == "" {
		return nil, errors.New("biboumi not installed")
	}
	dir := e.tb.TempDir()
	host, port, _ := net.SplitHostPort(e.prosody.ComponentAddr)
	policies := filepath.Join(dir, "policies")
	if err := os.Mkdir(policies, 0o700); err != nil {
		return nil, err
	}
	cfg := strings.Join([]string{
		"hostname=" + biboumiDomain,
		"password=" + e.secrets[biboumiDomain],
		"xmpp_server_ip=" + host,
		"port=" + port,
		"db_name=" + filepath.Join(dir, "biboumi.sqlite"),
		"identd_port=0",
		"policy_directory=" + policies,
		"log_file=" + filepath.Join(dir, "biboumi.log"),
		"log_level=1",
		"realname_customization=true",
	}, "\n") + "\n"
	config := filepath.Join(dir, "biboumi.cfg")
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	proc, err := startProcess(dir, "biboumi.console", e.biboumiBin, config)
	if err != nil {
		return nil, err
	}
	g := &biboumiGateway{e: e, proc: proc, dir: dir}
	if err := waitAnswers(e, biboumiDomain, proc); err != nil {
		g.stop()
		return nil, fmt.Errorf("biboumi: %w (log: %s)", err, filepath.Join(dir, "biboumi.log"))
	}
	return g, nil
}

func (g *biboumiGateway) name() string             { return "biboumi" }
func (g *biboumiGateway) domain() string           { return biboumiDomain }
func (g *biboumiGateway) pid() int                 { return g.proc.pid() }
func (g *biboumiGateway) goroutines() (int, error) { return 0, errNotGo }
func (g *biboumiGateway) goMemory() (float64, float64, error) {
	return 0, 0, errNotGo
}
func (g *biboumiGateway) stop() { g.proc.stop(gatewayStopGrace) }

// prepare runs biboumi's ad-hoc command configure for each user, as a user
// would in their client: on the IRC server's JID the address and port of
// our ngIRCd with no TLS ports and the throttle off, and where channel
// messages will flow, on the gateway's JID no history recording (the
// issue's baseline is "biboumi, history off"; it only matters for channel
// messages, and each configure costs biboumi database writes).
func (g *biboumiGateway) prepare(users []int, channelMessages bool) error {
	_, ircPort, _ := net.SplitHostPort(g.e.irc.Addr)
	server := map[string][]string{"address": {"127.0.0.1"}, "ports": {ircPort}, "tls_ports": nil, "throttle_limit": {"-1"}}
	global := map[string][]string{"record_history": {"false"}}
	sem := make(chan struct{}, 16)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := adhocConfigure(g.e.users, userJID(u), ircName+"@"+biboumiDomain, server)
			if err == nil && channelMessages {
				err = adhocConfigure(g.e.users, userJID(u), biboumiDomain, global)
			}
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return firstErr
}

const nsCommands = "http://jabber.org/protocol/commands"

// adhocConfigure executes the ad-hoc command "configure" on to, and submits
// the form it returns with the given fields changed.
func adhocConfigure(c *component, from, to string, set map[string][]string) error {
	r, err := c.iq(from, to, "set", "<command xmlns='"+nsCommands+"' node='configure' action='execute'/>", iqTimeout)
	if err != nil {
		return err
	}
	cmd := r.child("command")
	if r.attr("type") != "result" || cmd == nil || cmd.child("x") == nil {
		return fmt.Errorf("configure on %s: %s", to, describe(r))
	}
	form := cmd.child("x")
	var b strings.Builder
	b.WriteString("<command xmlns='" + nsCommands + "' node='configure' sessionid='" + escapeAttr(cmd.attr("sessionid")) + "'><x xmlns='jabber:x:data' type='submit'>")
	seen := map[string]bool{}
	var vars []string
	for _, f := range form.children {
		v := f.attr("var")
		if f.name != "field" || v == "" {
			continue
		}
		vars = append(vars, v)
		values, change := set[v]
		if change {
			seen[v] = true
		} else {
			for _, val := range f.children {
				if val.name == "value" {
					values = append(values, val.text)
				}
			}
		}
		b.WriteString("<field var='" + escapeAttr(v) + "'>")
		for _, val := range values {
			b.WriteString("<value>" + escapeText(val) + "</value>")
		}
		b.WriteString("</field>")
	}
	b.WriteString("</x></command>")
	for v := range set {
		if !seen[v] {
			return fmt.Errorf("configure on %s: the form has no field %q (fields: %s)", to, v, strings.Join(vars, ", "))
		}
	}
	r, err = c.iq(from, to, "set", b.String(), iqTimeout)
	if err != nil {
		return err
	}
	if r.attr("type") != "result" {
		return fmt.Errorf("configure on %s refused: %s", to, describe(r))
	}
	return nil
}

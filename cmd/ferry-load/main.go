// Command ferry-load measures Ferry under load, beside biboumi in the same
// run: it builds ferry from this tree, starts a private Prosody and ngIRCd,
// attaches itself to Prosody as two XEP-0114 components (the simulated XMPP
// users, and made-up remote JIDs) and drives each scenario through each
// gateway from the outside: XMPP and IRC on the wire, /proc for CPU and
// memory, Ferry's /metrics for goroutines. It prints a Markdown table per
// scenario.
//
//	go run ./cmd/ferry-load                       # every scenario, the sizes
//	go run ./cmd/ferry-load -scenario burst,pm -biboumi=false -users 5
//
// Linux only (it reads /proc). Run it as root for the ramp and names
// scenarios, which need more open files than an ordinary user's limit.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// allScenarios in the order they run.
var allScenarios = []string{"burst", "paced", "pm", "join", "ramp", "names", "flood", "storm"}

func newScenario(name string) scenario {
	switch name {
	case "burst":
		return &burstScenario{}
	case "paced":
		return &burstScenario{paced: true}
	case "pm":
		return pmScenario{}
	case "join":
		return &joinScenario{}
	case "ramp":
		return &rampScenario{}
	case "names":
		return &namesScenario{}
	case "flood":
		return floodScenario{}
	case "storm":
		return stormScenario{}
	}
	return nil
}

func main() {
	o := defaultOptions()
	fs := flag.NewFlagSet("ferry-load", flag.ExitOnError)
	list := fs.String("scenario", strings.Join(allScenarios, ","), "scenarios to run, comma-separated: "+strings.Join(allScenarios, ", "))
	withFerry := fs.Bool("ferry", true, "measure Ferry")
	withBiboumi := fs.Bool("biboumi", true, "measure biboumi too (Debian package biboumi: scripts/install-deps.sh biboumi)")
	fs.IntVar(&o.users, "users", o.users, "burst, paced: XMPP users in the channel")
	fs.IntVar(&o.ircClients, "irc-clients", o.ircClients, "burst, paced: raw IRC clients in the channel")
	fs.IntVar(&o.messages, "messages", o.messages, "burst: messages each sender sends")
	fs.IntVar(&o.pacedMessages, "paced-messages", o.pacedMessages, "paced: messages each sender sends, one a second")
	fs.IntVar(&o.rounds, "rounds", o.rounds, "pm: sequential private-message round trips")
	fs.IntVar(&o.joinUsers, "join-users", o.joinUsers, "join: users joining one channel at once")
	fs.IntVar(&o.rampUsers, "ramp", o.rampUsers, "ramp: puppeted IRC connections to ramp up to")
	fs.IntVar(&o.rampRoom, "ramp-room", o.rampRoom, "ramp: users per channel")
	fs.IntVar(&o.rampWindow, "ramp-window", o.rampWindow, "ramp: joins under way at once")
	fs.IntVar(&o.namesUsers, "names", o.namesUsers, "names: raw IRC users in the channel")
	fs.IntVar(&o.floodLines, "flood", o.floodLines, "flood: lines the IRC client sends")
	fs.IntVar(&o.floodUsers, "flood-users", o.floodUsers, "flood: XMPP users in the flooded channel")
	fs.IntVar(&o.stormJIDs, "storm", o.stormJIDs, "storm: remote JIDs that each send a presence")
	fs.DurationVar(&o.stormWait, "storm-wait", o.stormWait, "storm: how long to wait for RSS to come back to its baseline")
	fs.DurationVar(&o.settle, "settle", o.settle, "give up waiting once nothing has arrived for this long")
	fs.DurationVar(&o.deadline, "deadline", o.deadline, "give up waiting for a scenario's deliveries after this long")
	verbose := fs.Bool("v", false, "log progress to stderr")
	keep := fs.Bool("keep", false, "keep the work directory (configs and logs of the servers and gateways)")
	fs.StringVar(&o.profileDir, "profile", "", "save Ferry's CPU profile during each scenario and its heap profile after it into this directory (go tool pprof DIR/burst-cpu-*)")
	_ = fs.Parse(os.Args[1:])

	var names []string
	for _, n := range strings.Split(*list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !slices.Contains(allScenarios, n) {
			fmt.Fprintf(os.Stderr, "ferry-load: unknown scenario %q (known: %s)\n", n, strings.Join(allScenarios, ", "))
			os.Exit(2)
		}
		names = append(names, n)
	}
	var kinds []gatewayKind
	if *withFerry {
		kinds = append(kinds, gatewayKind{label: "Ferry", start: startFerry})
	}
	if *withBiboumi {
		kinds = append(kinds, gatewayKind{label: "biboumi", start: startBiboumi})
	}
	if len(names) == 0 || len(kinds) == 0 {
		fmt.Fprintln(os.Stderr, "ferry-load: nothing to run")
		os.Exit(2)
	}
	var log io.Writer = io.Discard
	if *verbose {
		log = os.Stderr
	}
	os.Exit(run(names, kinds, o, *keep, os.Stdout, log))
}

// run runs the scenarios and prints their tables; it returns the exit code.
func run(names []string, kinds []gatewayKind, o options, keep bool, out, log io.Writer) (code int) {
	if err := raiseFileLimit(1 << 18); err != nil {
		fmt.Fprintf(os.Stderr, "ferry-load: %v: the ramp and names scenarios may fail\n", err)
	}
	dir, err := os.MkdirTemp("", "ferry-load-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferry-load: %v\n", err)
		return 1
	}
	r := newRunner(log, dir)
	// Ctrl-C stops the servers and gateways too (they would die with the
	// tool anyway, but would leave their files behind).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Fprintf(os.Stderr, "ferry-load: interrupted, stopping the servers; logs kept in %s\n", dir)
		r.close()
		os.Exit(130)
	}()
	defer func() {
		if p := recover(); p != nil {
			f, ok := p.(fatal)
			if !ok {
				panic(p)
			}
			fmt.Fprintf(os.Stderr, "ferry-load: %s\n", f.msg)
			code = 1
		}
		r.close()
		if code == 0 && !keep {
			os.RemoveAll(dir)
		} else {
			fmt.Fprintf(os.Stderr, "ferry-load: logs kept in %s\n", dir)
		}
	}()
	fmt.Fprintf(os.Stderr, "ferry-load: building ferry, starting Prosody and ngIRCd (work dir %s)\n", dir)
	e := startEnv(r, log, slices.ContainsFunc(kinds, func(k gatewayKind) bool { return k.label == "biboumi" }))
	failed := false
	for i, name := range names {
		if i > 0 {
			e.restartIRC()
		}
		s := newScenario(name)
		sec := section{title: s.title(o)}
		for _, k := range kinds {
			fmt.Fprintf(os.Stderr, "ferry-load: %s on %s\n", name, k.label)
			res, err := measureOne(e, o, name, s, k)
			if err != nil {
				fmt.Fprintf(os.Stderr, "ferry-load: %s on %s: %v\n", name, k.label, err)
				failed = true
				res = &result{gateway: k.label}
				res.note("did not complete: %v", err)
			}
			sec.results = append(sec.results, res)
		}
		s.close()
		writeMarkdown(out, []section{sec})
	}
	if failed {
		return 1
	}
	return 0
}

// measureOne starts a fresh gateway, measures the scenario on it, and stops
// it.
func measureOne(e *env, o options, name string, s scenario, k gatewayKind) (*result, error) {
	start := time.Now()
	g, err := k.start(e)
	if err != nil {
		return nil, err
	}
	defer g.stop()
	fmt.Fprintf(e.log, "ferry-load: %s up in %v (pid %d)\n", k.label, time.Since(start).Round(time.Millisecond), g.pid())
	pg, ok := g.(profiled)
	if o.profileDir == "" || !ok {
		return s.measure(e, o, g)
	}
	p := profiler{base: pg.profilerURL(), dir: o.profileDir}
	stop := p.startCPU(name)
	res, err := s.measure(e, o, g)
	perr := stop()
	if perr == nil {
		perr = p.saveHeap(name)
	}
	if perr != nil {
		fmt.Fprintf(os.Stderr, "ferry-load: %s on %s: profile: %v\n", name, k.label, perr)
	}
	return res, err
}

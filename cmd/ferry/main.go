// Command ferry is an XMPP transport gateway: it attaches to an XMPP server
// as XEP-0114 components and bridges IRC, email and SMS.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/ferry-xmpp/ferry/config"
	"github.com/ferry-xmpp/ferry/internal/daemon"
	"github.com/ferry-xmpp/ferry/registry"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText())
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		return helpCommand(args[1:], stdout, stderr)
	case "-version", "--version":
		return cmdVersion(nil, nil, stdout, stderr)
	}
	c, ok := findCommand(args[0])
	if !ok {
		fmt.Fprintf(stderr, "ferry: unknown command %q\n%s", args[0], usageText())
		return 2
	}
	// -h asks for help: print it on stdout and succeed. Any other flag
	// error goes to stderr with the help.
	for _, a := range args[1:] {
		if a == "-h" || a == "-help" || a == "--help" {
			return helpCommand([]string{c.name}, stdout, stderr)
		}
	}
	fs, fl := c.newFlagSet(stderr)
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	return c.run(fl, fs.Args(), stdout, stderr)
}

func cmdVersion(_ *cmdFlags, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: ferry version")
		return 2
	}
	fmt.Fprintln(stdout, "ferry", currentBuild())
	return 0
}

// configPath takes the config path from -config FILE or a lone argument;
// anything else is refused so a mistyped command never uses another file.
func configPath(name string, fl *cmdFlags, rest []string, stderr io.Writer) (string, bool) {
	path := *fl.config
	switch {
	case len(rest) == 0 && path == "":
		return "ferry.toml", true
	case len(rest) == 0:
		return path, true
	case len(rest) == 1 && path == "":
		return rest[0], true
	default:
		fmt.Fprintf(stderr, "usage: ferry %s [-config] FILE\n", name)
		return "", false
	}
}

// loadConfig loads and validates a config; withBridges also checks that
// every transport's kind and options are known to this build.
func loadConfig(path string, withBridges bool, stderr io.Writer) (config.Config, bool) {
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintf(stderr, "ferry: %s:\n%v\n", path, err)
		return cfg, false
	}
	if !withBridges {
		return cfg, true
	}
	if err := daemon.CheckBridges(cfg, knownBridges); err != nil {
		fmt.Fprintf(stderr, "ferry: %s:\n%v\n", path, err)
		return cfg, false
	}
	return cfg, true
}

func cmdCheck(fl *cmdFlags, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 && *fl.config == "" {
		fmt.Fprint(stderr, "usage: ferry check-config [-config] FILE\n")
		return 2
	}
	path, ok := configPath("check-config", fl, args, stderr)
	if !ok {
		return 2
	}
	problems, warnings, err := checkConfig(path)
	if err != nil {
		fmt.Fprintf(stderr, "ferry: %s:\n%v\n", path, err)
		return 1
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "ferry: %s:\n%s\n", path, (&config.Errors{Problems: problems}).Error())
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return 0
}

// checkConfig finds every problem in one pass: the file's own, each
// bridge's options (for every transport whose kind is valid), and the
// secrets key as run would find it. err is set only when the file cannot
// be read.
func checkConfig(path string) (problems, warnings []config.Problem, err error) {
	cfg, cerr := config.LoadPartial(path)
	var ce *config.Errors
	if cerr != nil && !errors.As(cerr, &ce) {
		return nil, nil, cerr
	}
	if ce != nil {
		problems = append(problems, ce.Problems...)
		if len(cfg.Transports) == 0 && cfg.Database == "" {
			return problems, nil, nil // a syntax error: nothing else to check
		}
	}
	if berr := daemon.CheckBridges(cfg, knownBridges); berr != nil {
		var be *config.Errors
		if errors.As(berr, &be) {
			problems = append(problems, be.Problems...)
		} else {
			problems = append(problems, config.Problem{Key: "transport", Msg: berr.Error()})
		}
	}
	if kerr := registry.CheckKey(context.Background(), cfg.SecretsKeyFile, cfg.Database); kerr != nil {
		problems = append(problems, config.Problem{Key: "secrets_key_file", Msg: strings.TrimPrefix(kerr.Error(), "registry: ")})
	}
	return problems, cfg.Warnings, nil
}

func cmdMigrate(fl *cmdFlags, args []string, stdout, stderr io.Writer) int {
	path, ok := configPath("migrate", fl, args, stderr)
	if !ok {
		return 2
	}
	cfg, ok := loadConfig(path, false, stderr)
	if !ok {
		return 1
	}
	from, to, err := registry.Migrate(context.Background(), cfg.Database)
	if err != nil {
		fmt.Fprintf(stderr, "ferry: migrate %s: %v\n", cfg.Database, err)
		return 1
	}
	if from == to {
		fmt.Fprintf(stdout, "%s: schema is current (version %d)\n", cfg.Database, to)
	} else {
		fmt.Fprintf(stdout, "%s: schema upgraded from version %d to %d\n", cfg.Database, from, to)
	}
	return 0
}

func cmdForgetSecrets(fl *cmdFlags, args []string, stdout, stderr io.Writer) int {
	path, ok := configPath("forget-secrets", fl, args, stderr)
	if !ok {
		return 2
	}
	cfg, ok := loadConfig(path, false, stderr)
	if !ok {
		return 1
	}
	n, err := registry.ForgetSecrets(context.Background(), cfg.Database)
	if err != nil {
		fmt.Fprintf(stderr, "ferry: forget-secrets %s: %v\n", cfg.Database, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: the secrets of %d account(s) were deleted; those users must register again to give them\n", cfg.Database, n)
	return 0
}

// schedulerThreads lets Go code run on one thread at a time, unless the
// environment sets GOMAXPROCS; chosen reports that it did. Ferry's work
// is many short steps, each handing the next to another goroutine (a
// socket's reader, a user's actor, the link's writer). With a second
// processor the runtime wakes another thread to look for work at nearly
// every hand-off (a fifth of the CPU in a profile of the load tool's
// paced scenario): one thread took 10 to 20 % less CPU per message in
// its paced, private-message and burst scenarios, at the same
// throughput. Blocking system calls (SQLite's writes, DNS) still
// run on threads of their own; what one thread serialises is CPU work
// (TLS handshakes, SQLite queries), which the runtime preempts every
// 10 ms so that nothing waits behind it for long.
func schedulerThreads() (n int, chosen bool) {
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		return runtime.GOMAXPROCS(0), false
	}
	runtime.GOMAXPROCS(1)
	return 1, true
}

func cmdRun(fl *cmdFlags, args []string, _, stderr io.Writer) int {
	path, ok := configPath("run", fl, args, stderr)
	if !ok {
		return 2
	}
	cfg, ok := loadConfig(path, true, stderr)
	if !ok {
		return 1
	}
	log := newLogger(cfg.Log, stderr)
	// Packages that log through slog's default logger get the same format
	// and level as the rest.
	slog.SetDefault(log)
	if n, chosen := schedulerThreads(); chosen {
		log.Debug("Go code runs on one thread at a time; set GOMAXPROCS to use more", "gomaxprocs", n)
	}
	for _, w := range cfg.Warnings {
		log.Warn("configuration: "+w.Msg, "key", w.Key)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// First signal: graceful shutdown. Second: stop now.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case s := <-sigs:
			log.Info("shutting down; send the signal again to force", "signal", s.String())
			cancel()
		case <-stopped:
			return
		}
		select {
		case <-sigs:
			log.Warn("forced exit")
			os.Exit(130)
		case <-stopped:
		}
	}()
	err := daemon.Run(ctx, daemon.Options{Config: cfg, Bridges: knownBridges, Logger: log, Version: currentBuild().Release})
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("ferry failed", "error", err)
		return 1
	}
	return 0
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.Level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

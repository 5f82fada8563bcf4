// Package daemon wires configuration, storage, transports and the HTTP
// listener together and runs them with Caddy-style ordering: everything
// that can fail is set up before anything starts, and teardown is clean.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/options"
	"github.com/ferry-xmpp/ferry/component"
	"github.com/ferry-xmpp/ferry/config"
	"github.com/ferry-xmpp/ferry/internal/memtrim"
	"github.com/ferry-xmpp/ferry/internal/netpoll"
	"github.com/ferry-xmpp/ferry/internal/suggest"
	"github.com/ferry-xmpp/ferry/internal/supervise"
	"github.com/ferry-xmpp/ferry/registry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Options are what Run needs.
type Options struct {
	Config  config.Config
	Bridges map[string]bridges.Factory // known bridge kinds
	Logger  *slog.Logger
	Version string
	// Ready, if set, is closed once every transport is running.
	Ready chan<- struct{}
}

// Run serves until ctx ends, then shuts down cleanly.
func Run(ctx context.Context, o Options) error {
	log := o.Logger
	cfg := o.Config
	sealer, err := registry.LoadOrCreateKey(ctx, cfg.SecretsKeyFile, cfg.Database)
	if err != nil {
		return fmt.Errorf("secrets key: %w", err)
	}
	store, err := registry.Open(ctx, cfg.Database, sealer, registry.Options{AutoMigrate: true, SyncFull: cfg.DatabaseSync == "full"})
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer store.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := component.NewMetrics(reg)
	sup := supervise.New(log, metrics.Panicked)
	// One poller tells every bridge's connections when they have
	// something to read; it stops after the transports (deferred first).
	poller, err := netpoll.Open()
	if err != nil {
		log.Info("no socket poller: each connection gets a goroutine of its own", "error", err)
	} else {
		defer poller.Close()
	}

	transports, err := buildTransports(o, store, metrics, sup, poller)
	if err != nil {
		return err
	}
	// Every listener is bound before Ferry reports itself up.
	var listenErrs []error
	for _, t := range transports {
		listenErrs = append(listenErrs, t.Listen())
	}
	if err := errors.Join(listenErrs...); err != nil {
		return err
	}
	var httpSrv *httpServer
	if cfg.HTTP.Listen != "" {
		httpSrv, err = startHTTP(cfg.HTTP.Listen, cfg.HTTP.Pprof, reg, transports, store, sup, log)
		if err != nil {
			return fmt.Errorf("http listener: %w", err)
		}
		defer httpSrv.close()
	}
	var wg sync.WaitGroup
	for _, t := range transports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := t.Run(ctx); err != nil {
				log.Error("transport stopped", "transport", t.Domain(), "error", err)
			}
		}()
	}
	trimCtx, stopTrim := context.WithCancel(ctx)
	trimmed := make(chan struct{})
	go func() {
		defer close(trimmed)
		memtrim.Run(trimCtx, memtrimInterval, log)
	}()
	log.Info("ferry running", "version", o.Version, "transports", len(transports))
	if o.Ready != nil {
		close(o.Ready)
	}
	wg.Wait()
	stopTrim()
	<-trimmed
	log.Info("ferry stopped")
	return nil
}

// memtrimInterval is how often Ferry checks whether it holds much freed
// memory it could give back (internal/memtrim).
const memtrimInterval = 10 * time.Second

func buildTransports(o Options, store registry.Store, m *component.Metrics, sup *supervise.Supervisor, poller *netpoll.Poller) ([]*component.Transport, error) {
	cfg := o.Config
	var out []*component.Transport
	problems := &config.Errors{}
	for i, tc := range cfg.Transports {
		if tc.Kind == "" {
			continue // an invalid kind, reported by the config checks
		}
		factory := o.Bridges[tc.Kind]
		if factory == nil {
			problems.Problems = append(problems.Problems, config.Problem{Key: fmt.Sprintf("transport[%d].kind", i),
				Msg: fmt.Sprintf("unknown bridge kind %q (known: %s)%s", tc.Kind, knownKinds(o.Bridges), suggest.DidYouMean(tc.Kind, kinds(o.Bridges)))})
			continue
		}
		b, err := factory(tc.Domain, tc.Options, bridges.Deps{Store: store, Logger: o.Logger.With("transport", tc.Domain), Supervisor: sup, Poller: poller})
		if err != nil {
			problems.Problems = append(problems.Problems, optionProblems(i, err)...)
			continue
		}
		out = append(out, component.New(component.Options{
			Domain: tc.Domain, Name: tc.Name, Bridge: b, Store: store,
			Link: component.LinkConfig{
				Secret: tc.Secret, Address: cfg.XMPP.Address, PingTo: cfg.XMPP.ServerDomain,
				PingInterval: cfg.XMPP.PingInterval, PingTimeout: cfg.XMPP.PingTimeout,
				ReconnectMin: cfg.XMPP.ReconnectMin, ReconnectMax: cfg.XMPP.ReconnectMax,
				LaneSize: cfg.XMPP.QueueSize,
			},
			Policy: component.Policy{
				Admins: cfg.Admins, OpenRegistrate: cfg.Registration.Open,
				DomainAllowed: cfg.Registration.DomainAllowed,
			},
			Logger: o.Logger, Metrics: m, Supervisor: sup, Version: o.Version,
		}))
	}
	if len(problems.Problems) > 0 {
		return out, problems
	}
	return out, nil
}

// optionProblems turns a bridge's option error into one problem per key.
func optionProblems(i int, err error) []config.Problem {
	prefix := fmt.Sprintf("transport[%d].options", i)
	var oe *options.Error
	if !errors.As(err, &oe) {
		return []config.Problem{{Key: prefix, Msg: err.Error()}}
	}
	out := make([]config.Problem, len(oe.Problems))
	for j, p := range oe.Problems {
		out[j] = config.Problem{Key: prefix + "." + p.Key, Msg: p.Msg}
	}
	return out
}

// CheckBridges validates transport kinds and options without starting
// anything, for `ferry check-config`; problems come as a *config.Errors,
// one per option. Transports without a kind (an invalid one the config
// checks reported) are skipped, so it also works on a partial config.
func CheckBridges(cfg config.Config, known map[string]bridges.Factory) error {
	_, err := buildTransports(Options{Config: cfg, Bridges: known, Logger: slog.Default()}, nil, nil, nil, nil)
	return err
}

func knownKinds(m map[string]bridges.Factory) string {
	if len(m) == 0 {
		return "none yet"
	}
	return strings.Join(kinds(m), ", ")
}

func kinds(m map[string]bridges.Factory) []string {
	var k []string
	for name := range m {
		k = append(k, name)
	}
	sort.Strings(k)
	return k
}

package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ferry-xmpp/ferry/component"
	"github.com/ferry-xmpp/ferry/internal/supervise"
	"github.com/ferry-xmpp/ferry/registry"
)

type httpServer struct {
	srv *http.Server
}

// startHTTP serves /healthz and /metrics. /healthz is 200 only when the
// database answers and can store (store.Ping writes: a full disk fails it),
// every component link is up and no subsystem is down (a loop restarting
// after a panic), so a load balancer or systemd watchdog sees a gateway
// that lost its XMPP server, or can no longer keep what it accepts, as
// unhealthy.
func startHTTP(addr string, pprof bool, reg *prometheus.Registry, ts []*component.Transport, store registry.Store, sup *supervise.Supervisor, log *slog.Logger) (*httpServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ferry_outbox_pending", Help: "Stanzas stored while links were down, all transports."},
		func() float64 {
			n := 0
			for _, t := range ts {
				c, _ := store.PendingCount(context.Background(), t.Domain())
				n += c
			}
			return float64(n)
		})
	reg.MustRegister(depth)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if pprof {
		mux.HandleFunc("GET /debug/pprof/", httppprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", httppprof.Profile)
		mux.HandleFunc("GET /debug/pprof/trace", httppprof.Trace)
		mux.HandleFunc("GET /debug/pprof/symbol", httppprof.Symbol)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		status := map[string]any{}
		ok := true
		links := map[string]bool{}
		for _, t := range ts {
			links[t.Domain()] = t.LinkUp()
			ok = ok && t.LinkUp()
		}
		status["links"] = links
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := store.Ping(ctx); err != nil {
			status["database"] = "error"
			status["database_error"] = err.Error()
			log.Warn("health: the database cannot store", "error", err)
			ok = false
		} else {
			status["database"] = "ok"
		}
		if down := sup.Down(); len(down) > 0 {
			status["down"] = down
			ok = false
		}
		status["ok"] = ok
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(status)
	})
	s := &httpServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http listener failed", "error", err)
		}
	}()
	log.Info("http listener", "addr", ln.Addr().String())
	return s, nil
}

func (s *httpServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

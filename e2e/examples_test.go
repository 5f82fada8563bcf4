package e2e

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc"
	"github.com/ferry-xmpp/ferry/config"
	"github.com/ferry-xmpp/ferry/internal/daemon"
	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// config/ejabberd.yml.example works as written with
// config/ferry.example.toml: merged into an ejabberd node (only its port
// changed, to a free one), it accepts the example's IRC transport with the
// example's secret and grants it the XEP-0356 permissions.
func TestEjabberdExampleConfigWorksAsWritten(t *testing.T) {
	testenv.NeedEjabberd(t)
	dir := t.TempDir()
	example, err := os.ReadFile("../config/ejabberd.yml.example")
	if err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	if !strings.Contains(string(example), "port: 5347") {
		t.Fatal("the example no longer listens on 5347; update this test")
	}
	fragment := filepath.Join(dir, "ferry.yml")
	if err := os.WriteFile(fragment, []byte(strings.Replace(string(example), "port: 5347", "port: "+strconv.Itoa(port), 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := testenv.StartEjabberd(t, testenv.EjabberdOptions{Users: passwords, Include: []string{fragment}})

	cfg, err := config.Load("../config/ferry.example.toml")
	if err != nil {
		t.Fatalf("the example config: %v", err)
	}
	cfg.XMPP.Address = "127.0.0.1:" + strconv.Itoa(port)
	cfg.Database = filepath.Join(dir, "ferry.db")
	cfg.SecretsKeyFile = filepath.Join(dir, "ferry.key")
	cfg.HTTP.Listen = ""
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- daemon.Run(ctx, daemon.Options{Config: cfg, Version: "test", Ready: ready,
			Logger:  slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter(t)), &slog.HandlerOptions{Level: slog.LevelDebug})),
			Bridges: map[string]bridges.Factory{irc.Kind: irc.Factory}})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("ferry did not stop")
		}
	})
	<-ready

	// The server routes to the component: the example's secret was taken.
	// The ping's answer comes after the server's privilege message, which
	// it sends right after the handshake and Ferry logs as it reads it.
	c := srv.Login(t, "alice", passwords["alice"], "ex")
	waitTransport(t, c, "irc.example.org")
	if !strings.Contains(logs.String(), "XEP-0356 permissions") {
		t.Fatalf("no XEP-0356 permissions logged; ferry's log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "roster=both") || !strings.Contains(logs.String(), "message=outgoing") {
		t.Errorf("permissions granted by the example:\n%s", logs.String())
	}
}

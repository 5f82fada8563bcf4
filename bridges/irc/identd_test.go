package irc

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// The identd answers for the connections dialConfig makes, with the
// ident USER carries, and stops with the bridge.
func TestIdentdAnswersForFerrysConnections(t *testing.T) {
	network, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer network.Close()
	go func() {
		for {
			c, err := network.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	b := testBridge(t, map[string]any{"identd_listen": "127.0.0.1:113", "ident": "hashed", "user_hash_key": testHashKey,
		"network": []map[string]any{{"name": "irc.test", "address": network.Addr().String(), "tls": false}}})
	b.opts.Operator.IdentdListen = "127.0.0.1:0" // any free port, for the test
	if err := b.Listen(); err != nil {
		t.Fatal(err)
	}
	addr := b.identLn.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	cfg, err := b.dialConfig("alice@example.org", "irc.test", map[string]string{"nick": "alice"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	c, err := cfg.Dialer(context.Background(), "tcp", network.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local, remote := c.LocalAddr().(*net.TCPAddr).Port, c.RemoteAddr().(*net.TCPAddr).Port
	q, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	_ = q.SetDeadline(time.Now().Add(step))
	fmt.Fprintf(q, "%d , %d\r\n", local, remote)
	got, _ := io.ReadAll(q)
	want := fmt.Sprintf("%d, %d : USERID : UNIX : %s\r\n", local, remote, cfg.User)
	if string(got) != want || !strings.HasPrefix(cfg.User, "f") {
		t.Errorf("identd answered %q, want %q", got, want)
	}
}

// A port the identd cannot bind stops the start, naming the option.
func TestIdentdListenInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	b := testBridge(t, map[string]any{"identd_listen": taken.Addr().String()})
	if err := b.Listen(); err == nil || !strings.Contains(err.Error(), "identd_listen") {
		t.Errorf("Listen on a port in use: %v", err)
	}
	// Without identd_listen, nothing listens and Run has nothing to do.
	b = testBridge(t, nil)
	if err := b.Listen(); err != nil || b.identLn != nil {
		t.Errorf("Listen without identd: %v", err)
	}
	if err := b.Run(context.Background()); err != nil {
		t.Errorf("Run without identd: %v", err)
	}
}

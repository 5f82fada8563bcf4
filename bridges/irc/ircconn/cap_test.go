package ircconn

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
)

func TestParseCaps(t *testing.T) {
	tests := []struct {
		list string
		want []capToken
	}{
		{"", nil},
		{"sasl=PLAIN,EXTERNAL server-time", []capToken{{name: "sasl", value: "PLAIN,EXTERNAL"}, {name: "server-time"}}},
		{"-echo-message ~=Multi-Prefix", []capToken{{name: "echo-message", disable: true}, {name: "multi-prefix"}}},
		{"  =  - ~ =x a==b", []capToken{{name: "x"}, {name: "a", value: "=b"}}},
		{"draft/x=a=b", []capToken{{name: "draft/x", value: "a=b"}}},
	}
	for _, tt := range tests {
		if got := parseCaps(tt.list); !slices.Equal(got, tt.want) {
			t.Errorf("parseCaps(%q) = %+v, want %+v", tt.list, got, tt.want)
		}
	}
}

// TestHostileCAPLines: whatever a server says in CAP lines, registration
// goes on; Ferry only asks for capabilities it handles, and only counts
// those the server acknowledged after being asked.
func TestHostileCAPLines(t *testing.T) {
	tests := []struct {
		name   string
		script func(p *peer)
		caps   []string // Caps() once registered
	}{
		{"garbage before LS", func(p *peer) {
			p.send("CAP", ":srv CAP", ":srv CAP *", ":srv CAP * ACK", ":srv CAP * NAK", ":srv CAP * FOO :bar",
				":srv CAP * NEW :echo-message", ":srv CAP * DEL :server-time", ":srv CAP * ACK :sasl made-up")
			p.send(":srv CAP * LS :=== - ~ -x = server-time")
			p.expect("CAP REQ server-time")
			p.send(":srv CAP alice ACK :server-time made-up")
			p.expect("CAP END")
		}, []string{"server-time"}},
		{"empty final LS after continuations", func(p *peer) {
			p.send(":srv CAP * LS * :made-up", ":srv CAP * LS * :", ":srv CAP * LS :")
			p.expect("CAP END")
		}, nil},
		{"a thousand caps", func(p *peer) {
			var b strings.Builder
			for i := range 1000 {
				b.WriteString(" x")
				b.WriteString(strings.Repeat("y", i%40))
			}
			for range 20 {
				p.send(":srv CAP * LS * :" + b.String()[:400])
			}
			p.send(":srv CAP * LS :message-tags")
			p.expect("CAP REQ message-tags")
			p.send(":srv CAP alice NAK :message-tags")
			p.expect("CAP END")
		}, nil},
		{"NAK of what was never asked is not re-asked", func(p *peer) {
			p.send(":srv CAP * LS :server-time message-tags")
			p.expect("CAP REQ :message-tags server-time")
			p.send(":srv CAP alice NAK :message-tags evil server-time")
			p.expect("CAP REQ message-tags", "CAP REQ server-time")
			p.send(":srv CAP alice ACK :message-tags", ":srv CAP alice NAK :server-time")
			p.expect("CAP END")
		}, []string{"message-tags"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeServer(t)
			ch := dialAsync(baseConfig(s.addr()))
			p := s.accept()
			p.expectHello("", "alice")
			tt.script(p)
			p.welcome("alice")
			c := mustDial(t, ch)
			t.Cleanup(func() { p.conn.Close() }) // Close need not linger
			var got []string
			for name := range c.Caps() {
				got = append(got, name)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.caps) {
				t.Errorf("Caps() = %v, want %v", got, tt.caps)
			}
		})
	}
}

// TestCAPStallsHitTheRegistrationTimeout: a server that never finishes
// its CAP LS, or never answers the REQ, cannot hold a connection attempt
// beyond the registration timeout.
func TestCAPStallsHitTheRegistrationTimeout(t *testing.T) {
	for _, stall := range []func(p *peer){
		func(p *peer) { p.send(":srv CAP * LS * :server-time") },
		func(p *peer) {
			p.send(":srv CAP * LS :server-time")
			p.expect("CAP REQ server-time")
		},
	} {
		s := newFakeServer(t)
		cfg := baseConfig(s.addr())
		cfg.RegisterTimeout = 200 * time.Millisecond
		ch := dialAsync(cfg)
		p := s.accept()
		p.expectHello("", "alice")
		stall(p)
		_, err := waitDial(t, ch)
		if !errors.Is(err, &Error{Kind: KindTimeout}) {
			t.Fatalf("Dial = %v, want a timeout", err)
		}
	}
}

// recordingConn is a net.Conn that takes every write and has nothing to
// read: registration's state machine driven without a server.
type recordingConn struct {
	net.Conn
	out bytes.Buffer
}

func (c *recordingConn) Write(b []byte) (int, error) { return c.out.Write(b) }
func (c *recordingConn) Close() error                { return nil }

// FuzzCAPRegistration feeds registration any lines a server could send
// before its welcome. Whatever they are, registration never panics, writes
// only lines a server can parse, asks only for capabilities Ferry
// handles (sasl, cap-notify, Config.Caps), writes a bounded number of
// lines per line read, and finishes on a 001.
func FuzzCAPRegistration(f *testing.F) {
	f.Add(":srv CAP * LS :sasl=PLAIN server-time cap-notify\n:srv CAP * ACK :server-time\n")
	f.Add(":srv CAP * LS * :a b\n:srv CAP * LS :\n:srv CAP * NAK :a b c\n")
	f.Add("CAP * LS :message-tags echo-message\nCAP alice NAK :message-tags echo-message\nCAP alice NAK :echo-message\n")
	f.Add("CAP\nCAP *\nCAP * ACK\nCAP * ACK :-server-time ~=x\n:srv 433 * alice :in use\n")
	f.Add("@time=x :srv CAP * LS :=== ~ - =\n:srv 410 * LS :bad\n")
	f.Fuzz(func(t *testing.T, script string) {
		nc := &recordingConn{}
		cfg := Config{Addr: "srv:6667", Nick: "alice", Caps: testCaps}
		if _, err := cfg.withDefaults(); err != nil {
			t.Fatal(err)
		}
		c := newConn(cfg, nc)
		r := &registration{c: c, cfg: &cfg, nick: cfg.Nick, ctx: context.Background()}
		lines := strings.Split(script, "\n")
		for _, line := range lines {
			msg, err := ircmsg.ParseLineStrict(line, false, 0)
			if err != nil || msg.Command == "001" {
				continue
			}
			if _, err := r.handle(msg); err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("%q: error %v is not an *Error", line, err)
				}
				return // registration failed cleanly
			}
		}
		if done, err := r.handle(ircmsg.MakeMessage(nil, "srv", "001", "alice", "Welcome")); !done || err != nil {
			t.Fatalf("the welcome did not finish registration: %v, %v", done, err)
		}
		written := strings.Split(strings.TrimSuffix(nc.out.String(), "\r\n"), "\r\n")
		if nc.out.Len() == 0 {
			written = nil
		}
		if limit := 2*len(lines) + len(testCaps) + 2; len(written) > limit {
			t.Fatalf("%d lines written for %d read", len(written), len(lines))
		}
		for _, w := range written {
			m, err := ircmsg.ParseLineStrict(w, true, 0)
			if err != nil {
				t.Fatalf("wrote %q, which does not parse: %v", w, err)
			}
			if m.Command != "CAP" || len(m.Params) < 2 || m.Params[0] != "REQ" {
				continue
			}
			for _, name := range strings.Fields(m.Params[1]) {
				if name != "sasl" && !cfg.wants(name) {
					t.Fatalf("asked for %q, which Ferry does not handle", name)
				}
			}
		}
	})
}

// TestUnaskedACKAfterRegistration: a capability the server acknowledges
// without being asked (after registration) is not taken as enabled.
func TestUnaskedACKAfterRegistration(t *testing.T) {
	s := newFakeServer(t)
	c, p := registered(t, s, Config{Addr: s.addr(), Nick: "alice", PingInterval: -1, Caps: []string{"server-time"}})
	p.send(":srv CAP alice ACK :echo-message server-time")
	for next(t, c).Command != "CAP" {
	}
	if c.HasCap("echo-message") || !c.HasCap("server-time") {
		t.Fatalf("Caps() = %v", c.Caps())
	}
}

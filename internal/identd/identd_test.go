package identd

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixture is an identd on loopback and a "network" listener Ferry's
// connections go to.
type fixture struct {
	table   *Table
	identd  string // the identd's address
	network net.Listener
	accepts chan net.Conn
	stop    func() // stops the identd and waits for Serve to return
	srv     *Server
}

func newFixture(t *testing.T, timeout time.Duration, maxConns int) *fixture {
	t.Helper()
	f := &fixture{table: NewTable(), accepts: make(chan net.Conn, 16)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.identd = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := NewWith(f.table, slog.New(slog.NewTextHandler(io.Discard, nil)), timeout, maxConns)
	f.srv = srv
	go func() { done <- srv.Serve(ctx, ln) }()
	var once sync.Once
	f.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(f.stop)
	f.network, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.network.Close() })
	go func() {
		for {
			c, err := f.network.Accept()
			if err != nil {
				return
			}
			f.accepts <- c
		}
	}()
	return f
}

// dial makes a Ferry connection to the network for user.
func (f *fixture) dial(t *testing.T, user string) net.Conn {
	t.Helper()
	var d net.Dialer
	c, err := f.table.Dialer(d.DialContext, user)(context.Background(), "tcp", f.network.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// query sends raw to the identd and returns what it answered before
// closing.
func (f *fixture) query(t *testing.T, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", f.identd)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		return "" // closed before the query was written: a flood refused
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

func ports(c net.Conn) (local, remote int) {
	return c.LocalAddr().(*net.TCPAddr).Port, c.RemoteAddr().(*net.TCPAddr).Port
}

func TestAnswers(t *testing.T) {
	f := newFixture(t, 2*time.Second, 8)
	alice := f.dial(t, "alice1")
	bob := f.dial(t, "fbob")
	al, ar := ports(alice)
	bl, br := ports(bob)
	other, err := net.Dial("tcp", f.network.Addr().String()) // not Ferry's
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ol, or := ports(other)
	q := func(l, r int) string { return strconv.Itoa(l) + " , " + strconv.Itoa(r) }
	tests := []struct {
		name, query, want string
	}{
		{"alice", q(al, ar) + "\r\n", strconv.Itoa(al) + ", " + strconv.Itoa(ar) + " : USERID : UNIX : alice1\r\n"},
		{"bob, bare LF, no spaces", strconv.Itoa(bl) + "," + strconv.Itoa(br) + "\n", strconv.Itoa(bl) + ", " + strconv.Itoa(br) + " : USERID : UNIX : fbob\r\n"},
		{"someone else's connection", q(ol, or) + "\r\n", strconv.Itoa(ol) + ", " + strconv.Itoa(or) + " : ERROR : NO-USER\r\n"},
		{"ports swapped", q(ar, al) + "\r\n", strconv.Itoa(ar) + ", " + strconv.Itoa(al) + " : ERROR : NO-USER\r\n"},
		{"port out of range", "70000 , 6667\r\n", "0, 0 : ERROR : INVALID-PORT\r\n"},
		{"port zero", "0 , 6667\r\n", "0, 0 : ERROR : INVALID-PORT\r\n"},
		{"not ports", "GET / HTTP/1.0\r\n", "0, 0 : ERROR : INVALID-PORT\r\n"},
		{"too long", strings.Repeat("1", 100) + "\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.query(t, tt.query); got != tt.want {
				t.Errorf("%q: got %q, want %q", tt.query, got, tt.want)
			}
		})
	}
	// A closed connection is forgotten.
	alice.Close()
	if got := f.query(t, q(al, ar)+"\r\n"); !strings.Contains(got, "NO-USER") {
		t.Errorf("after close: %q", got)
	}
	if n := f.table.Len(); n != 1 {
		t.Errorf("table holds %d connections, want 1 (bob)", n)
	}
}

// Hostile clients: one query a connection, a line that never ends is cut
// at the deadline, and a flood beyond the bound is closed at once.
func TestHostile(t *testing.T) {
	f := newFixture(t, time.Second, 2)
	alice := f.dial(t, "alice1")
	al, ar := ports(alice)
	query := strconv.Itoa(al) + "," + strconv.Itoa(ar) + "\r\n"

	t.Run("one query a connection", func(t *testing.T) {
		got := f.query(t, query+query+query)
		if strings.Count(got, "USERID") != 1 {
			t.Errorf("got %q", got)
		}
	})
	t.Run("flood while the slots are held", func(t *testing.T) {
		// Two slots, both held by clients that send part of a line and
		// wait; everyone else is closed unanswered at once. The last
		// subtest's connection may still hold its slot for a moment:
		// the holders start once it is given back, and the flood once
		// both hold theirs.
		f.waitSlotsHeld(t, 0)
		var held []net.Conn
		for i := 0; i < 2; i++ {
			c, err := net.Dial("tcp", f.identd)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, _ = io.WriteString(c, "12")
			held = append(held, c)
		}
		f.waitSlotsHeld(t, 2)
		for i := 0; i < 20; i++ {
			if got := f.query(t, query); got != "" {
				t.Fatalf("flooding connection %d answered %q while the slots were held", i, got)
			}
		}
		// The holders are closed at the deadline, unanswered...
		for _, c := range held {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, err := io.ReadAll(c) // EOF or a reset: closed either way
			var ne net.Error
			if len(b) != 0 || errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("a client that never finished its line got %q, %v", b, err)
			}
		}
		// ...and the slots are free again.
		if got := f.query(t, query); !strings.Contains(got, "USERID : UNIX : alice1") {
			t.Errorf("after the deadline: %q", got)
		}
	})
}

// A query that arrives while the dial of its connection has not returned
// yet waits for it instead of getting NO-USER.
func TestLookupWaitsForDials(t *testing.T) {
	table := NewTable()
	release := make(chan struct{})
	dialed := make(chan net.Conn, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			<-release
		}
	}()
	slowDial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err == nil {
			dialed <- c
			<-release // the query is asked before this dial returns
		}
		return c, err
	}
	testDone := make(chan struct{})
	defer close(testDone)
	go func() {
		c, err := table.Dialer(slowDial, "alice1")(context.Background(), "tcp", ln.Addr().String())
		if err == nil {
			defer c.Close()
		}
		<-testDone // hold the connection until the test ends
	}()
	c := <-dialed
	l, r := ports(c)
	peer := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr()
	answer := make(chan string, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		user, _ := table.Lookup(ctx, peer, uint16(l), uint16(r))
		answer <- user
	}()
	close(release)
	if user := <-answer; user != "alice1" {
		t.Errorf("lookup during the dial: %q", user)
	}
}

// Stopping the identd ends the connections it is serving at once, not at
// their deadline.
func TestStopEndsQueries(t *testing.T) {
	f := newFixture(t, time.Hour, 2)
	c, err := net.Dial("tcp", f.identd)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "12") // and nothing more
	stopped := make(chan struct{})
	go func() { f.stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("the identd waited for a silent client after it was stopped")
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c) // EOF or a reset: closed either way
	var ne net.Error
	if len(b) != 0 || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("the silent client got %q, %v", b, err)
	}
}

// waitSlotsHeld waits until the identd holds n connection slots.
func (f *fixture) waitSlotsHeld(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(f.srv.slots) != n {
		if time.Now().After(deadline) {
			t.Fatalf("identd holds %d slots, want %d", len(f.srv.slots), n)
		}
		time.Sleep(time.Millisecond) // the slots are a channel: no event to wait on
	}
}

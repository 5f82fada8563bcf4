//go:build linux

package netpoll

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// pair returns the two ends of a loopback TCP connection.
func pair(t *testing.T) (client, server net.Conn) {
	c, s := testenv.TCPPair(t)
	return c, s
}

func open(t *testing.T) *Poller {
	t.Helper()
	p, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// watch watches c, armed.
func watch(t *testing.T, p *Poller, c net.Conn, ready func()) *Watch {
	t.Helper()
	w, err := p.Watch(c.(*net.TCPConn), ready)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Arm(); err != nil {
		t.Fatal(err)
	}
	return w
}

func waitReady(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no ready call")
	}
}

func notReady(t *testing.T, ch <-chan struct{}, p *Poller) {
	t.Helper()
	// A barrier through the poller's loop: a second watch made ready
	// after the first must be reported after anything pending for it.
	c, s := pair(t)
	other := make(chan struct{}, 1)
	watch(t, p, c, signal(other))
	s.Write([]byte("x"))
	waitReady(t, other)
	select {
	case <-ch:
		t.Fatal("unexpected ready call")
	default:
	}
}

func TestReadyOnArrival(t *testing.T) {
	p := open(t)
	c, s := pair(t)
	ready := make(chan struct{}, 10)
	w, err := p.Watch(c.(*net.TCPConn), signal(ready))
	if err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("early")) // before Arm: counts as an arrival once armed
	notReady(t, ready, p)
	if err := w.Arm(); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ready)

	wc := Wrap(c)
	wc.SetNonblocking(true)
	readAll := func() string {
		buf := make([]byte, 16)
		var got []byte
		for {
			n, err := wc.Read(buf)
			got = append(got, buf[:n]...)
			if errors.Is(err, ErrWouldBlock) {
				return string(got)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := readAll(); got != "early" {
		t.Fatalf("read %q", got)
	}
	notReady(t, ready, p) // read, and nothing new: no call
	s.Write([]byte("hello"))
	waitReady(t, ready) // no re-arming needed
	if got := readAll(); got != "hello" {
		t.Fatalf("read %q", got)
	}
	if got := readAll(); got != "" {
		t.Fatalf("read %q from an empty socket", got)
	}
}

func TestPeerCloseIsReady(t *testing.T) {
	p := open(t)
	c, s := pair(t)
	ready := make(chan struct{}, 1)
	watch(t, p, c, signal(ready))
	s.Close()
	waitReady(t, ready)
	wc := Wrap(c)
	wc.SetNonblocking(true)
	if _, err := wc.Read(make([]byte, 4)); err != io.EOF {
		t.Fatalf("read after the peer closed: %v, want EOF", err)
	}
}

func TestStopEndsReadyCalls(t *testing.T) {
	p := open(t)
	c, s := pair(t)
	var calls atomic.Int32
	w := watch(t, p, c, func() { calls.Add(1) })
	w.Stop()
	if p.Len() != 0 {
		t.Fatalf("%d watched after Stop", p.Len())
	}
	s.Write([]byte("x"))
	notReady(t, make(chan struct{}), p)
	if calls.Load() != 0 {
		t.Fatalf("%d ready calls after Stop", calls.Load())
	}
	c.Close()
	if err := w.Arm(); err == nil {
		t.Fatal("Arm of a closed connection succeeded")
	}
}

func TestManySockets(t *testing.T) {
	p := open(t)
	const n = 300
	ready := make(chan int, 4*n)
	servers := make([]net.Conn, n)
	for i := range n {
		c, s := pair(t)
		servers[i] = s
		watch(t, p, c, func() {
			select {
			case ready <- i:
			default:
			}
		})
	}
	for _, s := range servers {
		s.Write([]byte("x"))
	}
	seen := map[int]bool{}
	for len(seen) < n {
		select {
		case i := <-ready:
			seen[i] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d sockets reported", len(seen), n)
		}
	}
}

// TLS reads through a non-blocking Conn: ErrWouldBlock leaves the TLS
// state intact, and the next ready call reads on.
func TestTLSOverNonblocking(t *testing.T) {
	p := open(t)
	c, s := pair(t)
	cert, _ := testenv.SelfSigned(t, "localhost")
	srv := tls.Server(s, &tls.Config{Certificates: []tls.Certificate{cert}})
	wc := Wrap(c)
	cli := tls.Client(wc, &tls.Config{InsecureSkipVerify: true})
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{}, 1)
	watch(t, p, c, signal(ready))
	wc.SetNonblocking(true)
	buf := make([]byte, 64)
	for _, msg := range []string{"first", "second"} {
		if _, err := cli.Read(buf); !errors.Is(err, ErrWouldBlock) {
			t.Fatalf("empty read: %v", err)
		}
		go srv.Write([]byte(msg))
		waitReady(t, ready)
		var got []byte
		for {
			n, err := cli.Read(buf)
			got = append(got, buf[:n]...)
			if errors.Is(err, ErrWouldBlock) && len(got) > 0 {
				break
			}
			if err != nil && !errors.Is(err, ErrWouldBlock) {
				t.Fatal(err)
			}
			if errors.Is(err, ErrWouldBlock) {
				waitReady(t, ready) // a partial record: wait for the rest
			}
		}
		if string(got) != msg {
			t.Fatalf("read %q, want %q", got, msg)
		}
	}
}

// signal is a ready function that never blocks the poller: a call while
// one is pending is the same news.
func signal(ch chan struct{}) func() {
	return func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

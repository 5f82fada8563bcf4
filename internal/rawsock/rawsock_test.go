package rawsock

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// pair returns both ends of a loopback TCP connection and the raw
// connection of the first.
func pair(t *testing.T) (*net.TCPConn, *net.TCPConn, syscall.RawConn) {
	t.Helper()
	c, peer := testenv.TCPPair(t)
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return c, peer, raw
}

func TestReadWaitsForData(t *testing.T) {
	_, peer, raw := pair(t)
	go func() {
		time.Sleep(20 * time.Millisecond) // Read must wait, not report EAGAIN
		peer.Write([]byte("hello"))
	}()
	buf := make([]byte, 64)
	n, err := Read(raw, buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v; want hello", buf[:n], err)
	}
}

func TestReadEnds(t *testing.T) {
	tests := []struct {
		name string
		act  func(c, peer *net.TCPConn)
		want func(error) bool
	}{
		{"peer closes", func(_, peer *net.TCPConn) { peer.Close() }, func(err error) bool { return err == io.EOF }},
		{"deadline passes", func(c, _ *net.TCPConn) { c.SetReadDeadline(time.Now().Add(10 * time.Millisecond)) },
			func(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }},
		{"closed locally", func(c, _ *net.TCPConn) { c.Close() }, func(err error) bool { return errors.Is(err, net.ErrClosed) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, peer, raw := pair(t)
			tc.act(c, peer)
			n, err := Read(raw, make([]byte, 8))
			if n != 0 || !tc.want(err) {
				t.Fatalf("Read = %d, %v", n, err)
			}
		})
	}
}

func TestReadNow(t *testing.T) {
	_, peer, raw := pair(t)
	buf := make([]byte, 8)
	if n, err := ReadNow(raw, buf); n != 0 || !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("ReadNow on an empty socket = %d, %v; want ErrWouldBlock", n, err)
	}
	var ne net.Error
	if !errors.As(ErrWouldBlock, &ne) || !ne.Timeout() {
		t.Fatal("ErrWouldBlock is not a timeout: crypto/tls would give up its state")
	}
	peer.Write([]byte("x"))
	waitReadable(t, raw)
	if n, err := ReadNow(raw, buf); err != nil || string(buf[:n]) != "x" {
		t.Fatalf("ReadNow once data arrived = %q, %v", buf[:n], err)
	}
	peer.Close()
	waitReadable(t, raw)
	if n, err := ReadNow(raw, buf); n != 0 || err != io.EOF {
		t.Fatalf("ReadNow after the peer closed = %d, %v; want io.EOF", n, err)
	}
}

// waitReadable waits, through Go's poller, until the socket has data or
// its peer's close to read (looked at with MSG_PEEK, which takes nothing).
func waitReadable(t *testing.T, raw syscall.RawConn) {
	t.Helper()
	peek := make([]byte, 1)
	if err := raw.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), peek, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return err != syscall.EAGAIN
	}); err != nil {
		t.Fatal(err)
	}
}

// A write larger than the socket buffers waits for the peer to read and
// is written whole, in order.
func TestWriteWaitsForRoom(t *testing.T) {
	_, peer, raw := pair(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	var (
		got []byte
		wg  sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		got, _ = io.ReadAll(io.LimitReader(peer, int64(len(data))))
	}()
	n, err := Write(raw, data)
	if n != len(data) || err != nil {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(data))
	}
	wg.Wait()
	if !bytes.Equal(got, data) {
		t.Fatalf("peer read %d bytes, not what was written", len(got))
	}
}

func TestWriteFails(t *testing.T) {
	t.Run("deadline passes while the peer does not read", func(t *testing.T) {
		c, _, raw := pair(t)
		data := make([]byte, 64<<20)
		c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := Write(raw, data)
		if !errors.Is(err, os.ErrDeadlineExceeded) || n <= 0 || n >= 64<<20 {
			t.Fatalf("Write = %d, %v; want part written and the deadline", n, err)
		}
	})
	t.Run("peer reset", func(t *testing.T) {
		_, peer, raw := pair(t)
		peer.SetLinger(0) // close with a reset
		peer.Close()
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err := Write(raw, []byte("x"))
			if err != nil {
				if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
					t.Fatalf("Write after a reset = %v, want ECONNRESET or EPIPE", err)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("writes kept succeeding after the peer reset the connection")
			}
			time.Sleep(time.Millisecond) // the reset arrives asynchronously
		}
	})
}

func TestSetsockoptInt(t *testing.T) {
	_, _, raw := pair(t)
	var got int
	var gerr error
	err := raw.Control(func(fd uintptr) {
		if e := SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 0); e != 0 {
			gerr = e
			return
		}
		got, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
	})
	if err != nil || gerr != nil || got != 0 {
		t.Fatalf("TCP_NODELAY after setting 0 = %d (%v, %v); Go sets it to 1 on every TCP connection", got, err, gerr)
	}
}

// Package netpoll tells when sockets have something to read, so that an
// idle connection needs no goroutine blocked in Read.
//
// Go parks a goroutine in every blocking Read, and an idle goroutine keeps
// a stack of several kilobytes: with one connection per puppeted user,
// that is most of what an idle user costs. A Poller watches many sockets
// from one goroutine instead (epoll on Linux) and calls a function when
// data arrives on one; the owner then reads it without blocking until it
// would block (ReadNonblocking). Calls can come while the owner is still
// reading: it counts them and reads again, so that one goroutine at a time
// reads a socket.
package netpoll

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// ErrWouldBlock is returned by ReadNonblocking when the socket has nothing
// to read. It is a net.Error whose Timeout and Temporary are true, so that
// a crypto/tls connection reading through it keeps its state and can be
// read again later (as after a read deadline).
var ErrWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "netpoll: nothing to read yet" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

var _ net.Error = wouldBlock{}

// ErrUnsupported is Open's error where there is no poller (not Linux):
// callers then read with a goroutine per connection.
var ErrUnsupported = errors.New("netpoll: not supported on this system")

// Conn is a net.Conn whose Read can be switched to non-blocking, for a
// TLS connection layered on top of it: tls.Conn reads through Read.
type Conn struct {
	net.Conn
	raw         syscall.RawConn
	nonblocking bool // set once before the connection is watched
}

// Wrap returns c as a Conn, or nil if c has no file descriptor (a pipe in
// a test). A wrapper around a socket (one that only watches Close, say)
// is looked through if it has a NetConn method, as tls.Conn has; reads
// then go to the socket, everything else to c.
func Wrap(c net.Conn) *Conn {
	inner := c
	for {
		if _, ok := inner.(syscall.Conn); ok {
			break
		}
		u, ok := inner.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		inner = u.NetConn()
	}
	raw, err := inner.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil
	}
	return &Conn{Conn: c, raw: raw}
}

// SyscallConn returns the socket's raw connection, for Poller.Watch.
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return c.raw, nil }

// SetNonblocking makes Read return ErrWouldBlock instead of waiting (on)
// or wait as net.Conn does (off). Call it from the goroutine that reads,
// between reads.
func (c *Conn) SetNonblocking(on bool) { c.nonblocking = on }

// Read reads as net.Conn does, or without waiting after SetNonblocking.
func (c *Conn) Read(b []byte) (int, error) {
	if !c.nonblocking {
		return c.Conn.Read(b)
	}
	return ReadNonblocking(c.raw, b)
}

// ReadNonblocking reads what the socket holds now: ErrWouldBlock when it
// holds nothing, io.EOF when the peer has closed it.
func ReadNonblocking(raw syscall.RawConn, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	var (
		n   int
		err error
	)
	cerr := raw.Read(func(fd uintptr) bool {
		for {
			n, err = syscall.Read(int(fd), b)
			if err != syscall.EINTR {
				return true // never let the runtime wait: that is the poller's job
			}
		}
	})
	switch {
	case cerr != nil:
		return 0, cerr // closed
	case err == syscall.EAGAIN:
		return 0, ErrWouldBlock
	case err != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", err)}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

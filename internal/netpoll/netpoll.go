// Package netpoll tells when sockets have something to read, so that an
// idle connection needs no goroutine blocked in Read.
//
// Go parks a goroutine in every blocking Read, and an idle goroutine keeps
// a stack of several kilobytes: with one connection per puppeted user,
// that is most of what an idle user costs. A Poller watches many sockets
// from one goroutine instead (epoll on Linux) and calls a function when
// data arrives on one; the owner then reads it without blocking until it
// would block (Conn.Read after SetNonblocking). Calls can come while the
// owner is still reading: it counts them and reads again, so that one
// goroutine at a time reads a socket.
package netpoll

import (
	"errors"
	"net"
	"syscall"

	"github.com/ferry-xmpp/ferry/internal/rawsock"
)

// ErrWouldBlock is Read's error, after SetNonblocking, when the socket
// has nothing to read (rawsock.ErrWouldBlock: a timeout, so that a
// crypto/tls connection reading through the Conn keeps its state).
var ErrWouldBlock = rawsock.ErrWouldBlock

// ErrUnsupported is Open's error where there is no poller (not Linux):
// callers then read with a goroutine per connection.
var ErrUnsupported = errors.New("netpoll: not supported on this system")

// Conn is a net.Conn whose Read can be switched to non-blocking, for a
// TLS connection layered on top of it: tls.Conn reads through Read. Reads
// and writes on the socket use raw system calls (package rawsock).
type Conn struct {
	net.Conn
	raw         syscall.RawConn
	direct      bool // Conn is the socket itself, not a wrapper around it
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
	return &Conn{Conn: c, raw: raw, direct: inner == c}
}

// SyscallConn returns the socket's raw connection, for Poller.Watch.
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return c.raw, nil }

// SetNonblocking makes Read return ErrWouldBlock instead of waiting (on)
// or wait as net.Conn does (off). Call it from the goroutine that reads,
// between reads.
func (c *Conn) SetNonblocking(on bool) { c.nonblocking = on }

// Read reads as net.Conn does, or without waiting after SetNonblocking.
func (c *Conn) Read(b []byte) (int, error) {
	if c.nonblocking {
		return rawsock.ReadNow(c.raw, b)
	}
	return rawsock.Read(c.raw, b)
}

// Write writes as net.Conn does; through the wrapper when there is one.
func (c *Conn) Write(b []byte) (int, error) {
	if !c.direct {
		return c.Conn.Write(b)
	}
	return rawsock.Write(c.raw, b)
}

// Package quickack acknowledges TCP data at once instead of after the
// kernel's delayed-ACK timer (up to 40 ms on Linux). A peer that keeps
// Nagle's algorithm on — Prosody does by default — holds back a small
// write until the previous one is acknowledged, so a delayed ACK on our
// side becomes a 40 ms pause in every exchange of small stanzas.
package quickack

import (
	"net"
	"syscall"

	"github.com/ferry-xmpp/ferry/internal/rawsock"
)

// Wrap returns c acknowledging every read at once where the platform can
// (Linux TCP_QUICKACK, which the kernel clears again after a while, hence
// on each read); elsewhere, or for a connection that is not TCP, c itself.
// Its reads and writes use raw system calls (package rawsock).
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok || !supported {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	q := &conn{TCPConn: tc, raw: raw}
	q.ack()
	return q
}

type conn struct {
	*net.TCPConn
	raw syscall.RawConn
}

func (c *conn) Read(b []byte) (int, error) {
	n, err := rawsock.Read(c.raw, b)
	c.ack()
	return n, err
}

func (c *conn) Write(b []byte) (int, error) { return rawsock.Write(c.raw, b) }

func (c *conn) ack() {
	_ = c.raw.Control(func(fd uintptr) {
		_ = rawsock.SetsockoptInt(fd, syscall.IPPROTO_TCP, tcpQuickAck, 1)
	})
}

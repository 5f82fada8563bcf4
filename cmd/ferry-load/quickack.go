package main

import (
	"net"
	"syscall"
)

// quickAckConn acknowledges every read at once (TCP_QUICKACK, which Linux
// clears again after a while, hence on each read). Prosody keeps Nagle's
// algorithm on by default: it holds back a small write until the previous
// one is acknowledged, and a receiver that delays its ACK (up to 40 ms)
// would add that delay to every stanza Prosody routes to the tool. The
// gateways' own sockets are left as they are: their delays are part of
// what is measured.
type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

func withQuickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	q := quickAckConn{TCPConn: tc, raw: raw}
	q.quickAck()
	return q
}

func (c quickAckConn) Read(b []byte) (int, error) {
	n, err := c.TCPConn.Read(b)
	c.quickAck()
	return n, err
}

func (c quickAckConn) quickAck() {
	_ = c.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}

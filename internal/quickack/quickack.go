// Package quickack acknowledges TCP data at once instead of after the
// kernel's delayed-ACK timer (up to 40 ms on Linux). A peer that keeps
// Nagle's algorithm on — Prosody does by default — holds back a small
// write until the previous one is acknowledged, so a delayed ACK on our
// side becomes a 40 ms pause in every exchange of small stanzas.
package quickack

import "net"

// Wrap returns c acknowledging every read at once where the platform can
// (Linux TCP_QUICKACK, which the kernel clears again after a while, hence
// on each read); elsewhere, or for a connection that is not TCP, c itself.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	q := &conn{TCPConn: tc, set: setter(raw)}
	if q.set == nil {
		return c
	}
	q.set()
	return q
}

type conn struct {
	*net.TCPConn
	set func()
}

func (c *conn) Read(b []byte) (int, error) {
	n, err := c.TCPConn.Read(b)
	c.set()
	return n, err
}

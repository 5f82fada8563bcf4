package identd

import (
	"context"
	"net"
	"net/netip"
	"sync"
)

// Table is what the identd knows: Ferry's live outgoing connections and
// the user name each answers for. Dialer adds a connection as it is made
// and removes it as it closes. Its lock is a leaf: nothing is called
// while it is held.
type Table struct {
	mu      sync.Mutex
	conns   map[key]string
	dialing int           // dials under way: their connections may be queried before they are added
	changed chan struct{} // closed and replaced at every change, for lookups that wait
}

// key is one TCP connection as both ends see it: the port on Ferry's
// side, the remote address and port.
type key struct {
	local  uint16
	remote netip.AddrPort
}

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{conns: map[key]string{}, changed: make(chan struct{})}
}

// Dialer wraps dial so that each connection it makes answers ident
// queries with user while it is open.
func (t *Table) Dialer(dial func(ctx context.Context, network, addr string) (net.Conn, error), user string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		t.update(func() { t.dialing++ })
		c, err := dial(ctx, network, addr)
		var k key
		ok := false
		if err == nil {
			k, ok = connKey(c)
		}
		t.update(func() {
			t.dialing--
			if ok {
				t.conns[k] = user
			}
		})
		if !ok {
			return c, err
		}
		return &conn{Conn: c, t: t, k: k}, nil
	}
}

// connKey is c's key, when c is TCP.
func connKey(c net.Conn) (key, bool) {
	local, lok := c.LocalAddr().(*net.TCPAddr)
	remote, rok := c.RemoteAddr().(*net.TCPAddr)
	if !lok || !rok {
		return key{}, false
	}
	rap := remote.AddrPort()
	return key{local: uint16(local.Port), remote: netip.AddrPortFrom(rap.Addr().Unmap(), rap.Port())}, true
}

// update changes the table under its lock and wakes waiting lookups.
func (t *Table) update(f func()) {
	t.mu.Lock()
	f()
	close(t.changed)
	t.changed = make(chan struct{})
	t.mu.Unlock()
}

// Lookup returns the user of Ferry's connection from local port local to
// remote port remote on peer. A query can arrive before the dial that
// made the connection has returned (servers ask as soon as they accept):
// while dials are under way, a miss waits for the table to change, until
// ctx ends.
func (t *Table) Lookup(ctx context.Context, peer netip.Addr, local, remote uint16) (string, bool) {
	k := key{local: local, remote: netip.AddrPortFrom(peer.Unmap(), remote)}
	for {
		t.mu.Lock()
		user, ok := t.conns[k]
		dialing, changed := t.dialing, t.changed
		t.mu.Unlock()
		if ok || dialing == 0 {
			return user, ok
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return "", false
		}
	}
}

// Len is the number of connections known.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

// conn removes itself from the table when closed.
type conn struct {
	net.Conn
	t    *Table
	k    key
	once sync.Once
}

func (c *conn) Close() error {
	c.once.Do(func() { c.t.update(func() { delete(c.t.conns, c.k) }) })
	return c.Conn.Close()
}

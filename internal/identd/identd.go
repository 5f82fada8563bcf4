// Package identd is a small RFC 1413 ident server that answers only for
// Ferry's own outgoing connections (Table): a network that asks who is
// behind a connection from the gateway gets that user's ident, and every
// other query gets ERROR : NO-USER. It is hardened for a public port: one
// query a connection, a short line, a deadline, and a bound on the
// connections served at once.
package identd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of Server's bounds.
const (
	// DefaultTimeout bounds a connection from accept to answer; servers
	// ask at once and wait a few seconds at most.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxConns bounds the connections served at once; beyond it a
	// connection is closed unanswered.
	DefaultMaxConns = 64
	// maxQuery bounds a query line: "65535 , 65535\r\n" is 15 bytes, and
	// RFC 1413 allows some white space around the numbers.
	maxQuery = 64
)

// Server answers ident queries from a Table.
type Server struct {
	table    *Table
	log      *slog.Logger
	timeout  time.Duration
	slots    chan struct{}
	wg       sync.WaitGroup
	refuseMu sync.Mutex
	refusals int // connections closed for lack of a slot, under refuseMu
}

// New returns a server answering from table with the default bounds.
func New(table *Table, log *slog.Logger) *Server {
	return NewWith(table, log, DefaultTimeout, DefaultMaxConns)
}

// NewWith returns a server with its own bounds (tests).
func NewWith(table *Table, log *slog.Logger, timeout time.Duration, maxConns int) *Server {
	return &Server{table: table, log: log, timeout: timeout, slots: make(chan struct{}, maxConns)}
}

// Serve answers the connections ln accepts until ctx ends (it then closes
// ln) or ln fails, and waits for the connections it was serving.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer s.wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		select {
		case s.slots <- struct{}{}:
		default:
			// Full: a flood gets closed connections, not goroutines.
			c.Close()
			s.refused()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.slots }()
			s.serveConn(ctx, c)
		}()
	}
}

// refused counts connections closed for lack of a slot, logging the first
// of each hundred so a flood shows without filling the log.
func (s *Server) refused() {
	s.refuseMu.Lock()
	s.refusals++
	n := s.refusals
	s.refuseMu.Unlock()
	if n%100 == 1 {
		s.log.Warn("identd: too many connections at once; closing new ones", "refused", n)
	}
}

// serveConn answers one query and closes the connection; ctx ending (the
// server stopping) ends it at once.
func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	line, err := readQuery(c)
	if err != nil {
		return // nothing worth an answer
	}
	reply := s.answer(ctx, peerAddr(c), line)
	_, _ = io.WriteString(c, reply+"\r\n")
}

// answer is the reply to one query line from peer.
func (s *Server) answer(ctx context.Context, peer netip.Addr, line string) string {
	local, remote, ok := parseQuery(line)
	if !ok {
		return "0, 0 : ERROR : INVALID-PORT" // the query is not echoed: it may be anything
	}
	ports := fmt.Sprintf("%d, %d", local, remote)
	user, found := s.table.Lookup(ctx, peer, local, remote)
	if !found {
		return ports + " : ERROR : NO-USER"
	}
	return ports + " : USERID : UNIX : " + user
}

// readQuery reads one line of at most maxQuery bytes.
func readQuery(c net.Conn) (string, error) {
	r := bufio.NewReaderSize(io.LimitReader(c, maxQuery+1), maxQuery+1)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err // too long, cut off, or no line before the deadline
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// parseQuery reads "<port-on-server> , <port-on-client>".
func parseQuery(line string) (local, remote uint16, ok bool) {
	a, b, found := strings.Cut(line, ",")
	if !found {
		return 0, 0, false
	}
	l, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 16)
	r, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 16)
	if err1 != nil || err2 != nil || l == 0 || r == 0 {
		return 0, 0, false
	}
	return uint16(l), uint16(r), true
}

func peerAddr(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

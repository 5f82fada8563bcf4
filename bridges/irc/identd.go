package irc

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/ferry-xmpp/ferry/internal/identd"
)

// Listen binds the identd when identd_listen is set (bridges.Listener), so
// a port in use (or 113 without the right to bind it) stops Ferry's start
// with the option's name.
func (b *Bridge) Listen() error {
	if b.opts.Operator.IdentdListen == "" || b.identLn != nil {
		return nil
	}
	ln, err := net.Listen("tcp", b.opts.Operator.IdentdListen)
	if err != nil {
		return fmt.Errorf("identd_listen %s: %w", b.opts.Operator.IdentdListen, err)
	}
	b.identLn = ln
	return nil
}

// Run serves the identd until ctx ends (bridges.Runner); without
// identd_listen there is nothing to run.
func (b *Bridge) Run(ctx context.Context) error {
	if b.opts.Operator.IdentdListen == "" {
		return nil
	}
	if err := b.Listen(); err != nil {
		return err
	}
	ln := b.identLn
	b.identLn = nil // a restarted Run binds again
	b.log.Info("identd listening", "addr", ln.Addr().String(), "ident", b.opts.Operator.Ident)
	return identd.New(b.idents, b.log).Serve(ctx, ln)
}

// identDialer makes dial's connections known to the identd, answering
// with user, when there is an identd.
func (b *Bridge) identDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error), user string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if b.opts.Operator.IdentdListen == "" {
		return dial
	}
	if dial == nil {
		d := &net.Dialer{KeepAlive: 30 * time.Second} // ircconn's default
		dial = d.DialContext
	}
	return b.idents.Dialer(dial, user)
}

package imapwatch

import (
	"context"
	"errors"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// conn is a logged-in client and the server it talks to.
type conn struct {
	c *imapclient.Client
	s Server
}

// do runs f, which sends commands and waits for their results, and closes
// the connection if that takes longer than d or ctx ends. The client has no
// time limit of its own on waiting for a response, so without this a dead
// TCP connection would block f forever; closing the connection makes every
// pending command fail at once. what names the operation for the error text
// ("select the folder").
func (cn *conn) do(ctx context.Context, d time.Duration, what string, f func() error) error {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	stop := context.AfterFunc(wctx, func() { cn.c.Close() })
	err := f()
	if !stop() {
		return timeoutError(ctx, cn.s, d, what)
	}
	if err != nil {
		return cn.fail(what, err)
	}
	return nil
}

// fail turns an error of the client into an *Error.
func (cn *conn) fail(what string, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return newError(cn.s, false, err, "%s refused to %s: %s", cn.s.host(), what, imapText(ie))
	}
	return newError(cn.s, false, err, "lost connection to %s: %s", cn.s.Addr, reason(err))
}

// transferTimeout is the time limit for a command that moves n bytes: the
// command time limit plus a second per 128 KiB (about 1 Mbit/s).
func transferTimeout(d time.Duration, n int64) time.Duration {
	if n <= 0 {
		return d
	}
	return d + time.Duration(n/(128<<10))*time.Second
}

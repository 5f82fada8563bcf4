package ircconn

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ferry-xmpp/ferry/internal/tlshint"
)

// ErrorKind classifies why Dial failed or a connection ended.
type ErrorKind int

// Error kinds.
const (
	KindInternal    ErrorKind = iota // a recovered panic or an impossible state
	KindConfig                       // the Config is unusable
	KindDial                         // the transport could not be opened
	KindTLS                          // TLS handshake or certificate verification failed
	KindTimeout                      // registration did not finish in time
	KindCanceled                     // Dial's context was canceled
	KindPassword                     // 464 ERR_PASSWDMISMATCH: wrong server password
	KindBanned                       // 465 ERR_YOUREBANNEDCREEP / 463 ERR_NOPERMFORHOST
	KindSASL                         // SASL unavailable or rejected (902-907)
	KindNick                         // 432 erroneous nick, or every fallback nick in use
	KindServer                       // the server sent ERROR or hung up
	KindProtocol                     // the server broke the protocol (line too long, ...)
	KindIO                           // reading or writing the connection failed
	KindPingTimeout                  // the keepalive got no answer
	KindClosed                       // Close was called
	KindWebIRC                       // the server refused the gateway's WEBIRC password
)

var kindText = map[ErrorKind]string{
	KindInternal:    "internal error",
	KindConfig:      "invalid configuration",
	KindDial:        "cannot connect",
	KindTLS:         "TLS failed",
	KindTimeout:     "timed out",
	KindCanceled:    "canceled",
	KindPassword:    "server password rejected",
	KindBanned:      "banned from the server",
	KindSASL:        "SASL authentication failed",
	KindNick:        "nick refused",
	KindServer:      "server closed the connection",
	KindProtocol:    "protocol error",
	KindIO:          "connection lost",
	KindPingTimeout: "ping timeout",
	KindClosed:      "connection closed",
	KindWebIRC:      "the gateway's WEBIRC password was refused",
}

func (k ErrorKind) String() string {
	if s, ok := kindText[k]; ok {
		return s
	}
	return fmt.Sprintf("ErrorKind(%d)", int(k))
}

// ErrClosed is wrapped by the *Error of a connection ended by Close, and
// returned by Send after Close.
var ErrClosed = errors.New("ircconn: connection closed")

// Error is every error Dial returns and every error a connection ends
// with. Error() is a sentence fit to show the user.
type Error struct {
	Kind ErrorKind
	// Code is the IRC numeric that caused the error, if any ("904").
	Code string
	// Text is the server's own explanation (a numeric's last parameter or
	// ERROR's text), or this package's when the server gave none.
	Text string
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("irc: ")
	b.WriteString(e.Kind.String())
	if e.Text != "" {
		b.WriteString(": ")
		b.WriteString(e.Text)
	}
	if e.Code != "" {
		b.WriteString(" (")
		b.WriteString(e.Code)
		b.WriteString(")")
	}
	if hint, ok := tlshint.Explain(e.Err); ok {
		b.WriteString(": " + hint)
	} else if e.Err != nil && e.Err != ErrClosed {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, &Error{Kind: k}) match any *Error of kind k.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Code == "" && t.Text == "" && t.Err == nil
}

func newErr(kind ErrorKind, text string, err error) *Error {
	return &Error{Kind: kind, Text: text, Err: err}
}

// ctxErr turns a context error into the matching *Error.
func ctxErr(err error, during string) *Error {
	if errors.Is(err, context.Canceled) {
		return newErr(KindCanceled, during, err)
	}
	return newErr(KindTimeout, during, err)
}

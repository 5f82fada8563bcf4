// Package ircconn is one puppeted IRC client connection: Ferry opens one per
// (XMPP user, IRC server) pair.
//
// Dial connects (optionally over verified TLS), registers (PASS, CAP LS 302
// asking for the capabilities the caller handles, SASL SCRAM-SHA-256,
// PLAIN or EXTERNAL, NICK/USER with nick fallbacks) and returns
// after RPL_WELCOME (001) plus the rest of the welcome burst, so that
// ISupport is filled in. Every failure is an *Error whose Kind says what went
// wrong (TLS, password, ban, SASL, nick, timeout, ...).
//
// After Dial, the caller reads the connection with Serve, on a goroutine
// of its own (the one that owns its state, in Ferry's IRC bridge): Serve
// keeps the connection's own state (current nick, ISUPPORT, acknowledged
// capabilities), answers server PINGs, sends a keepalive PING after a
// quiet interval (read deadlines: no timer goroutine) and hands every other
// line to the caller's handler. A handler that blocks stops the reading,
// which is the back-pressure, and the keepalive does not count that
// silence against the server.
//
// Lines sent wait in a bounded queue that a goroutine writes in order,
// paced by a token bucket (golang.org/x/time/rate) so a burst of Sends can
// never get the puppet killed for excess flood; that goroutine exists only
// while lines wait (internal/serial). An idle connection costs its reader
// and a half-kilobyte buffer.
package ircconn

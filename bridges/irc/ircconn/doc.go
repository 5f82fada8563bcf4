// Package ircconn is one puppeted IRC client connection: Ferry opens one per
// (XMPP user, IRC server) pair.
//
// Dial connects (optionally over verified TLS), registers (PASS, CAP LS 302
// with SASL PLAIN or EXTERNAL, NICK/USER with nick fallbacks) and returns
// after RPL_WELCOME (001) plus the rest of the welcome burst, so that
// ISupport is filled in. Every failure is an *Error whose Kind says what went
// wrong (TLS, password, ban, SASL, nick, timeout, ...).
//
// After Dial the connection runs three goroutines, modelled on soju's:
//
//   - the reader owns the connection's state (current nick, ISUPPORT,
//     acknowledged capabilities); it answers server PINGs itself and hands
//     every other line to Messages();
//   - the writer drains a bounded queue in order and paces it with a token
//     bucket (golang.org/x/time/rate), so a burst of Sends can never get the
//     puppet killed for excess flood;
//   - the keepalive sends a PING after PingInterval of silence and ends the
//     connection when nothing arrives within PingTimeout.
//
// Each goroutine recovers panics into the connection's error, and all of them
// are gone once Messages() is closed and Close has returned.
package ircconn

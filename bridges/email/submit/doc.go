// Package submit hands an outgoing mail, as built by package compose, to an
// SMTP submission server (RFC 6409) on behalf of one bridge user, and tells
// the caller in plain words what went wrong when it fails.
//
// # Connection security
//
// A Server is reached with implicit TLS (TLS, usually port 465), with
// STARTTLS (StartTLS, usually port 587) or unencrypted (Plain, only where
// the operator allowed it, such as a server on the same host). With
// StartTLS the upgrade is required: a server that does not offer STARTTLS is
// refused and nothing is sent, so an attacker who strips the STARTTLS
// capability gets an error, not the password. Certificates are verified
// against the host name in Server.Addr unless Server.TLSConfig says
// otherwise. When Server.Username is set the client logs in with AUTH PLAIN,
// also over Plain connections.
//
// # Errors
//
// Every failure is an *Error. Permanent says whether retrying can help: a
// 5xx reply (such as 535 for a refused login), a certificate that is not
// trusted, a server that lacks a required extension and invalid input are
// permanent; a 4xx reply (even to AUTH), a network error, a timeout or a
// cancelled context are not. Auth marks any reply that refused the login. Retrying a temporary
// failure is safe: compose derives the Message-ID from the XMPP stanza, so
// a message that did reach the server the first time (say the connection
// broke after the final ".") arrives again with the same Message-ID and
// can be recognised as a duplicate. Error.Text is a single line meant for
// the user: it carries the server's reply code and text when there was a
// reply and never contains the password.
//
// # Limitations
//
// With StartTLS the EHLO before the upgrade introduces the client as
// "localhost" (go-smtp's NewClientStartTLS offers no way to change it);
// Server.HeloName is used for the EHLO after the upgrade and for all EHLOs
// of TLS and Plain connections. go-smtp adds BODY=8BITMIME to MAIL FROM
// whenever the server offers 8BITMIME, which is harmless for the 7-bit
// messages compose builds. A recipient refused by the server aborts the
// whole transaction: nothing is delivered to anyone, and Error.Recipient
// names the refused address.
package submit

// Package relay is the SMTP server for a relay domain: a mail domain such as
// relay.example.org whose addresses (alerts.k3x9@relay.example.org, ...) are
// owned by XMPP users. Mail sent to such an address is handed to a Deliver
// function, which turns it into a chat message for the owner.
//
// The server is meant to listen on loopback behind the operator's MTA, which
// does the Internet-facing work (TLS, SPF/DKIM/DMARC, spam filtering, queueing)
// and forwards the relay domain to us. It still treats every client as
// untrusted, so that a mistake in the MTA configuration, or exposing the port
// directly, does not turn it into an abuse vector.
//
// # Never an open relay
//
// The server only ever receives. Nothing it accepts is forwarded to another
// mail server, and RCPT TO an address outside the configured Domains is
// refused with 554 5.7.1 "relay access denied" before any lookup is made.
// Within those domains, only addresses the Directory knows are accepted (550
// 5.1.1 otherwise), and an address may restrict who can mail it with an
// allow-list of envelope senders (Recipient.Senders; 550 5.7.1 otherwise).
// The null sender <> is accepted, except by addresses with an allow-list.
//
// # No AUTH
//
// There are no accounts on this server, so there is nothing to authenticate
// and AUTH is neither advertised nor accepted. Offering it would only invite
// password guessing, and clients would believe an authenticated session lets
// them relay. Nor does it say who exists: VRFY gives a non-committal 252,
// EXPN is refused (502).
//
// # Limits
//
//   - MaxSize bounds a message (advertised with SIZE; 552 5.3.4 when larger).
//     The message is buffered in memory, once per transaction, whatever the
//     number of recipients.
//   - MaxRecipients bounds the recipients of one message (452 4.5.3).
//   - PerAddressPerHour is a token bucket per recipient address (refill
//     PerAddressPerHour per hour, burst PerAddressPerHour), charged when a
//     RCPT is accepted: past it, RCPT gets 450 4.7.1 and a well-behaved MTA
//     retries later. It protects the owner from a flood of chat messages.
//     The token is spent even if the transaction is then abandoned or fails
//     (a retry after 451 is charged again).
//     Buckets are kept only for addresses the Directory knows and are dropped
//     once full again, so memory stays bounded.
//   - ReadTimeout and WriteTimeout bound each command and reply; while a
//     message is being received, ReadTimeout applies to each read, so a slow
//     but steady client is not cut off.
//
// Protocol details (line length, bare LF and CRLF handling, dot-stuffing,
// PIPELINING, CHUNKING, the recipient count) are left to
// github.com/emersion/go-smtp. 8BITMIME and SMTPUTF8 are advertised; message
// bytes are passed on as received.
//
// # Addresses
//
// Recipient addresses are normalised and validated with
// github.com/ferry-xmpp/ferry/bridges/email/mailaddr (lower-cased local part,
// IDNA A-label domain), and Directory.Lookup is only ever called with such a
// normalised address in one of the served domains. Envelope senders are
// normalised the same way when mailaddr accepts them; other syntactically
// plausible senders (for example VERP addresses with a local part longer
// than 64 bytes, or a domain literal) are accepted lower-cased rather than
// bouncing legitimate mail.
//
// # Durability and duplicates
//
// The final reply to DATA is 250 only after Deliver has returned nil for
// every recipient, which Deliver must do only once the mail is stored
// durably. If any Deliver call fails the whole message gets 451 4.3.0 and the
// sending MTA retries it later, for all recipients, so a recipient whose
// Deliver succeeded on the first attempt receives it again; a lost
// connection after Deliver but before the 250 reaches the client has the
// same effect. Delivery is therefore at least once: the Deliver
// implementation must de-duplicate, for example by the Message-ID header and
// the recipient address.
//
// Every accepted message gets a Received header naming the client's HELO
// name and IP address, our Hostname and a transaction id that also appears
// in the log. The log records each accepted or refused transaction (client
// IP, sender, recipients, reason) and never message bodies.
package relay

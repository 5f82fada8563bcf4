// Package compose builds the outgoing email the bridge sends for an XMPP
// message: a single text/plain part in UTF-8, rendered as RFC 5322 bytes
// with CRLF line ends, ready to be handed to an SMTP submission server (see
// package submit).
//
// # Why a package of its own
//
// Everything that ends up in the mail comes from XMPP users, so the mail is
// written by hand here, field by field, instead of by a general-purpose
// header writer that trusts its input:
//
//   - Header injection is impossible. Control characters (CR, LF, NUL, TAB,
//     DEL, C1 controls) and the Unicode line and paragraph separators in the
//     subject and in display names become a space; runs of spaces collapse
//     into one and the ends are trimmed. Addresses must satisfy
//     mailaddr.Valid and message ids must be a plain id-left "@" id-right of
//     printable ASCII; anything else makes Build fail rather than be written.
//   - Every header line stays within the RFC 5322 limit of 998 octets (and
//     normally under 78): long subjects and names are split into RFC 2047
//     encoded-words and folded between words. Text that is not plain ASCII,
//     or that merely looks like an encoded-word ("=?"), is always encoded,
//     so that the text a reader decodes is exactly the sanitised text.
//   - The body is normalised (CRLF line ends, no NUL, valid UTF-8) and sent
//     as 7bit when it is short-lined plain ASCII and as quoted-printable
//     otherwise, so no body line exceeds the limit either.
//
// # Message-ID
//
// NewMessageID derives the Message-ID from the XMPP stanza id and the
// sender's bare JID. A send that is retried (after a network error, or after
// the gateway restarted) therefore carries the same Message-ID as the first
// attempt, and a recipient whose server got both copies can recognise the
// duplicate; replies and reactions that refer to the stanza id can also be
// mapped to the mail without storing anything.
package compose

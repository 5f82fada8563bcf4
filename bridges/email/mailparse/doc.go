// Package mailparse turns a raw RFC 5322 mail into what an XMPP user should
// see of it as a chat message: who sent it, its subject, its text, its
// attachments, its place in a thread, and whether a person or a machine
// wrote it.
//
// # Text, not HTML
//
// A chat client shows plain text, so Mail.Text is always plain text. The
// body is the first text/plain part found depth-first, skipping parts marked
// as attachments or carrying a file name; in a multipart/alternative that
// means the plain rendering wins over the HTML one. Only when there is no
// text/plain part (or it is empty, a placeholder some mailers send next to
// the real HTML) is the first text/html part converted: script, style and
// head are dropped, links are kept as "text <url>" (the URL alone when the
// text already says it), list items start new lines, table cells stay
// apart; Mail.HTMLOnly then says so. format=flowed text is rejoined, since
// the chat client wraps lines itself.
//
// Text is cleaned so it can go into an XMPP stanza as it is: valid UTF-8
// (invalid bytes replaced), "\n" line endings, no control characters but
// tab and line feed, no trailing spaces, no more than two blank lines in a
// row, and at most MaxText bytes, cut on a character boundary and marked
// with "\n[…]".
//
// Charsets are converted with go-message's charset tables (everything
// golang.org/x/text knows). ISO-8859-1 is read as Windows-1252, as browsers
// do, because mail that says Latin-1 often is Windows-1252. An unknown
// charset leaves the bytes as they are, with invalid UTF-8 replaced.
//
// # Attachments
//
// Every other leaf part is an attachment, except the other renderings of
// the body: the unshown branches of a multipart/alternative, with their
// inline images. Explicit attachments in an unshown branch (some mailers
// put them in the HTML branch only) and non-text parts such as a calendar
// invitation are still listed. A message/rfc822 part is one attachment: its
// inside is not walked. Attachment.Part is the IMAP section number, so the
// caller can fetch the part from the server or serve it with OpenPart.
//
// # Kinds
//
// Mail.Kind tells personal mail from machine mail, so that the bridge can
// keep robots out of the user's roster and never answer them (RFC 3834):
//
//   - Bounce: a delivery status notification (multipart/report with
//     report-type=delivery-status, RFC 3464), whose recipients, status and
//     original Message-ID are read into Mail.Bounce; or a mail from
//     MAILER-DAEMON or postmaster with the null Return-Path "<>".
//   - AutoReply: Auto-Submitted other than "no", X-Autoreply,
//     X-Autorespond and similar fields, Precedence: auto_reply, or a read
//     receipt (report-type=disposition-notification).
//   - Bulk: Precedence bulk, list or junk, List-Id, List-Unsubscribe.
//   - Personal: anything else.
//
// They are checked in that order: an auto-reply often also says
// "Precedence: bulk", and a bounce is the more useful thing to know.
//
// # Robustness
//
// Mail comes from anyone. Parse never panics, reads malformed structure as
// well as it can, bounds nesting (20 levels) and the number of parts (500),
// and holds the raw message plus a bounded amount of memory. Addresses are
// normalised with package mailaddr, as the bridge's JIDs are.
package mailparse

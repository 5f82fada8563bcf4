// Package imapwatch is the email bridge's worker that watches one IMAP folder
// of one account and hands each new mail to a callback exactly once, across
// reconnects and restarts.
//
// # Exactly once
//
// IMAP gives every message in a folder a UID that only grows and is never
// reused, as long as the folder's UIDVALIDITY stays the same. The worker
// therefore keeps one small State per folder, (UIDValidity, LastUID), in a
// StateStore the caller backs with its database. Mail with a UID above
// LastUID is new; it is fetched in ascending UID order and handed to the
// Handler one at a time, and LastUID moves past a mail only once the Handler
// has returned nil for it and is saved at once. A Handler error stops the
// pass and the same mail is retried after a backoff, so mail is neither lost
// nor reordered. The worker tracks its own position rather than the \Seen
// flag, so a user reading mail in another client changes nothing.
//
// The one window left is between the Handler taking a mail and the state
// being saved: if the process dies there, the mail is handed again after the
// restart. Handlers must tolerate that (see Handler); the window is kept
// small, and the save is attempted even while Run is being stopped.
//
// If UIDVALIDITY changes (the folder was deleted and re-created, or the
// server rebuilt its index), the saved UIDs mean nothing any more and the
// folder is synced afresh as on first use.
//
// # Backlog bound
//
// A first sync (no saved state, or a new UIDVALIDITY) must not flood the user
// with years of old mail: it starts after all but the newest Config.Backlog
// mails (by UID order; 0 means only mail arriving from now on) and saves that
// position at once. Mail is never marked or moved by that decision; it is
// only a starting point. After a first sync every new mail is delivered, even
// after a long downtime.
//
// # IDLE versus polling
//
// When the server has IDLE (RFC 2177), the worker idles between passes and
// reacts as soon as the server reports EXISTS. It also leaves IDLE every
// PollInterval (a safety net against servers or middleboxes that drop
// notifications) and at least every IdleRestart (servers may cut an IDLE
// after 30 minutes). Without IDLE it sends a NOOP every PollInterval. Every
// wait ends with a NOOP round trip, and every command has the Server's
// Timeout, after which the connection is closed: a dead TCP connection, which
// would otherwise hang forever, is noticed within PollInterval plus Timeout.
// Mail is fetched with BODY.PEEK, so reading it never sets \Seen by itself;
// with Config.MarkRead the worker sets \Seen after the mail is taken, and
// otherwise opens the folder read-only (EXAMINE).
//
// # Errors
//
// Failures meant for the user are *Error values with a one-line Text that
// never contains the password. Auth marks a refused login: Run then retries
// only every BackoffMax, and Config.Status lets the caller tell the user.
package imapwatch

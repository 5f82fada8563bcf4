// Package email is the email bridge (disco identity gateway/smtp). It serves
// two uses on one transport:
//
//   - A personal mailbox, puppeted: the user registers an IMAP and an SMTP
//     submission account; one imapwatch worker per watched folder turns each
//     new mail into a chat message from the sender's puppet
//     (alice\40example.net@mail.gw), and chats to a puppet leave as proper
//     mails through the user's submission server, threaded by Message-ID,
//     In-Reply-To and References.
//   - A relay domain: Ferry receives mail for addresses users create with
//     "alias add" (alerts.k3x9@relay.example.org) on its own SMTP server and
//     delivers it as chat; replies leave through the operator's smarthost
//     with the relay address as sender.
//
// Durability follows the rest of Ferry: outgoing mail is a job in the store
// before Send returns and is retried with backoff; relay mail is stored
// before the SMTP server says 250; IMAP progress (UIDVALIDITY, last UID) is
// saved after each mail is stored for the user, and the core de-duplicates
// by Message-ID, so a restart neither repeats nor skips mail. Ferry never
// sends mail on its own in answer to mail (no auto-replies), and
// auto-replies, bounces and bulk mail are labelled as such.
package email

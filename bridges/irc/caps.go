package irc

// handledCaps are the IRCv3 capabilities this bridge maps to XMPP, and so
// the only ones it asks servers for (ircconn adds sasl and cap-notify):
//   - server-time: Message.Time, shown as XEP-0203 delay;
//   - message-tags: the msgid tag is Message.ID (XEP-0359 stanza-id);
//   - multi-prefix: every rank of a member in NAMES (roles.go reads them);
//   - echo-message: the server's echo of a user's room message is its
//     reflection, and a message never echoed is reported as failed
//     (sent.go);
//   - away-notify: members going away and back are occupant presences
//     (away.go);
//   - standard-replies: FAIL, WARN and NOTE are errors on what failed, or
//     notices (replies.go);
//   - account-notify, account-tag, extended-join, setname: members'
//     services accounts and real names, in their occupant status
//     (account.go);
//   - chghost, userhost-in-names, invite-notify: members.go;
//   - batch: netsplits and netjoins as one room notice (netsplit.go);
//   - labeled-response: the answer to a user's command goes to the
//     resource that sent it (labels.go);
//   - draft/read-marker: where the user read up to, shared with their other
//     clients (readmarker.go);
//   - batch, draft/multiline: a multi-line message as one batch, both ways
//     (multiline.go);
//   - batch and draft/chathistory: what was said while Ferry was away
//     from a channel is fetched again (chathistory.go).
//
// One list serves every connection (each keeps the list it asked for):
// it is never changed.
var handledCaps = []string{"server-time", "message-tags", "multi-prefix", "echo-message", "away-notify", "standard-replies",
	"account-notify", "account-tag", "extended-join", "setname", "chghost", "userhost-in-names", "invite-notify", capBatch,
	"labeled-response", capReadMarker, capMultiline, "draft/chathistory"}

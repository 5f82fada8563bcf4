package irc

import (
	"time"

	"github.com/ergochat/irc-go/ircmsg"
)

// maxMsgIDLen bounds a server's msgid kept as a message id: ergo's are 26
// characters; anything much longer is not an id worth storing.
const maxMsgIDLen = 128

// serverTime reads the IRCv3 server-time tag: when the server says the
// message was sent. It is zero when the tag is missing or malformed.
func serverTime(m ircmsg.Message) time.Time {
	if ok, v := m.GetTag("time"); ok {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// messageID is the message's IRCv3 msgid qualified by the server it came
// from (ids are unique per network only), or "" when there is none or it
// is not a plain token: it becomes an XMPP stanza id and a stored key.
func messageID(server string, m ircmsg.Message) string {
	_, id := m.GetTag("msgid")
	if !validMsgID(id) {
		return ""
	}
	return server + "/" + id
}

// replyID is the message's +draft/reply (the msgid it answers) qualified
// as messageID qualifies ids, or "" when there is none.
func replyID(server string, m ircmsg.Message) string {
	_, id := m.GetTag(tagReply)
	if !validMsgID(id) {
		return ""
	}
	return server + "/" + id
}

// validMsgID reports whether a msgid is one worth keeping: a short token
// of printable ASCII.
func validMsgID(id string) bool {
	if id == "" || len(id) > maxMsgIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

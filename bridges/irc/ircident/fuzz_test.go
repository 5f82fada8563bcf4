package ircident

import (
	"testing"

	"github.com/ergochat/irc-go/ircmsg"
)

// FuzzCheck: whatever Check accepts goes on the wire as NICK, USER and PASS
// lines that irc-go's strict serializer writes within 512 bytes and that
// parse back to the same parameters: an accepted value can always be sent.
func FuzzCheck(f *testing.F) {
	f.Add("alice", "alice", "Alice Liddell", "")
	f.Add("[x]", "u", ":colon first", "pass word")
	f.Add("a", "u", "r\r\nQUIT", "")
	f.Fuzz(func(t *testing.T, nick, user, realname, password string) {
		id := Identity{Nick: nick, User: user, Realname: realname, Password: password}
		if id.Check() != nil {
			return
		}
		lines := [][]string{{"NICK", nick}, {"USER", user, "0", "*", realname}}
		if password != "" {
			lines = append(lines, []string{"PASS", password})
		}
		for _, l := range lines {
			m := ircmsg.MakeMessage(nil, "", l[0], l[1:]...)
			b, err := m.LineBytesStrict(true, 512)
			if err != nil {
				t.Fatalf("%q accepted but cannot be sent: %v", l, err)
			}
			back, err := ircmsg.ParseLineStrict(string(b), true, 0)
			if err != nil || back.Command != l[0] || len(back.Params) != len(l)-1 {
				t.Fatalf("%q sent as %q, read back as %v (%v)", l, b, back, err)
			}
			for i, p := range l[1:] {
				if back.Params[i] != p {
					t.Fatalf("%q sent as %q: parameter %d came back %q", l, b, i, back.Params[i])
				}
			}
		}
	})
}

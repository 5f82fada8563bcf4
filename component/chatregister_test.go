package component

import (
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// chatFromGateway matches the transport's chat messages to u@x.test.
func chatFromGateway(n *xmlnode.Node) bool {
	return n.Local == "message" && n.Attr("from") == "gw.test" && n.Child("", "body") != nil
}

// The chat registration asks as little as it can and checks each answer
// when it is given (the echo bridge: username (quick, checked), password
// (secret), nickname (advanced)).
func TestChatRegistrationDialog(t *testing.T) {
	tests := []struct {
		name string
		// said are what the user sends, in turn; want are substrings of
		// the transport's answer to each.
		said, want []string
		// notAsked must appear in no answer.
		notAsked string
	}{
		{"usual questions, not the advanced one",
			[]string{"register", "alice", "pw"},
			[]string{"Username", "Password", "You are registered"}, "Nickname"},
		{"a bad answer is refused at once and asked again",
			[]string{"register", "has space", "alice", "pw"},
			[]string{"Username", "may not contain spaces or @. Username", "Password", "You are registered"}, ""},
		{"one line: only the missing required question",
			[]string{"register alice", "pw"},
			[]string{"Password", "You are registered"}, "Username"},
		{"one line with a bad value: refused before any question, with the usage",
			[]string{"register has space"},
			[]string{"Username: username may not contain spaces or @\nUsage: register USERNAME"}, "Password"},
		{"advanced: every question",
			[]string{"register advanced", "alice", "pw", "Al"},
			[]string{"Username", "Password", "Nickname", "You are registered"}, ""},
		{"help shows the one-line form",
			[]string{"help"},
			[]string{"register USERNAME in one line; register advanced for every setting"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := startTransport(t)
			for i, text := range tc.said {
				srv.inject(`<message type="chat" from="u@x.test/r" to="gw.test"><body>` + text + `</body></message>`)
				reply := srv.next(chatFromGateway).ChildText("", "body")
				if !strings.Contains(reply, tc.want[i]) {
					t.Fatalf("after %q: %q, want %q", text, reply, tc.want[i])
				}
				if tc.notAsked != "" && strings.Contains(reply, tc.notAsked+" ") {
					t.Errorf("after %q the dialog asked %s: %q", text, tc.notAsked, reply)
				}
			}
		})
	}
}

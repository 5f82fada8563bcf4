package e2e

import (
	"strings"
	"testing"

	"github.com/ergochat/irc-go/ircmsg"
	"github.com/ferry-xmpp/ferry/config"
	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// End-to-end tests against ergo, an IRCv3 server: the same flows as
// against ngIRCd, plus what modern IRC adds.

// startErgo is Prosody + ergo + Ferry with an IRC transport that knows
// ergo as "ergo.test".
func startErgo(t *testing.T) *ircSetup {
	t.Helper()
	srv := testenv.StartErgo(t)
	s := startOn(t, "prosody", serverOptions{}, func(c *config.Config) {
		c.Transports = []config.Transport{{Kind: "irc", Domain: ircDomain, Secret: secret, Name: "IRC",
			Options: map[string]any{
				"network": []map[string]any{{"name": srv.Name, "address": srv.Addr, "tls": false}},
				"burst":   int64(50), "rate": float64(50),
				"reconnect_min": "50ms", "reconnect_max": "500ms",
			}}}
	})
	return &ircSetup{setup: s, irc: srv}
}

// ergoRegister registers c with nick on ergo.test; extra are more form
// fields (var, value). It returns the answer.
func ergoRegister(t *testing.T, c *testenv.Client, nick string, extra ...string) *testenv.Stanza {
	t.Helper()
	fields := `<field var="nick"><value>` + nick + `</value></field><field var="server"><value>ergo.test</value></field>`
	for i := 0; i+1 < len(extra); i += 2 {
		fields += `<field var="` + extra[i] + `"><value>` + extra[i+1] + `</value></field>`
	}
	return c.IQ(t, wait, `<iq type="set" to="`+ircDomain+`"><query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit">`+
		fields+`</x></query></iq>`)
}

// TestErgoSASLSCRAM: a user with a services account logs in with
// SCRAM-SHA-256, which ergo offers beside PLAIN, so the password never
// crosses the wire; a wrong password is refused at registration.
func TestErgoSASLSCRAM(t *testing.T) {
	s := startErgo(t)
	s.irc.RegisterAccount(t, "alice", "correct-horse")
	c := ircLogin(t, s, "alice", "scram")

	r := ergoRegister(t, c, "alice", "sasl_user", "alice", "sasl_password", "wrong-horse")
	if r.Attr["type"] != "error" || !strings.Contains(r.XML, "not-authorized") {
		t.Fatalf("a wrong SASL password was not refused: %s", r.XML)
	}
	r = ergoRegister(t, c, "alice", "sasl_user", "alice", "sasl_password", "correct-horse")
	if r.Attr["type"] != "result" {
		t.Fatalf("registration with the right password: %s", r.XML)
	}
	acceptTransport(t, c, ircDomain)

	// The session's connection is logged in to the account.
	c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Name == "presence" && st.Attr["from"] == ircDomain && strings.Contains(st.XML, "Connected to ergo.test as alice")
	})
	bob := s.irc.Connect(t, "bob")
	bob.Send(t, "WHOIS alice")
	m := bob.Expect(t, wait, func(m ircmsg.Message) bool { return m.Command == "330" || m.Command == "318" })
	if m.Command != "330" || m.Params[2] != "alice" {
		t.Fatalf("alice is not logged in to her account: %v", m)
	}
}

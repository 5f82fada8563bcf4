package e2e

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// relayOnly registers bob without a mailbox and gives him a relay address.
func relayOnly(t *testing.T, s *mailSetup) (*testenv.Client, string) {
	t.Helper()
	c := mailLogin(t, s, "bob")
	if r := mailRegister(t, c, map[string]string{"name": "Bob"}); r.Attr["type"] != "result" {
		t.Fatalf("register: %s", r.XML)
	}
	c.SendRaw(t, `<message to="`+mailDomain+`" type="chat"><body>alias add alerts -</body></message>`)
	created := node(t, c.Expect(t, wait, chatFrom(mailDomain, "Created "))).ChildText("", "body")
	alias := regexp.MustCompile(`alerts\.[a-z0-9]+@relay\.test`).FindString(created)
	if alias == "" {
		t.Fatalf("no address in %q", created)
	}
	return c, alias
}

// errorFor matches the error bounced on the message with id.
func errorFor(id string) func(*testenv.Stanza) bool {
	return func(st *testenv.Stanza) bool {
		return st.Name == "message" && st.Attr["id"] == id && st.Attr["type"] == "error"
	}
}

// TestHostileRelayAnswersOnlyWhoWrote: a user with only relay addresses
// cannot mail strangers through the operator's smarthost (Postfix here),
// nor a Reply-To that an incoming mail names; the person who wrote gets
// the answer.
func TestHostileRelayAnswersOnlyWhoWrote(t *testing.T) {
	s := startMail(t)
	c, alias := relayOnly(t, s)

	// A stranger with a real mailbox: refused before anything is queued.
	c.SendRaw(t, `<message to="`+bobJID+`" type="chat" id="spam-1"><body>Cheap watches</body></message>`)
	e := node(t, c.Expect(t, wait, errorFor("spam-1")))
	if errorCondition(e) != "not-allowed" || !strings.Contains(errorText(e), "bob@remote.test has never written to your relay addresses") {
		t.Fatalf("mail to a stranger: %s", e)
	}

	// Alice writes to the relay address and asks replies to go to Bob's
	// mailbox (Reply-To).
	sendSMTP(t, s.postfix.SMTPAddr, "alice@mail.test", alias, mailMsg(`
From: Alice <alice@mail.test>
Reply-To: bob@remote.test
To: `+alias+`
Subject: disk full
Message-ID: <alert-1@mail.test>
`, "Host1 is full.\n"))
	aliceJID := `alice\40mail.test@` + mailDomain
	in := node(t, c.Expect(t, wait, fromPuppet(aliceJID, "Host1 is full.")))
	thread := in.ChildText("", "thread")
	if thread == "" {
		t.Fatalf("no thread on %s", in)
	}
	// In the thread the answer would go to the Reply-To: refused.
	c.SendRaw(t, `<message to="`+aliceJID+`" type="chat" id="spam-2"><thread>`+thread+`</thread><body>Reply all</body></message>`)
	if e := node(t, c.Expect(t, wait, errorFor("spam-2"))); errorCondition(e) != "not-allowed" || !strings.Contains(errorText(e), "bob@remote.test has never written to "+alias) {
		t.Fatalf("reply to the Reply-To: %s", e)
	}
	// To Alice herself it goes, from the relay address.
	c.SendRaw(t, `<message to="`+aliceJID+`" type="chat" id="reply-1"><body>Cleaning up now.</body></message>`)
	s.dovecot.WaitMail(t, "alice@mail.test", func(b []byte) bool { return bytes.Contains(b, []byte("Cleaning up now.")) }, wait)
	// Nothing reached the stranger's mailbox (the refused mails were never
	// queued; the one that was allowed has already arrived).
	for _, m := range s.dovecot.Mails("bob@remote.test") {
		t.Errorf("the stranger got mail:\n%s", m)
	}
}

// TestHostileRelaySendToAnyone: the operator's opt-in lets relay addresses
// mail anyone.
func TestHostileRelaySendToAnyone(t *testing.T) {
	s := startMail(t, func(opts map[string]any) { opts["relay"].(map[string]any)["send_to_anyone"] = true })
	c, alias := relayOnly(t, s)
	c.SendRaw(t, `<message to="`+bobJID+`" type="chat" id="hello-1"><body>Hello from the relay</body></message>`)
	raw := s.dovecot.WaitMail(t, "bob@remote.test", func(b []byte) bool { return bytes.Contains(b, []byte("Hello from the relay")) }, wait)
	if !bytes.Contains(raw, []byte(alias)) {
		t.Errorf("not from the relay address:\n%s", raw)
	}
}

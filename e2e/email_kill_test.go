//go:build unix

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/internal/testenv"
)

const killMails = 40

// TestEmailKill9MidDelivery kills the real ferry binary with SIGKILL while
// mail is flowing from IMAP to XMPP, starts it again on the same database
// and checks that every mail reaches the user: none is skipped (the last
// UID is saved only after a mail is stored), none is delivered twice from
// IMAP (the core de-duplicates by Message-ID), and only stanzas the first
// run wrote are resent from the outbox (those not yet confirmed by the
// server at the kill), with their stanza id.
func TestEmailKill9MidDelivery(t *testing.T) {
	d := testenv.StartDovecot(t, map[string]string{"alice@mail.test": "alice-mail-pw"})
	p := testenv.StartPostfix(t, testenv.PostfixOptions{Dovecot: d, Submission: true,
		Domains: map[string]string{"mail.test": "dovecot"}})
	testenv.Need(t, "prosody")
	xmpp := testenv.StartProsody(t, testenv.ProsodyOptions{
		Components: map[string]string{mailDomain: secret},
		Users:      map[string]string{"alice": "alicepw"},
	})
	bin := buildFerryBinary(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "ferry.toml")
	cfg := fmt.Sprintf(`database = "ferry.db"
secrets_key_file = "ferry.key"
[xmpp]
address = %q
server_domain = "localhost"
reconnect_min = "50ms"
reconnect_max = "500ms"
[[transport]]
kind = "email"
domain = %q
secret = %q
[transport.options]
allow_plain = true
allowed_private_hosts = ["127.0.0.1"]
backlog = 0
listen = "127.0.0.1:%d"
`, xmpp.ComponentAddr, mailDomain, secret, testenv.FreePort(t))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	first := startFerryProc(t, bin, cfgPath, "first run")
	c := xmpp.Login(t, "alice", "alicepw", "mail")
	waitTransport(t, c, mailDomain)
	s := &mailSetup{dovecot: d, postfix: p}
	if r := mailRegister(t, c, s.aliceFields()); r.Attr["type"] != "result" {
		t.Fatalf("register: %s", r.XML)
	}
	c.Expect(t, wait, func(st *testenv.Stanza) bool { return strings.Contains(st.XML, "Watching INBOX") })

	for i := range killMails {
		d.Deliver(t, "alice@mail.test", bobMail(fmt.Sprintf("burst %d", i), fmt.Sprintf("burst-%d@remote.test", i), fmt.Sprintf("kill9 mail %d.\n", i)))
	}
	seen := map[int]int{}
	ids := map[int]string{}
	re := regexp.MustCompile(`kill9 mail (\d+)\.`)
	count := func(st *testenv.Stanza) {
		m := re.FindStringSubmatch(st.XML)
		if m == nil {
			return
		}
		var n int
		fmt.Sscan(m[1], &n)
		seen[n]++
		// A resend from the outbox repeats the stanza id, so clients
		// can drop it; a second delivery from IMAP would have a new one.
		if id, ok := ids[n]; ok && id != st.Attr["id"] {
			t.Errorf("mail %d delivered twice as different stanzas (%s, %s)", n, id, st.Attr["id"])
		}
		ids[n] = st.Attr["id"]
	}
	take := func() { count(c.Expect(t, time.Minute, fromPuppet(bobJID, "kill9 mail "))) }
	for len(seen) < 5 {
		take()
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.waitExit(t, wait)
	// Once the server answers for the transport with an error it has
	// handled the dead stream to its end, so everything the first run
	// wrote is queued to this client ahead of that answer.
	waitTransportGone(t, c, mailDomain)
	for _, st := range c.TakeAll() {
		count(st)
	}
	firstRun := map[int]bool{}
	for n := range seen {
		firstRun[n] = true
	}
	t.Logf("killed after %d of %d mails", len(firstRun), killMails)

	startFerryProc(t, bin, cfgPath, "after kill")
	for len(seen) < killMails {
		take()
	}
	// Nothing more comes: a marker mail is the next one to arrive.
	d.Deliver(t, "alice@mail.test", bobMail("marker", "kill-marker@remote.test", "the marker\n"))
	c.Expect(t, time.Minute, fromPuppet(bobJID, "the marker"))
	for _, st := range c.TakeAll() {
		count(st)
	}
	for n, k := range seen {
		switch {
		case k > 2:
			t.Errorf("mail %d arrived %d times", n, k)
		case k == 2 && !firstRun[n]:
			t.Errorf("mail %d arrived twice though the first run never delivered it", n)
		case k == 2:
			t.Logf("mail %d arrived again (unconfirmed at the kill)", n)
		}
	}
}

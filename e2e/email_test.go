package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/mail"
	"net/smtp"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/config"
	"github.com/ferry-xmpp/ferry/internal/testenv"
)

const mailDomain = "mail.localhost"

type mailSetup struct {
	*setup
	dovecot *testenv.Dovecot
	postfix *testenv.Postfix
	cfg     config.Transport
	links   string // base URL of attachment links
	relay   string // Ferry's relay SMTP address
}

// startMail runs Dovecot (alice@mail.test, bob@remote.test), Postfix
// (submission with SASL through Dovecot; mail.test and remote.test
// delivered into Dovecot; relay.test routed to Ferry) and Ferry with an
// email transport.
func startMail(t *testing.T, mutate ...func(opts map[string]any)) *mailSetup {
	t.Helper()
	d := testenv.StartDovecot(t, map[string]string{"alice@mail.test": "alice-mail-pw", "bob@remote.test": "bob-mail-pw"})
	relayPort := testenv.FreePort(t)
	relayAddr := fmt.Sprintf("127.0.0.1:%d", relayPort)
	p := testenv.StartPostfix(t, testenv.PostfixOptions{Dovecot: d, Submission: true, Domains: map[string]string{
		"mail.test": "dovecot", "remote.test": "dovecot", "relay.test": "smtp:[" + "127.0.0.1" + fmt.Sprintf("]:%d", relayPort)}})
	linkAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	opts := map[string]any{
		"allow_plain": true, "allowed_private_hosts": []any{"127.0.0.1"}, "backlog": int64(1), "listen": linkAddr, "ca_file": d.CAFile,
		"retry_min": "100ms", "retry_max": "500ms", "attempts": int64(3),
		"relay": map[string]any{"domain": "relay.test", "listen": relayAddr, "smarthost": p.SMTPAddr, "smarthost_security": "plain"},
	}
	for _, m := range mutate {
		m(opts)
	}
	tc := config.Transport{Kind: "email", Domain: mailDomain, Secret: secret, Options: opts}
	s := start(t, func(c *config.Config) { c.Transports = []config.Transport{tc} })
	return &mailSetup{setup: s, dovecot: d, postfix: p, cfg: tc, links: "http://" + linkAddr, relay: relayAddr}
}

func mailLogin(t *testing.T, s *mailSetup, user string) *testenv.Client {
	t.Helper()
	c := s.xmpp.Login(t, user, map[string]string{"alice": "alicepw", "bob": "bobpw"}[user], "mail")
	waitTransport(t, c, mailDomain)
	return c
}

// mailRegister submits the registration form.
func mailRegister(t *testing.T, c *testenv.Client, fields map[string]string) *testenv.Stanza {
	t.Helper()
	var b strings.Builder
	b.WriteString(`<iq type="set" to="` + mailDomain + `"><query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit">`)
	b.WriteString(`<field var="FORM_TYPE"><value>jabber:iq:register</value></field>`)
	for k, v := range fields {
		fmt.Fprintf(&b, `<field var="%s"><value>%s</value></field>`, k, v)
	}
	b.WriteString(`</x></query></iq>`)
	return c.IQ(t, time.Minute, b.String())
}

func (s *mailSetup) aliceFields() map[string]string {
	host, port, _ := strings.Cut(s.dovecot.IMAPAddr, ":")
	shost, sport, _ := strings.Cut(s.postfix.SubmissionAddr, ":")
	return map[string]string{"email": "Alice@Mail.Test", "password": "alice-mail-pw", "name": "Alice Liddell",
		"imap_host": host, "imap_port": port, "imap_security": "plain",
		"smtp_host": shost, "smtp_port": sport, "smtp_security": "plain"}
}

// mailMsg builds a raw mail with CRLF line ends.
func mailMsg(headers, body string) []byte {
	return []byte(strings.ReplaceAll(strings.TrimLeft(headers, "\n")+"\n"+body, "\n", "\r\n"))
}

// bobMail is a plain mail from bob@remote.test to alice@mail.test.
func bobMail(subject, messageID, body string) []byte {
	return mailMsg("From: Bob <bob@remote.test>\nTo: alice@mail.test\nSubject: "+subject+"\nMessage-ID: <"+messageID+">\n", body)
}

func fromPuppet(addr string, contains ...string) func(*testenv.Stanza) bool {
	return func(st *testenv.Stanza) bool {
		if st.Name != "message" || strings.SplitN(st.Attr["from"], "/", 2)[0] != addr || st.Attr["type"] == "error" {
			return false
		}
		for _, c := range contains {
			if !strings.Contains(st.XML, c) {
				return false
			}
		}
		return true
	}
}

const bobJID = `bob\40remote.test@` + mailDomain

func TestEmailMailbox(t *testing.T) {
	s := startMail(t)
	// Two mails wait in the mailbox before Alice registers: with a
	// backlog of 1 only the newest is shown.
	s.dovecot.Deliver(t, "alice@mail.test", bobMail("old one", "old1@remote.test", "too old to show\n"))
	s.dovecot.Deliver(t, "alice@mail.test", bobMail("backlog", "old2@remote.test", "the newest old mail\n"))

	c := mailLogin(t, s, "alice")
	// Bad credentials: refused, naming the server, nothing stored.
	bad := s.aliceFields()
	bad["password"] = "wrong"
	r := node(t, mailRegister(t, c, bad))
	if errorCondition(r) != "not-authorized" || !strings.Contains(errorText(r), "IMAP server") {
		t.Fatalf("wrong password: %s", r)
	}
	bad = s.aliceFields()
	bad["smtp_port"] = fmt.Sprint(testenv.FreePort(t))
	r = node(t, mailRegister(t, c, bad))
	if errorCondition(r) == "" || !strings.Contains(errorText(r), "SMTP server") {
		t.Fatalf("closed SMTP port: %s", r)
	}
	if r := mailRegister(t, c, s.aliceFields()); r.Attr["type"] != "result" {
		t.Fatalf("register: %s", r.XML)
	}
	c.Expect(t, wait, fromPuppet(bobJID, "the newest old mail", ">backlog</subject>", `<nick xmlns="http://jabber.org/protocol/nick">Bob</nick>`))

	// Plain text, through IDLE, threaded.
	s.dovecot.Deliver(t, "alice@mail.test", mailMsg(`
From: Bob <bob@remote.test>
To: Alice <alice@mail.test>
Subject: Lunch?
Message-ID: <lunch-1@remote.test>
Date: Mon, 23 Nov 2026 12:00:00 +0000
Content-Type: text/plain; charset=utf-8
`, "Shall we have lunch at noon?\n"))
	lunch := c.Expect(t, wait, fromPuppet(bobJID, "Shall we have lunch at noon?", ">Lunch?</subject>", ">lunch-1@remote.test</thread>"))
	if !strings.Contains(lunch.XML, `stamp="2026-11-23T12:00:00Z"`) {
		t.Errorf("no delay stamp from the Date header: %s", lunch.XML)
	}
	// HTML only: readable text, no markup or CSS.
	s.dovecot.Deliver(t, "alice@mail.test", mailMsg(`
From: Newsletter <news@remote.test>
To: alice@mail.test
Subject: HTML only
Message-ID: <html-1@remote.test>
Content-Type: text/html; charset=utf-8
`, "<html><head><style>p{color:red}</style></head><body><h1>Big news</h1><p>Read the <a href=\"https://example.org/r\">report</a>.</p></body></html>\n"))
	html := c.Expect(t, wait, fromPuppet(`news\40remote.test@`+mailDomain, "Big news"))
	if b := node(t, html).ChildText("", "body"); strings.Contains(b, "<h1") || strings.Contains(b, "<p>") || strings.Contains(b, "color:red") || !strings.Contains(b, "https://example.org/r") {
		t.Errorf("HTML mail as text: %q", b)
	}
	// Latin-1, quoted-printable, encoded subject.
	s.dovecot.Deliver(t, "alice@mail.test", mailMsg(`
From: =?ISO-8859-1?Q?Ren=E9?= <rene@remote.test>
To: alice@mail.test
Subject: =?ISO-8859-1?Q?caf=E9?=
Message-ID: <latin-1@remote.test>
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable
`, "Un caf=E9 cr=E8me, s'il vous pla=EEt.\n"))
	latin := c.Expect(t, wait, fromPuppet(`rene\40remote.test@`+mailDomain, "Un café crème", ">café</subject>", ">René</nick>"))
	if b := node(t, latin).ChildText("", "body"); !strings.HasSuffix(b, "Un café crème, s'il vous plaît.") {
		t.Errorf("Latin-1 body %q", b)
	}
	// Multipart with an attachment: listed with a working link.
	pdf := "%PDF-1.4 fake pdf bytes \x00\x01\x02"
	s.dovecot.Deliver(t, "alice@mail.test", mailMsg(`
From: Bob <bob@remote.test>
To: alice@mail.test
Subject: the report
Message-ID: <report-1@remote.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BOUNDARY"
`, "--BOUNDARY\nContent-Type: text/plain; charset=utf-8\n\nHere is the report.\n--BOUNDARY\nContent-Type: application/pdf; name=\"report.pdf\"\nContent-Disposition: attachment; filename=\"report.pdf\"\nContent-Transfer-Encoding: base64\n\n"+
		b64lines(pdf)+"--BOUNDARY--\n"))
	att := node(t, c.Expect(t, wait, fromPuppet(bobJID, "Here is the report.", "report.pdf"))).ChildText("", "body")
	link := regexp.MustCompile(`https?://\S+`).FindString(att)
	if !strings.HasPrefix(link, s.links+"/") {
		t.Fatalf("no attachment link in %q", att)
	}
	got := httpGet(t, link, 200)
	if got != pdf {
		t.Errorf("attachment downloaded as %q", got)
	}
	httpGet(t, link[:len(link)-3]+"xyz", 404) // a tampered link is refused

	// Reply in the lunch thread, asking for a receipt: Bob's mailbox gets a
	// threaded mail from Alice; the receipt comes back.
	c.SendRaw(t, `<message to="`+bobJID+`" type="chat" id="reply-1"><body>Yes, noon is fine ✓</body><thread>lunch-1@remote.test</thread><request xmlns="urn:xmpp:receipts"/></message>`)
	raw := s.dovecot.WaitMail(t, "bob@remote.test", func(b []byte) bool { return bytes.Contains(b, []byte("noon is fine")) }, wait)
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Header
	if a, _ := mail.ParseAddress(h.Get("From")); a == nil || a.Address != "alice@mail.test" || a.Name != "Alice Liddell" {
		t.Errorf("From %q", h.Get("From"))
	}
	if h.Get("Subject") != "Re: Lunch?" || h.Get("In-Reply-To") != "<lunch-1@remote.test>" ||
		!strings.Contains(h.Get("References"), "<lunch-1@remote.test>") || h.Get("Message-Id") == "" || h.Get("Date") == "" {
		t.Errorf("reply headers: %v", h)
	}
	if body, _ := io.ReadAll(m.Body); !strings.Contains(string(body), "noon is fine") {
		t.Errorf("reply body %q", body)
	}
	c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Attr["from"] == bobJID && strings.Contains(st.XML, `<received xmlns="urn:xmpp:receipts" id="reply-1"`)
	})
	// A copy is kept in Alice's Sent folder (made on first use), read.
	waitFile(t, filepath.Join(s.dovecot.Maildir("alice@mail.test"), ".Sent", "cur", "*:2,*S*"), "noon is fine")
	// Header injection through the subject is impossible.
	c.SendRaw(t, `<message to="`+bobJID+`" type="chat" id="inj"><subject>Hi&#13;&#10;Bcc: alice@mail.test</subject><body>injected?</body></message>`)
	raw = s.dovecot.WaitMail(t, "bob@remote.test", func(b []byte) bool { return bytes.Contains(b, []byte("injected?")) }, wait)
	if m, err := mail.ReadMessage(bytes.NewReader(raw)); err != nil || m.Header.Get("Bcc") != "" || strings.Contains(m.Header.Get("Subject"), "\n") {
		t.Errorf("injection: %v %q", err, raw)
	}
	// A recipient the server refuses: an error on the stanza with its text.
	c.SendRaw(t, `<message to="nobody\40remote.test@`+mailDomain+`" type="chat" id="rej"><body>hello?</body></message>`)
	rej := node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool { return st.Attr["id"] == "rej" && st.Attr["type"] == "error" }))
	if !strings.Contains(errorText(rej), "5.1.1") {
		t.Errorf("refused recipient: %s", rej)
	}
	// A bounce arriving later by IMAP is an error on the original stanza.
	c.SendRaw(t, `<message to="`+bobJID+`" type="chat" id="later"><body>this one will bounce</body></message>`)
	raw = s.dovecot.WaitMail(t, "bob@remote.test", func(b []byte) bool { return bytes.Contains(b, []byte("will bounce")) }, wait)
	sent, _ := mail.ReadMessage(bytes.NewReader(raw))
	s.dovecot.Deliver(t, "alice@mail.test", dsn(sent.Header.Get("Message-Id")))
	bounced := node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool { return st.Attr["id"] == "later" && st.Attr["type"] == "error" }))
	if !strings.Contains(errorText(bounced), "5.2.2") {
		t.Errorf("bounce: %s", bounced)
	}

	// Not an address: refused at once.
	c.SendRaw(t, `<message to="not-an-address@`+mailDomain+`" type="chat" id="bad"><body>x</body></message>`)
	if r := node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool { return st.Attr["id"] == "bad" })); errorCondition(r) != "jid-malformed" {
		t.Errorf("bad address: %s", r)
	}
	// The mailbox belongs to Alice's account only.
	b := mailLogin(t, s, "bob")
	if r := node(t, mailRegister(t, b, s.aliceFields())); errorCondition(r) != "conflict" {
		t.Errorf("second registration of a mailbox: %s", r)
	}

	// Restart: mail that arrives while Ferry is down comes once, and
	// nothing seen before comes again.
	s.ferry.stop(t)
	for i := 1; i <= 2; i++ {
		s.dovecot.Deliver(t, "alice@mail.test", bobMail(fmt.Sprintf("while down %d", i), fmt.Sprintf("down-%d@remote.test", i), fmt.Sprintf("sent while Ferry was down %d\n", i)))
	}
	c.Close()
	s.ferry = runFerry(t, s.ferry.cfg)
	c = mailLogin(t, s, "alice")
	c.Expect(t, wait, fromPuppet(bobJID, "sent while Ferry was down 1"))
	c.Expect(t, wait, fromPuppet(bobJID, "sent while Ferry was down 2"))
	s.dovecot.Deliver(t, "alice@mail.test", bobMail("marker", "marker@remote.test", "the marker\n"))
	c.Expect(t, wait, fromPuppet(bobJID, "the marker"))
	for _, st := range c.Pending() {
		if fromPuppet(bobJID)(st) && st.Name == "message" {
			t.Errorf("delivered again after the restart: %s", st.XML)
		}
	}
}

func b64lines(s string) string {
	enc := []byte(base64Std(s))
	var b strings.Builder
	for len(enc) > 76 {
		b.Write(enc[:76])
		b.WriteString("\n")
		enc = enc[76:]
	}
	b.Write(enc)
	b.WriteString("\n")
	return b.String()
}

func httpGet(t *testing.T, url string, want int) string {
	t.Helper()
	code, body := fetch(t, url)
	if code != want {
		t.Fatalf("GET %s: %d %s (want %d)", url, code, body, want)
	}
	return body
}

// dsn is a delivery status notification shaped like Postfix's.
func dsn(originalID string) []byte {
	return mailMsg(`
From: MAILER-DAEMON@mail.test (Mail Delivery System)
To: alice@mail.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@mail.test>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"
`, `--B
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.
--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.test

Final-Recipient: rfc822; bob@remote.test
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 mailbox full

--B
Content-Type: text/rfc822-headers

From: alice@mail.test
To: bob@remote.test
Message-ID: `+originalID+`
Subject: this one will bounce

--B--
`)
}

func TestEmailRelay(t *testing.T) {
	s := startMail(t)
	c := mailLogin(t, s, "bob")
	// The transport says what it is, and maps a typed address (XEP-0100).
	info := c.IQ(t, wait, `<iq type="get" to="`+mailDomain+`"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
	if !strings.Contains(info.XML, `category="gateway"`) || !strings.Contains(info.XML, `type="smtp"`) {
		t.Errorf("disco#info: %s", info.XML)
	}
	gw := c.IQ(t, wait, `<iq type="set" to="`+mailDomain+`"><query xmlns="jabber:iq:gateway"><prompt>Alice@Mail.Test</prompt></query></iq>`)
	if !strings.Contains(gw.XML, `alice\40mail.test@`+mailDomain) {
		t.Errorf("jabber:iq:gateway: %s", gw.XML)
	}
	// No mailbox: relay addresses only.
	if r := mailRegister(t, c, map[string]string{"name": "Bob"}); r.Attr["type"] != "result" {
		t.Fatalf("register: %s", r.XML)
	}
	c.SendRaw(t, `<message to="`+mailDomain+`" type="chat"><body>alias add alerts @mail.test</body></message>`)
	created := node(t, c.Expect(t, wait, chatFrom(mailDomain, "Created "))).ChildText("", "body")
	alias := regexp.MustCompile(`alerts\.[a-z0-9]+@relay\.test`).FindString(created)
	if alias == "" {
		t.Fatalf("no address in %q", created)
	}
	// The ad-hoc command lists it.
	list := c.IQ(t, wait, `<iq type="set" to="`+mailDomain+`"><command xmlns="http://jabber.org/protocol/commands" node="alias-list" action="execute"/></iq>`)
	if !strings.Contains(list.XML, alias) {
		t.Errorf("alias-list: %s", list.XML)
	}

	// Alice mails the address through Postfix, which routes relay.test to Ferry.
	sendSMTP(t, s.postfix.SMTPAddr, "alice@mail.test", alias, mailMsg(`
From: Alice <alice@mail.test>
To: `+alias+`
Subject: disk full
Message-ID: <alert-1@mail.test>
`, "The disk on host1 is 99% full.\n"))
	aliceJID := `alice\40mail.test@` + mailDomain
	c.Expect(t, wait, fromPuppet(aliceJID, "The disk on host1 is 99% full.", ">disk full</subject>"))

	// Bob replies: through the smarthost, from the relay address.
	c.SendRaw(t, `<message to="`+aliceJID+`" type="chat" id="r1"><body>Cleaning up now.</body></message>`)
	raw := s.dovecot.WaitMail(t, "alice@mail.test", func(b []byte) bool { return bytes.Contains(b, []byte("Cleaning up now.")) }, wait)
	m, _ := mail.ReadMessage(bytes.NewReader(raw))
	if a, _ := mail.ParseAddress(m.Header.Get("From")); a == nil || a.Address != alias || m.Header.Get("Subject") != "Re: disk full" ||
		m.Header.Get("In-Reply-To") != "<alert-1@mail.test>" {
		t.Errorf("relay reply headers: %v", m.Header)
	}

	// Ferry's relay server itself: unknown address, open relay, sender not
	// allowed are all refused at RCPT.
	for _, tc := range []struct{ from, to, code string }{
		{"alice@mail.test", "nosuch.abc123@relay.test", "550"},
		{"alice@mail.test", "bob@remote.test", "554"},
		{"mallory@evil.test", alias, "550"},
	} {
		if err := trySMTP(s.relay, tc.from, tc.to); err == nil || !strings.Contains(err.Error(), tc.code) {
			t.Errorf("RCPT %s from %s: %v, want %s", tc.to, tc.from, err, tc.code)
		}
	}
	// Deleted: refused from then on.
	c.SendRaw(t, `<message to="`+mailDomain+`" type="chat"><body>alias delete `+alias+`</body></message>`)
	c.Expect(t, wait, chatFrom(mailDomain, "Deleted "+alias))
	if err := trySMTP(s.relay, "alice@mail.test", alias); err == nil || !strings.Contains(err.Error(), "550") {
		t.Errorf("deleted address: %v", err)
	}
}

func sendSMTP(t *testing.T, addr, from, to string, msg []byte) {
	t.Helper()
	if err := smtp.SendMail(addr, nil, from, []string{to}, msg); err != nil {
		t.Fatalf("SMTP to %s: %v", addr, err)
	}
}

// trySMTP goes as far as RCPT TO and reports the refusal.
func trySMTP(addr, from, to string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail(from); err != nil {
		return err
	}
	return c.Rcpt(to)
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// Settings: more folders, marking mail read, a signature.
func TestEmailSettings(t *testing.T) {
	s := startMail(t)
	c := mailLogin(t, s, "alice")
	if r := mailRegister(t, c, s.aliceFields()); r.Attr["type"] != "result" {
		t.Fatalf("register: %s", r.XML)
	}
	c.Expect(t, wait, func(st *testenv.Stanza) bool { return strings.Contains(st.XML, "Watching INBOX of alice@mail.test") })
	// A second folder with a list mail in it: once watched, its first sync
	// shows it (backlog 1).
	s.dovecot.DeliverTo(t, "alice@mail.test", "Lists", mailMsg(`
From: List <list@remote.test>
To: alice@mail.test
Subject: list news
Message-ID: <list-1@remote.test>
List-Id: <news.remote.test>
`, "news from the list folder\n"))
	for _, cmd := range []string{"set folders INBOX, Lists", "set mark_read yes", `set signature Alice\nExample Inc.`} {
		c.SendRaw(t, `<message to="`+mailDomain+`" type="chat"><body>`+cmd+`</body></message>`)
		c.Expect(t, wait, chatFrom(mailDomain, "Settings saved."))
	}
	c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return strings.Contains(st.XML, "Watching INBOX, Lists of alice@mail.test")
	})

	c.Expect(t, wait, fromPuppet(`list\40remote.test@`+mailDomain, "news from the list folder", "Bulk or list mail"))

	s.dovecot.Deliver(t, "alice@mail.test", bobMail("read me", "seen-1@remote.test", "mark me read\n"))
	c.Expect(t, wait, fromPuppet(bobJID, "mark me read"))
	// Marked \Seen on the server: Dovecot moves it to cur/ with the S flag.
	s.dovecot.WaitMail(t, "alice@mail.test", func(b []byte) bool { return bytes.Contains(b, []byte("mark me read")) }, wait)
	waitSeen(t, s.dovecot.Maildir("alice@mail.test"), "mark me read")

	c.SendRaw(t, `<message to="`+bobJID+`" type="chat" id="sig"><body>signed reply</body></message>`)
	raw := s.dovecot.WaitMail(t, "bob@remote.test", func(b []byte) bool { return bytes.Contains(b, []byte("signed reply")) }, wait)
	if !bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")), []byte("\n-- \nAlice\nExample Inc.")) {
		t.Errorf("no signature in %q", raw)
	}
}

// waitSeen waits until the maildir file holding text has the S flag.
func waitSeen(t *testing.T, maildir, text string) {
	t.Helper()
	waitFile(t, filepath.Join(maildir, "cur", "*:2,*S*"), text)
}

// waitFile waits until a file matching pattern holds text.
func waitFile(t *testing.T, pattern, text string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(text)) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond) // a maildir can only be polled
	}
	t.Fatalf("no file %s holds %q", pattern, text)
}

// Dovecot vanishes (IMAP, and SMTP logins, which Postfix checks with
// Dovecot): the status says so, a reply waits in the queue, and once
// Dovecot is back the reply goes out and mail that came meanwhile arrives.
func TestEmailServersVanish(t *testing.T) {
	s := startMail(t, func(o map[string]any) { o["attempts"] = int64(1000) })
	c := mailLogin(t, s, "alice")
	if r := mailRegister(t, c, s.aliceFields()); r.Attr["type"] != "result" {
		t.Fatalf("register: %s", r.XML)
	}
	c.Expect(t, wait, func(st *testenv.Stanza) bool { return strings.Contains(st.XML, "Watching INBOX") })

	s.dovecot.Stop(t)
	c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Attr["from"] == mailDomain && strings.Contains(st.XML, "Reconnecting to "+s.dovecot.IMAPAddr)
	})
	c.SendRaw(t, `<message to="`+bobJID+`" type="chat" id="queued"><body>sent while the servers were away</body><request xmlns="urn:xmpp:receipts"/></message>`)
	s.dovecot.Deliver(t, "alice@mail.test", bobMail("while away", "away-1@remote.test", "arrived while Dovecot was down\n"))
	// Nothing is lost, nothing bounced while the servers are away.
	c.ExpectNone(t, time.Second, func(st *testenv.Stanza) bool { return st.Attr["id"] == "queued" && st.Attr["type"] == "error" })
	s.dovecot.Start(t)
	c.Expect(t, time.Minute, fromPuppet(bobJID, "arrived while Dovecot was down"))
	s.dovecot.WaitMail(t, "bob@remote.test", func(b []byte) bool { return bytes.Contains(b, []byte("sent while the servers were away")) }, time.Minute)
	c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Attr["from"] == bobJID && strings.Contains(st.XML, `<received xmlns="urn:xmpp:receipts" id="queued"`)
	})
}

// The production defaults: IMAP with implicit TLS and submission with
// STARTTLS, certificates checked (against the operator's ca_file).
func TestEmailOverTLS(t *testing.T) {
	s := startMail(t)
	c := mailLogin(t, s, "alice")
	f := s.aliceFields()
	f["imap_port"] = strings.Split(s.dovecot.IMAPSAddr, ":")[1]
	f["imap_security"] = "tls"
	f["smtp_security"] = "starttls"
	if r := mailRegister(t, c, f); r.Attr["type"] != "result" {
		t.Fatalf("register over TLS: %s", r.XML)
	}
	c.Expect(t, wait, func(st *testenv.Stanza) bool { return strings.Contains(st.XML, "Watching INBOX") })
	s.dovecot.Deliver(t, "alice@mail.test", bobMail("over TLS", "tls-1@remote.test", "read over implicit TLS\n"))
	c.Expect(t, wait, fromPuppet(bobJID, "read over implicit TLS"))
	c.SendRaw(t, `<message to="`+bobJID+`" type="chat" id="tls-reply"><body>sent after STARTTLS</body></message>`)
	raw := s.dovecot.WaitMail(t, "bob@remote.test", func(b []byte) bool { return bytes.Contains(b, []byte("sent after STARTTLS")) }, wait)
	// Postfix notes the TLS session in its Received header.
	if !bytes.Contains(raw, []byte("with ESMTPSA")) {
		t.Errorf("not submitted over TLS:\n%s", raw)
	}
}

package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// submissionTimeout bounds every SMTP conversation of these tests, so a
// server that stops answering fails the test instead of hanging it.
const submissionTimeout = 20 * time.Second

// dialSMTP opens an SMTP session to addr and says EHLO.
func dialSMTP(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, submissionTimeout)
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(submissionTimeout))
	// The host name is what PlainAuth checks: "127.0.0.1" counts as
	// local, so net/smtp sends PLAIN without TLS.
	host, _, _ := net.SplitHostPort(addr)
	c, err := smtp.NewClient(nc, host)
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	return c
}

// smtpCode is the reply code of an SMTP error, or 0.
func smtpCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// loginAuth is AUTH LOGIN, which net/smtp lacks.
type loginAuth struct{ user, password string }

func (a loginAuth) Start(*smtp.ServerInfo) (string, []byte, error) { return "LOGIN", nil, nil }

func (a loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch strings.ToLower(string(fromServer)) {
	case "username:":
		return []byte(a.user), nil
	case "password:":
		return []byte(a.password), nil
	}
	return nil, fmt.Errorf("unexpected AUTH LOGIN challenge %q", fromServer)
}

// sendOn sends one message on an open session.
func sendOn(c *smtp.Client, from, to, subject string) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	msg := "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\n\r\nbody of " + subject + "\r\n"
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	return w.Close()
}

// hasSubject matches a raw message with that Subject header, whether its
// lines end in CRLF or, as Postfix's virtual delivery stores them, in LF.
func hasSubject(subject string) func([]byte) bool {
	return func(raw []byte) bool {
		lf := bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
		return bytes.HasPrefix(lf, []byte("Subject: "+subject+"\n")) || bytes.Contains(lf, []byte("\nSubject: "+subject+"\n"))
	}
}

func TestPostfixSubmission(t *testing.T) {
	t.Parallel()
	start := time.Now()
	d := StartDovecot(t, map[string]string{"alice@mail.test": "secret", "bob@remote.test": "pw"})
	sink := startSMTPSink(t)
	p := StartPostfix(t, PostfixOptions{
		Domains: map[string]string{
			"mail.test":    "dovecot",
			"remote.test":  "dovecot",
			"sink.example": "smtp:[127.0.0.1]:" + strconv.Itoa(sink.l.Addr().(*net.TCPAddr).Port),
		},
		Dovecot:    d,
		Submission: true,
	})
	t.Logf("dovecot and postfix with submission ready in %v", time.Since(start))
	if p.SubmissionAddr == "" || p.SubmissionAddr == p.SMTPAddr {
		t.Fatalf("SubmissionAddr %q, SMTPAddr %q", p.SubmissionAddr, p.SMTPAddr)
	}

	t.Run("NoAuth", func(t *testing.T) {
		start := time.Now()
		c := dialSMTP(t, p.SubmissionAddr)
		ok, mechs := c.Extension("AUTH")
		if !ok || !strings.Contains(mechs, "PLAIN") || !strings.Contains(mechs, "LOGIN") {
			t.Fatalf("AUTH extension %v %q", ok, mechs)
		}
		err := sendOn(c, "alice@mail.test", "bob@remote.test", "unauthenticated")
		if code := smtpCode(err); code < 400 || code > 599 {
			t.Fatalf("unauthenticated mail: %v", err)
		}
		t.Logf("refused in %v: %v", time.Since(start), err)
	})

	t.Run("WrongPassword", func(t *testing.T) {
		// net/smtp ends the session after a failed AUTH (it cancels
		// with "*", which Postfix takes for a non-SMTP command): one
		// session per attempt.
		for _, login := range []struct{ user, password string }{
			{"alice@mail.test", "wrong"},
			{"mallory@mail.test", "secret"},
		} {
			start := time.Now()
			c := dialSMTP(t, p.SubmissionAddr)
			err := c.Auth(smtp.PlainAuth("", login.user, login.password, "127.0.0.1"))
			if smtpCode(err) != 535 {
				t.Fatalf("%s with password %q: %v", login.user, login.password, err)
			}
			t.Logf("%s with password %q refused in %v: %v", login.user, login.password, time.Since(start), err)
		}
		start := time.Now()
		c := dialSMTP(t, p.SubmissionAddr)
		if err := c.Auth(smtp.PlainAuth("", "alice@mail.test", "secret", "127.0.0.1")); err != nil {
			t.Fatalf("login after failed ones: %v", err)
		}
		t.Logf("then the right password accepted in %v", time.Since(start))
	})

	t.Run("Deliver", func(t *testing.T) {
		start := time.Now()
		c := dialSMTP(t, p.SubmissionAddr)
		if err := c.Auth(smtp.PlainAuth("", "alice@mail.test", "secret", "127.0.0.1")); err != nil {
			t.Fatal(err)
		}
		if err := sendOn(c, "alice@mail.test", "bob@remote.test", "plain auth"); err != nil {
			t.Fatal(err)
		}
		if err := c.Quit(); err != nil {
			t.Fatal(err)
		}
		raw := d.WaitMail(t, "bob@remote.test", hasSubject("plain auth"), 20*time.Second)
		t.Logf("AUTH PLAIN, sent and delivered in %v", time.Since(start))
		for _, want := range []string{"Return-Path: <alice@mail.test>", "Delivered-To: bob@remote.test", "(Authenticated sender: alice@mail.test)"} {
			if !bytes.Contains(raw, []byte(want)) {
				t.Errorf("no %q in\n%s", want, raw)
			}
		}

		// AUTH LOGIN, as bob, to alice.
		start = time.Now()
		c = dialSMTP(t, p.SubmissionAddr)
		if err := c.Auth(loginAuth{"bob@remote.test", "pw"}); err != nil {
			t.Fatal(err)
		}
		if err := sendOn(c, "bob@remote.test", "alice@mail.test", "login auth"); err != nil {
			t.Fatal(err)
		}
		d.WaitMail(t, "alice@mail.test", hasSubject("login auth"), 20*time.Second)
		t.Logf("AUTH LOGIN, sent and delivered in %v", time.Since(start))

		// The unauthenticated message of NoAuth never arrived: it was
		// refused at RCPT, so never queued.
		if n := len(d.Mails("bob@remote.test")); n != 1 {
			t.Errorf("bob has %d messages, want 1", n)
		}
		if !strings.Contains(p.Log(), "NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 554 5.7.1 <localhost[127.0.0.1]>: Client host rejected") {
			t.Errorf("the unauthenticated RCPT is not in the log:\n%s", p.Log())
		}
		if !strings.Contains(p.Log(), "sasl_username=alice@mail.test") {
			t.Errorf("no sasl_username in the log:\n%s", p.Log())
		}
	})

	t.Run("UnknownUser", func(t *testing.T) {
		c := dialSMTP(t, p.SubmissionAddr)
		if err := c.Auth(smtp.PlainAuth("", "alice@mail.test", "secret", "127.0.0.1")); err != nil {
			t.Fatal(err)
		}
		err := sendOn(c, "alice@mail.test", "nobody@remote.test", "nobody")
		if smtpCode(err) != 550 || !strings.Contains(err.Error(), "5.1.1") {
			t.Fatalf("unknown user: %v", err)
		}
		t.Log(err)
	})

	t.Run("UnroutedDomain", func(t *testing.T) {
		start := time.Now()
		c := dialSMTP(t, p.SubmissionAddr)
		if err := c.Auth(smtp.PlainAuth("", "alice@mail.test", "secret", "127.0.0.1")); err != nil {
			t.Fatal(err)
		}
		err := sendOn(c, "alice@mail.test", "someone@elsewhere.example", "elsewhere")
		if code := smtpCode(err); code < 500 || code > 599 {
			t.Fatalf("unrouted domain: %v", err)
		}
		t.Logf("refused in %v: %v", time.Since(start), err)
	})

	t.Run("Sink", func(t *testing.T) {
		start := time.Now()
		c := dialSMTP(t, p.SubmissionAddr)
		if err := c.Auth(smtp.PlainAuth("", "alice@mail.test", "secret", "127.0.0.1")); err != nil {
			t.Fatal(err)
		}
		if err := sendOn(c, "alice@mail.test", "carol@sink.example", "to sink"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-sink.got:
		case <-time.After(20 * time.Second):
			t.Fatal("no mail at the sink")
		}
		t.Logf("relayed to the sink in %v", time.Since(start))
	})

	t.Run("PlainPortHasNoAuth", func(t *testing.T) {
		c := dialSMTP(t, p.SMTPAddr)
		if ok, _ := c.Extension("AUTH"); ok {
			t.Fatal("the plain smtpd offers AUTH")
		}
	})
}

// TestPostfixSubmissionDovecotDown checks what a client sees while Dovecot,
// and so the auth server, is stopped, and that the submission port works
// again once Dovecot is back.
func TestPostfixSubmissionDovecotDown(t *testing.T) {
	t.Parallel()
	d := StartDovecot(t, map[string]string{"alice@mail.test": "secret"})
	p := StartPostfix(t, PostfixOptions{
		Domains:    map[string]string{"mail.test": "dovecot"},
		Dovecot:    d,
		Submission: true,
	})
	// An smtpd that has talked to the auth server before, and stays for
	// the next connection.
	c := dialSMTP(t, p.SubmissionAddr)
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	d.Stop(t)

	// An smtpd that was connected to the auth server greets and answers
	// AUTH with 454 4.7.0; a new one cannot start its SASL and exits,
	// closing the connection before the greeting after about a second
	// (Postfix pauses before a fatal exit). Which one takes a connection
	// is up to Postfix: either way there is no AUTH, and no hang.
	for range 2 {
		start := time.Now()
		nc, err := net.DialTimeout("tcp", p.SubmissionAddr, submissionTimeout)
		if err != nil {
			t.Fatal(err)
		}
		_ = nc.SetDeadline(time.Now().Add(submissionTimeout))
		c, err := smtp.NewClient(nc, "127.0.0.1")
		if err != nil {
			nc.Close()
			t.Logf("without dovecot: no greeting (%v) after %v", err, time.Since(start))
			continue
		}
		err = c.Auth(smtp.PlainAuth("", "alice@mail.test", "secret", "127.0.0.1"))
		c.Close()
		if err == nil {
			t.Fatal("AUTH succeeded without dovecot")
		}
		if code := smtpCode(err); code != 0 && code != 454 {
			t.Fatalf("AUTH without dovecot: %v", err)
		}
		t.Logf("without dovecot: AUTH refused (%v) after %v", err, time.Since(start))
	}

	d.Start(t)
	start := time.Now()
	// The first connection may wait out the throttle of a service whose
	// smtpd exited at start-up (service_throttle_time).
	c = dialSMTP(t, p.SubmissionAddr)
	if err := c.Auth(smtp.PlainAuth("", "alice@mail.test", "secret", "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if err := sendOn(c, "alice@mail.test", "alice@mail.test", "after restart"); err != nil {
		t.Fatal(err)
	}
	d.WaitMail(t, "alice@mail.test", hasSubject("after restart"), 20*time.Second)
	t.Logf("after dovecot's restart: logged in, sent and delivered in %v", time.Since(start))
}

// fatalTB records the first Fatalf and ends the goroutine, as the testing
// package does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestDovecotMails(t *testing.T) {
	t.Parallel()
	d := StartDovecot(t, map[string]string{"carol": "pw"})
	if got := d.Mails("carol"); got != nil {
		t.Fatalf("before any delivery: %q", got)
	}
	if got := d.Mails("nobody"); got != nil {
		t.Fatalf("no such user: %q", got)
	}
	d.Deliver(t, "carol", []byte("Subject: one\r\n\r\nfirst\r\n"))
	d.Deliver(t, "carol", []byte("Subject: two\r\n\r\nsecond\r\n"))
	raw := d.WaitMail(t, "carol", hasSubject("two"), 5*time.Second)
	if !bytes.Contains(raw, []byte("second")) {
		t.Fatalf("WaitMail returned %q", raw)
	}

	// SELECT moves the messages to cur/, STORE renames one with its
	// flags: Mails still sees each once, oldest first.
	m := dialIMAP(t, d.IMAPAddr)
	m.cmd("LOGIN carol pw")
	if u, _ := m.cmd("SELECT INBOX"); imapExists(t, u) != 2 {
		t.Fatalf("SELECT: %q", u)
	}
	if _, st := m.cmd("STORE 1 +FLAGS (\\Seen)"); !strings.HasPrefix(st, "OK") {
		t.Fatalf("STORE: %q", st)
	}
	got := d.Mails("carol")
	if len(got) != 2 || !bytes.Contains(got[0], []byte("first")) || !bytes.Contains(got[1], []byte("second")) {
		t.Fatalf("Mails after SELECT and STORE: %q", got)
	}

	// On timeout WaitMail fails the test with a listing of the INBOX.
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		d.WaitMail(f, "carol", hasSubject("three"), 100*time.Millisecond)
	}()
	<-done
	if !strings.Contains(f.msg, "holds 2 messages") || !strings.Contains(f.msg, "Subject: one") || !strings.Contains(f.msg, "Subject: two") {
		t.Fatalf("WaitMail's failure after %v: %q", time.Since(start), f.msg)
	}
	t.Logf("WaitMail's failure after %v:\n%s", time.Since(start), f.msg)
}

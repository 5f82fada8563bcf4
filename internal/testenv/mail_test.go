package testenv

import (
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// imapConn is a tiny IMAP client: enough to log in and select a mailbox.
type imapConn struct {
	t   *testing.T
	nc  net.Conn
	c   *textproto.Conn
	tag int
}

func dialIMAP(t *testing.T, addr string) *imapConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := textproto.NewConn(nc)
	t.Cleanup(func() { c.Close() })
	line, err := c.ReadLine()
	if err != nil || !strings.HasPrefix(line, "* OK") {
		t.Fatalf("IMAP greeting %q, %v", line, err)
	}
	return &imapConn{t: t, nc: nc, c: c}
}

// cmd sends a command and returns the untagged lines and the tagged status
// line.
func (m *imapConn) cmd(format string, args ...any) (untagged []string, status string) {
	m.t.Helper()
	m.tag++
	tag := "a" + strconv.Itoa(m.tag)
	if err := m.c.PrintfLine(tag+" "+format, args...); err != nil {
		m.t.Fatal(err)
	}
	for {
		line, err := m.c.ReadLine()
		if err != nil {
			m.t.Fatalf("IMAP: %v", err)
		}
		if rest, ok := strings.CutPrefix(line, tag+" "); ok {
			return untagged, rest
		}
		untagged = append(untagged, line)
	}
}

func imapExists(t *testing.T, untagged []string) int {
	t.Helper()
	for _, l := range untagged {
		var n int
		if _, err := fmt.Sscanf(l, "* %d EXISTS", &n); err == nil {
			return n
		}
	}
	t.Fatalf("no EXISTS in %q", untagged)
	return 0
}

func TestDovecot(t *testing.T) {
	start := time.Now()
	d := StartDovecot(t, map[string]string{"alice@mail.test": "secret", "bob": "hunter2"})
	t.Logf("dovecot ready in %v", time.Since(start))

	m := dialIMAP(t, d.IMAPAddr)
	if _, st := m.cmd("LOGIN alice@mail.test wrong"); !strings.HasPrefix(st, "NO") {
		t.Fatalf("wrong password: %q", st)
	}
	if _, st := m.cmd("LOGIN alice@mail.test secret"); !strings.HasPrefix(st, "OK") {
		t.Fatalf("login: %q", st)
	}
	u, st := m.cmd("SELECT INBOX")
	if !strings.HasPrefix(st, "OK") || imapExists(t, u) != 0 {
		t.Fatalf("SELECT: %q %q", u, st)
	}
	d.Deliver(t, "alice@mail.test", []byte("From: x@y.test\r\nSubject: hi\r\n\r\nhello\r\n"))
	d.Deliver(t, "alice@mail.test", []byte("From: x@y.test\r\nSubject: hi again\r\n\r\nhello\r\n"))
	// NOOP makes Dovecot look at the maildir again.
	if u, _ := m.cmd("NOOP"); imapExists(t, u) != 2 {
		t.Fatalf("NOOP after two deliveries: %q", u)
	}

	// A plain user name, and a restart on the same port keeping the mail.
	d.Deliver(t, "bob", []byte("Subject: one\r\n\r\nbody\r\n"))
	m.cmd("LOGOUT")
	start = time.Now()
	d.Stop(t)
	t.Logf("dovecot stopped in %v", time.Since(start))
	start = time.Now()
	d.Start(t)
	t.Logf("dovecot restarted in %v", time.Since(start))
	m = dialIMAP(t, d.IMAPAddr)
	if _, st := m.cmd("LOGIN bob hunter2"); !strings.HasPrefix(st, "OK") {
		t.Fatalf("login: %q", st)
	}
	if u, _ := m.cmd("EXAMINE INBOX"); imapExists(t, u) != 1 {
		t.Fatalf("EXAMINE: %q", u)
	}
}

func TestDovecotIdle(t *testing.T) {
	d := StartDovecot(t, map[string]string{"carol": "pw"})
	m := dialIMAP(t, d.IMAPAddr)
	m.cmd("LOGIN carol pw")
	if u, _ := m.cmd("SELECT INBOX"); imapExists(t, u) != 0 {
		t.Fatalf("SELECT: %q", u)
	}
	if err := m.c.PrintfLine("i IDLE"); err != nil {
		t.Fatal(err)
	}
	if line, err := m.c.ReadLine(); err != nil || !strings.HasPrefix(line, "+") {
		t.Fatalf("IDLE: %q %v", line, err)
	}
	d.Deliver(t, "carol", []byte("Subject: idle\r\n\r\nbody\r\n"))
	_ = m.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		line, err := m.c.ReadLine()
		if err != nil {
			t.Fatalf("IDLE did not report the delivery: %v", err)
		}
		if line == "* 1 EXISTS" {
			break
		}
	}
	_ = m.c.PrintfLine("DONE")
}

// smtpSink is a minimal SMTP server that keeps the messages it receives.
type smtpSink struct {
	l    net.Listener
	mu   sync.Mutex
	msgs []string // "RCPT TO:<...>\n" lines then the data
	got  chan struct{}
}

func startSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{l: l, got: make(chan struct{}, 16)}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpSink) serve(nc net.Conn) {
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	c := textproto.NewConn(nc)
	_ = c.PrintfLine("220 sink.test ESMTP")
	var rcpts []string
	for {
		line, err := c.ReadLine()
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch verb {
		case "EHLO", "HELO":
			_ = c.PrintfLine("250 sink.test")
		case "MAIL", "RSET", "NOOP":
			_ = c.PrintfLine("250 ok")
		case "RCPT":
			rcpts = append(rcpts, line)
			_ = c.PrintfLine("250 ok")
		case "DATA":
			_ = c.PrintfLine("354 go ahead")
			data, err := c.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, strings.Join(rcpts, "\n")+"\n"+string(data))
			s.mu.Unlock()
			rcpts = nil
			_ = c.PrintfLine("250 queued")
			s.got <- struct{}{}
		case "QUIT":
			_ = c.PrintfLine("221 bye")
			return
		default:
			_ = c.PrintfLine("502 not implemented")
		}
	}
}

func sendMail(addr, from, to, subject string) error {
	msg := "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\n\r\nbody of " + subject + "\r\n"
	return smtp.SendMail(addr, nil, from, []string{to}, []byte(msg))
}

func TestPostfix(t *testing.T) {
	d := StartDovecot(t, map[string]string{"alice@mail.test": "secret", "bob": "pw"})
	sink := startSMTPSink(t)
	start := time.Now()
	p := StartPostfix(t, PostfixOptions{
		Domains: map[string]string{
			"mail.test":    "dovecot",
			"other.test":   "dovecot",
			"sink.example": "smtp:[127.0.0.1]:" + strconv.Itoa(sink.l.Addr().(*net.TCPAddr).Port),
		},
		Dovecot: d,
	})
	t.Logf("postfix ready in %v", time.Since(start))

	// Into Dovecot's maildirs.
	start = time.Now()
	if err := sendMail(p.SMTPAddr, "sender@client.test", "alice@mail.test", "to alice"); err != nil {
		t.Fatal(err)
	}
	if err := sendMail(p.SMTPAddr, "sender@client.test", "bob@other.test", "to bob"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice@mail.test", "bob"} {
		waitMaildir(t, d.Maildir(u), 1)
	}
	t.Logf("delivered to dovecot in %v", time.Since(start))
	m := dialIMAP(t, d.IMAPAddr)
	m.cmd("LOGIN alice@mail.test secret")
	if u, _ := m.cmd("EXAMINE INBOX"); imapExists(t, u) != 1 {
		t.Fatalf("EXAMINE: %q", u)
	}

	// To the Go SMTP sink.
	start = time.Now()
	if err := sendMail(p.SMTPAddr, "sender@client.test", "someone@sink.example", "to sink"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sink.got:
	case <-time.After(20 * time.Second):
		t.Fatal("no mail at the sink")
	}
	t.Logf("relayed to the sink in %v", time.Since(start))
	sink.mu.Lock()
	got := sink.msgs[0]
	sink.mu.Unlock()
	if !strings.Contains(got, "someone@sink.example") || !strings.Contains(got, "Subject: to sink") {
		t.Fatalf("sink got %q", got)
	}

	// An unknown domain, and an unknown user in a Dovecot domain, are
	// refused at RCPT.
	err := sendMail(p.SMTPAddr, "sender@client.test", "x@unknown.example", "nowhere")
	if err == nil || !strings.Contains(err.Error(), "Relay access denied") {
		t.Fatalf("unknown domain: %v", err)
	}
	err = sendMail(p.SMTPAddr, "sender@client.test", "nobody@mail.test", "nobody")
	if err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("unknown user: %v", err)
	}
	log := p.Log()
	if !strings.Contains(log, "NOQUEUE: reject") || !strings.Contains(log, "x@unknown.example") {
		t.Fatalf("no rejection in the log:\n%s", log)
	}
}

func waitMaildir(t *testing.T, maildir string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		fresh, _ := os.ReadDir(filepath.Join(maildir, "new"))
		cur, _ := os.ReadDir(filepath.Join(maildir, "cur"))
		if len(fresh)+len(cur) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d messages, want %d", maildir, len(fresh)+len(cur), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

package submit

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ferry-xmpp/ferry/bridges/email/compose"
)

const password = "s3cret-Pa55"

// testMsg builds a message with compose, with a line that needs
// dot-stuffing.
func testMsg(t *testing.T) []byte {
	t.Helper()
	raw, err := compose.Build(compose.Mail{
		From:      compose.Address{Name: "Alice", Addr: "alice@example.org"},
		To:        []compose.Address{{Addr: "bob@remote.test"}, {Addr: "carol@remote.test"}},
		Subject:   "Grüße",
		MessageID: compose.NewMessageID("s1", "alice@xmpp.test", "example.org"),
		Body:      "Hi\n.\n..\nbye",
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func plainServer(addr string) Server {
	return Server{Addr: addr, Security: Plain, Username: "alice", Password: password, Timeout: 10 * time.Second}
}

func TestSend(t *testing.T) {
	b := &backend{users: map[string]string{"alice": password}}
	s := plainServer(testServer(t, b, modePlain, nil))
	s.HeloName = "gw.example.org"
	msg := testMsg(t)
	if err := Send(context.Background(), s, "alice@example.org", []string{"bob@remote.test", "carol@remote.test"}, msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := b.messages()
	if len(got) != 1 {
		t.Fatalf("%d messages received", len(got))
	}
	m := got[0]
	if m.from != "alice@example.org" || strings.Join(m.to, ",") != "bob@remote.test,carol@remote.test" {
		t.Errorf("envelope %q → %q", m.from, m.to)
	}
	if !bytes.Equal(m.data, msg) {
		t.Errorf("data\n%q\nwant\n%q", m.data, msg)
	}
	if m.user != "alice" || m.helo != "gw.example.org" || m.tls {
		t.Errorf("user %q, helo %q, tls %v", m.user, m.helo, m.tls)
	}
	if m.opts.UTF8 {
		t.Errorf("SMTPUTF8 used for an ASCII message")
	}
	if m.opts.Size != int64(len(msg)) {
		t.Errorf("SIZE=%d, want %d", m.opts.Size, len(msg))
	}
}

func TestSendWithoutAuth(t *testing.T) {
	b := &backend{}
	s := Server{Addr: testServer(t, b, modePlain, nil), Security: Plain}
	if err := Send(context.Background(), s, "alice@example.org", []string{"bob@remote.test"}, testMsg(t)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := b.messages(); len(got) != 1 || got[0].user != "" || got[0].helo != "localhost" {
		t.Errorf("received %+v", got)
	}
}

func TestSendIDNAndUTF8(t *testing.T) {
	t.Run("A-labels need no SMTPUTF8", func(t *testing.T) {
		b := &backend{}
		s := Server{Addr: testServer(t, b, modePlain, nil), Security: Plain}
		if err := Send(context.Background(), s, "alice@example.org", []string{"info@Bücher.example"}, testMsg(t)); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if got := b.messages(); len(got) != 1 || got[0].to[0] != "info@xn--bcher-kva.example" || got[0].opts.UTF8 {
			t.Errorf("received %+v", got)
		}
	})
	t.Run("not offered", func(t *testing.T) {
		b := &backend{}
		s := Server{Addr: testServer(t, b, modePlain, nil), Security: Plain}
		e := asError(t, Send(context.Background(), s, "alice@example.org", []string{"jürgen@remote.test"}, testMsg(t)))
		if !e.Permanent || !strings.Contains(e.Text, "SMTPUTF8") {
			t.Errorf("%+v", e)
		}
		if len(b.messages()) != 0 {
			t.Errorf("message delivered")
		}
	})
	t.Run("offered", func(t *testing.T) {
		b := &backend{}
		s := Server{Addr: testServer(t, b, modePlain, func(srv *smtp.Server) { srv.EnableSMTPUTF8 = true }), Security: Plain}
		if err := Send(context.Background(), s, "alice@example.org", []string{"jürgen@remote.test"}, testMsg(t)); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if got := b.messages(); len(got) != 1 || got[0].to[0] != "jürgen@remote.test" || !got[0].opts.UTF8 {
			t.Errorf("received %+v", got)
		}
	})
}

func TestAuthRefused(t *testing.T) {
	b := &backend{users: map[string]string{"alice": "other"}}
	s := plainServer(testServer(t, b, modePlain, nil))
	for name, run := range map[string]func() error{
		"Send": func() error {
			return Send(context.Background(), s, "alice@example.org", []string{"bob@remote.test"}, testMsg(t))
		},
		"Check": func() error { return Check(context.Background(), s) },
	} {
		t.Run(name, func(t *testing.T) {
			e := asError(t, run())
			if !e.Auth || !e.Permanent {
				t.Errorf("Auth %v, Permanent %v, want both", e.Auth, e.Permanent)
			}
			if !strings.Contains(e.Text, "535 5.7.8 Authentication failed") {
				t.Errorf("text %q lacks the server reply", e.Text)
			}
			if strings.Contains(e.Text, password) {
				t.Errorf("text %q contains the password", e.Text)
			}
			var se *smtp.SMTPError
			if !errors.As(e, &se) || se.Code != 535 {
				t.Errorf("cause %v", e.Cause)
			}
		})
	}
	if len(b.messages()) != 0 {
		t.Errorf("message delivered")
	}
}

func TestAuthTemporaryFailure(t *testing.T) {
	b := &backend{users: map[string]string{"alice": password},
		authErr: &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Temporary authentication failure"}}
	e := asError(t, Check(context.Background(), plainServer(testServer(t, b, modePlain, nil))))
	if !e.Auth || e.Permanent || !strings.Contains(e.Text, "454 4.7.0 Temporary authentication failure") {
		t.Errorf("%+v", e)
	}
}

func TestPasswordNeverInText(t *testing.T) {
	// A server that echoes the password back.
	b := &backend{users: map[string]string{"alice": password},
		authErr: &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "wrong password " + password + " for alice"}}
	e := asError(t, Check(context.Background(), plainServer(testServer(t, b, modePlain, nil))))
	if strings.Contains(e.Text, password) || !strings.Contains(e.Text, "wrong password") {
		t.Errorf("text %q", e.Text)
	}
}

func TestAuthNotOffered(t *testing.T) {
	b := &backend{} // no AUTH
	e := asError(t, Check(context.Background(), plainServer(testServer(t, b, modePlain, nil))))
	if !e.Permanent || e.Auth || !strings.Contains(e.Text, "does not offer authentication") {
		t.Errorf("%+v", e)
	}
}

func TestCheck(t *testing.T) {
	b := &backend{users: map[string]string{"alice": password}}
	if err := Check(context.Background(), plainServer(testServer(t, b, modePlain, nil))); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if b.authCount() != 1 || len(b.messages()) != 0 {
		t.Errorf("auths %d, messages %d", b.authCount(), len(b.messages()))
	}
}

func TestRcptRejected(t *testing.T) {
	const reply = "<nobody@remote.test>: Recipient address rejected: User unknown in virtual mailbox table"
	b := &backend{users: map[string]string{"alice": password}, rcptErrs: map[string]error{
		"nobody@remote.test": &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: reply},
	}}
	s := plainServer(testServer(t, b, modePlain, nil))
	e := asError(t, Send(context.Background(), s, "alice@example.org", []string{"bob@remote.test", "nobody@remote.test"}, testMsg(t)))
	if !e.Permanent || e.Auth || e.Recipient != "nobody@remote.test" {
		t.Errorf("Permanent %v, Auth %v, Recipient %q", e.Permanent, e.Auth, e.Recipient)
	}
	if !strings.Contains(e.Text, "550 5.1.1 "+reply) {
		t.Errorf("text %q lacks the server reply", e.Text)
	}
	if len(b.messages()) != 0 {
		t.Errorf("message delivered to the other recipient")
	}
}

func TestTemporaryFailures(t *testing.T) {
	tempErr := &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	tests := []struct {
		name string
		b    *backend
		rcpt string
	}{
		{"MAIL", &backend{mailErr: tempErr}, ""},
		{"RCPT", &backend{rcptErrs: map[string]error{"bob@remote.test": tempErr}}, "bob@remote.test"},
		{"DATA", &backend{dataErr: tempErr}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Server{Addr: testServer(t, tt.b, modePlain, nil), Security: Plain}
			e := asError(t, Send(context.Background(), s, "alice@example.org", []string{"bob@remote.test"}, testMsg(t)))
			if e.Permanent || e.Auth || e.Recipient != tt.rcpt {
				t.Errorf("%+v", e)
			}
			if !strings.Contains(e.Text, "451 4.3.0 Try again later") {
				t.Errorf("text %q lacks the server reply", e.Text)
			}
		})
	}
}

func TestPermanentDataFailure(t *testing.T) {
	b := &backend{dataErr: &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Spam\nmulti-line"}}
	s := Server{Addr: testServer(t, b, modePlain, nil), Security: Plain}
	e := asError(t, Send(context.Background(), s, "alice@example.org", []string{"bob@remote.test"}, testMsg(t)))
	if !e.Permanent || e.Recipient != "" || !strings.HasPrefix(e.Text, "the message was refused by "+s.Addr+": 554 ") || !strings.Contains(e.Text, "Spam") || !strings.Contains(e.Text, "multi-line") || strings.ContainsAny(e.Text, "\r\n") {
		t.Errorf("%+v", e)
	}
}

func TestMessageTooLarge(t *testing.T) {
	b := &backend{}
	s := Server{Addr: testServer(t, b, modePlain, func(srv *smtp.Server) { srv.MaxMessageBytes = 100 }), Security: Plain}
	e := asError(t, Send(context.Background(), s, "alice@example.org", []string{"bob@remote.test"}, testMsg(t)))
	if !e.Permanent || !strings.Contains(e.Text, "too large") {
		t.Errorf("%+v", e)
	}
}

func TestConnectionRefused(t *testing.T) {
	addr := closedAddr(t)
	for name, run := range map[string]func() error{
		"Send": func() error {
			return Send(context.Background(), plainServer(addr), "alice@example.org", []string{"bob@remote.test"}, []byte("x"))
		},
		"Check": func() error { return Check(context.Background(), plainServer(addr)) },
	} {
		t.Run(name, func(t *testing.T) {
			e := asError(t, run())
			if e.Permanent || e.Auth {
				t.Errorf("Permanent %v, Auth %v", e.Permanent, e.Auth)
			}
			if want := "cannot connect to " + addr + ": connection refused"; e.Text != want {
				t.Errorf("text %q, want %q", e.Text, want)
			}
		})
	}
}

func TestStartTLSNotOffered(t *testing.T) {
	b := &backend{users: map[string]string{"alice": password}}
	s := plainServer(testServer(t, b, modePlain, nil))
	s.Security = StartTLS
	for name, run := range map[string]func() error{
		"Send": func() error {
			return Send(context.Background(), s, "alice@example.org", []string{"bob@remote.test"}, testMsg(t))
		},
		"Check": func() error { return Check(context.Background(), s) },
	} {
		t.Run(name, func(t *testing.T) {
			e := asError(t, run())
			if !e.Permanent || !strings.Contains(e.Text, "does not offer STARTTLS") {
				t.Errorf("%+v", e)
			}
		})
	}
	if b.authCount() != 0 || len(b.messages()) != 0 {
		t.Errorf("auths %d, messages %d: sent without TLS", b.authCount(), len(b.messages()))
	}
}

func TestTLS(t *testing.T) {
	for _, tt := range []struct {
		name string
		mode mode
		sec  Security
	}{
		{"implicit", modeTLS, TLS},
		{"starttls", modeStartTLS, StartTLS},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := &backend{users: map[string]string{"alice": password}}
			s := plainServer(testServer(t, b, tt.mode, nil))
			s.Security = tt.sec
			s.HeloName = "gw.example.org"
			s.TLSConfig = testCert(t).client
			msg := testMsg(t)
			if err := Check(context.Background(), s); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if err := Send(context.Background(), s, "alice@example.org", []string{"bob@remote.test"}, msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := b.messages()
			if len(got) != 1 || !got[0].tls || got[0].user != "alice" || got[0].helo != "gw.example.org" || !bytes.Equal(got[0].data, msg) {
				t.Errorf("received %+v", got)
			}
			if s.TLSConfig.ServerName != "" {
				t.Errorf("caller's TLSConfig changed")
			}

			// The same server without trusting its certificate.
			s.TLSConfig = nil
			e := asError(t, Send(context.Background(), s, "alice@example.org", []string{"bob@remote.test"}, msg))
			if !e.Permanent || !strings.Contains(e.Text, "TLS with "+s.Addr+" failed: the server's certificate is not signed by an authority this gateway trusts") || strings.Contains(e.Text, "x509") {
				t.Errorf("untrusted: %+v", e)
			}
			if len(b.messages()) != 1 || b.authCount() != 2 {
				t.Errorf("untrusted server got %d messages, %d logins", len(b.messages()), b.authCount())
			}

			// Trusted, but for another name.
			s.TLSConfig = testCert(t).client
			s.TLSConfig.ServerName = "smtp.example.org"
			e = asError(t, Check(context.Background(), s))
			if !e.Permanent || !strings.Contains(e.Text, "not valid for smtp.example.org") {
				t.Errorf("wrong name: %+v", e)
			}
		})
	}
}

func TestContextCancelWhileServerStalls(t *testing.T) {
	t.Run("greeting", func(t *testing.T) {
		addr, accepted := stallListener(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-accepted
			cancel()
		}()
		s := plainServer(addr)
		s.Timeout = time.Minute
		start := time.Now()
		e := asError(t, Send(ctx, s, "alice@example.org", []string{"bob@remote.test"}, testMsg(t)))
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("took %v", d)
		}
		if e.Permanent || !errors.Is(e, context.Canceled) || !strings.Contains(e.Text, "stopped") {
			t.Errorf("%+v", e)
		}
	})
	t.Run("data", func(t *testing.T) {
		b := &backend{dataStarted: make(chan struct{}), release: make(chan struct{})}
		s := Server{Addr: testServer(t, b, modePlain, nil), Security: Plain, Timeout: time.Minute}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-b.dataStarted
			cancel()
		}()
		start := time.Now()
		e := asError(t, Send(ctx, s, "alice@example.org", []string{"bob@remote.test"}, testMsg(t)))
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("took %v", d)
		}
		if e.Permanent || !errors.Is(e, context.Canceled) {
			t.Errorf("%+v", e)
		}
	})
	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		e := asError(t, Check(ctx, plainServer(closedAddr(t))))
		if e.Permanent || !errors.Is(e, context.Canceled) {
			t.Errorf("%+v", e)
		}
	})
}

func TestTimeout(t *testing.T) {
	addr, _ := stallListener(t)
	for _, sec := range []Security{Plain, StartTLS, TLS} {
		t.Run(string(sec), func(t *testing.T) {
			s := Server{Addr: addr, Security: sec, Timeout: 200 * time.Millisecond}
			start := time.Now()
			e := asError(t, Check(context.Background(), s))
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %v", d)
			}
			if e.Permanent || !strings.Contains(e.Text, "timed out") || !strings.Contains(e.Text, addr) {
				t.Errorf("%+v", e)
			}
		})
	}
}

func TestInvalidInput(t *testing.T) {
	addr := closedAddr(t)
	ctx := context.Background()
	tests := []struct {
		name string
		err  error
	}{
		{"sender with CRLF", Send(ctx, plainServer(addr), "alice@example.org\r\nRCPT TO:<x@y.org>", []string{"bob@remote.test"}, []byte("x"))},
		{"recipient with CRLF", Send(ctx, plainServer(addr), "alice@example.org", []string{"bob@remote.test>\r\nDATA"}, []byte("x"))},
		{"empty sender", Send(ctx, plainServer(addr), "", []string{"bob@remote.test"}, []byte("x"))},
		{"no recipients", Send(ctx, plainServer(addr), "alice@example.org", nil, []byte("x"))},
		{"empty message", Send(ctx, plainServer(addr), "alice@example.org", []string{"bob@remote.test"}, nil)},
		{"no port", Check(ctx, Server{Addr: "smtp.example.org", Security: Plain})},
		{"unknown security", Check(ctx, Server{Addr: addr, Security: "ssl"})},
		{"bad helo", Check(ctx, Server{Addr: addr, Security: Plain, HeloName: "x\r\nMAIL FROM:<>"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := asError(t, tt.err)
			if !e.Permanent || strings.Contains(e.Text, "cannot connect") {
				t.Errorf("%+v", e)
			}
		})
	}
}

func TestErrorUnwrap(t *testing.T) {
	cause := errors.New("cause")
	e := &Error{Text: "text", Cause: cause}
	if e.Error() != "text" || !errors.Is(e, cause) {
		t.Errorf("%v", e)
	}
}

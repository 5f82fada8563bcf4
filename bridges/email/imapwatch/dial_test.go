package imapwatch

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	e := startMem(t)
	ctx := context.Background()
	if err := Check(ctx, e.server()); err != nil {
		t.Errorf("Check with the right password: %v", err)
	}

	s := e.server()
	s.Password = "hunter2-wrong"
	err := Check(ctx, s)
	var ae *Error
	if !errors.As(err, &ae) || !ae.Auth {
		t.Fatalf("Check with a wrong password: %#v, want *Error with Auth", err)
	}
	if want := "login refused by 127.0.0.1: [AUTHENTICATIONFAILED] Authentication failed"; ae.Text != want || err.Error() != want {
		t.Errorf("Text %q, want %q", ae.Text, want)
	}

	s = e.server()
	s.Username = "nobody"
	if err := Check(ctx, s); !errors.As(err, &ae) || !ae.Auth {
		t.Errorf("Check with an unknown user: %v, want Auth", err)
	}
}

func TestCheckCannotConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	err = Check(context.Background(), Server{Addr: addr, Security: Plain, Username: testUser, Password: testPass})
	var e *Error
	if !errors.As(err, &e) || e.Auth || e.Text != "cannot connect to "+addr+": connection refused" {
		t.Errorf("got %#v, want *Error \"cannot connect to %s: connection refused\"", err, addr)
	}
}

func TestDialTimeout(t *testing.T) {
	// Accepts, then never says a word.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conns := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			conns <- c
		}
	}()
	s := Server{Addr: ln.Addr().String(), Security: Plain, Username: testUser, Password: testPass, Timeout: 200 * time.Millisecond}
	start := time.Now()
	_, err = Dial(context.Background(), s, nil)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Dial took %v with Timeout 200ms", d)
	}
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, errTimeout) || e.Text != s.Addr+" did not answer within 200ms" {
		t.Errorf("got %#v, want a timeout *Error", err)
	}
	select {
	case c := <-conns:
		c.Close()
	case <-time.After(waitLong):
		t.Error("no connection accepted")
	}

	// Cancelling ctx stops it too.
	ctx, cancel := context.WithCancel(context.Background())
	s.Timeout = time.Hour
	go func() {
		c, err := ln.Accept()
		if err == nil {
			cancel()
			conns <- c
		}
	}()
	_, err = Dial(ctx, s, nil)
	if !errors.As(err, &e) || !errors.Is(err, context.Canceled) {
		t.Errorf("got %#v, want a cancelled *Error", err)
	}
	(<-conns).Close()
}

func TestDialTLS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	ctx := context.Background()

	t.Run("implicit", func(t *testing.T) {
		e := startMemWith(t, memOptions{tlsConfig: serverTLS, implicit: true})
		s := e.server()
		s.Security, s.TLSConfig = TLS, clientTLS
		if err := Check(ctx, s); err != nil {
			t.Errorf("Check: %v", err)
		}
		// An unknown certificate authority is refused. (An empty pool
		// rather than the system's, which is slow to load under -race.)
		s.TLSConfig = &tls.Config{RootCAs: x509.NewCertPool()}
		err := Check(ctx, s)
		var te *Error
		if !errors.As(err, &te) || te.Auth || !strings.HasPrefix(te.Text, "TLS with "+s.Addr+" failed: ") || !strings.Contains(te.Text, "certificate") {
			t.Errorf("untrusted certificate: %v", err)
		}
	})
	t.Run("starttls", func(t *testing.T) {
		e := startMemWith(t, memOptions{tlsConfig: serverTLS})
		s := e.server()
		s.Security, s.TLSConfig = StartTLS, clientTLS
		if err := Check(ctx, s); err != nil {
			t.Errorf("Check: %v", err)
		}
		r := startRun(t, Config{Server: s, PollInterval: time.Hour}, newMemStore(), nil, hooks{})
		r.idle()
		r.expectUIDs(e.add(t, "over TLS"))
	})
	t.Run("starttls not offered", func(t *testing.T) {
		e := startMemWith(t, memOptions{insecureAuth: true})
		s := e.server()
		s.Security, s.TLSConfig = StartTLS, clientTLS
		err := Check(ctx, s)
		var te *Error
		if !errors.As(err, &te) || te.Auth || !strings.HasPrefix(te.Text, s.Addr+" does not offer STARTTLS") {
			t.Errorf("got %v, want \"does not offer STARTTLS\"", err)
		}
	})
	t.Run("login disabled", func(t *testing.T) {
		// Plain text to a server that only allows logging in over TLS.
		e := startMemWith(t, memOptions{tlsConfig: serverTLS})
		err := Check(ctx, e.server())
		var te *Error
		if !errors.As(err, &te) || !strings.Contains(te.Text, "LOGINDISABLED") {
			t.Errorf("got %v, want LOGINDISABLED", err)
		}
	})
	t.Run("unknown security", func(t *testing.T) {
		s := Server{Addr: "127.0.0.1:1", Security: "ssl"}
		if err := Check(ctx, s); err == nil || !strings.Contains(err.Error(), "unknown connection security") {
			t.Errorf("got %v", err)
		}
	})
}

func TestErrorNeverHoldsPassword(t *testing.T) {
	s := Server{Addr: "imap.example.org:993", Password: "pw"}
	e := newError(s, true, nil, "login refused by %s: %s", s.host(), "[AUTHENTICATIONFAILED] no such password: pw\r\n")
	if strings.Contains(e.Text, "pw") || strings.ContainsAny(e.Text, "\r\n") {
		t.Errorf("Text %q", e.Text)
	}
}

func TestFetch(t *testing.T) {
	e := startMem(t)
	e.add(t, "m1")
	raw := append(rfc822("m2"), bytes.Repeat([]byte("attachment line\r\n"), 10000)...)
	uid := e.addRaw(t, "INBOX", raw)
	v := e.status(t).UIDValidity
	ctx := context.Background()

	got, err := Fetch(ctx, e.server(), "", v, uid)
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("Fetch = %d bytes, %v; want the %d bytes appended", len(got), err, len(raw))
	}
	if n := *e.status(t).NumUnseen; n != 2 {
		t.Errorf("Fetch changed \\Seen: %d unseen, want 2", n)
	}
	for _, tc := range []struct {
		name         string
		validity     uint32
		uid          uint32
		wantNotExist bool
	}{
		{"no such uid", v, 99, true},
		{"uid 0", v, 0, true},
		{"old uidvalidity", v + 1, uid, true},
	} {
		_, err := Fetch(ctx, e.server(), "INBOX", tc.validity, tc.uid)
		var fe *Error
		if !errors.As(err, &fe) || errors.Is(err, fs.ErrNotExist) != tc.wantNotExist || !strings.Contains(fe.Text, "no longer") {
			t.Errorf("%s: got %v", tc.name, err)
		}
	}
	// A folder that does not exist.
	_, err = Fetch(ctx, e.server(), "Archive", v, uid)
	var fe *Error
	if !errors.As(err, &fe) || !strings.Contains(fe.Text, `refused to open the folder "Archive"`) {
		t.Errorf("missing folder: %v", err)
	}
	// A wrong password.
	s := e.server()
	s.Password = "nope"
	if _, err := Fetch(ctx, s, "", v, uid); !errors.As(err, &fe) || !fe.Auth {
		t.Errorf("wrong password: %v", err)
	}
}

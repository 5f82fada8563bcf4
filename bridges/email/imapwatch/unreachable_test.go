package imapwatch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestUnreachable: every way of not reaching an IMAP server is marked
// Unreachable (so the email bridge can give users one text for all), and
// no failure after a server greeted is.
func TestUnreachable(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	plain := startMem(t)
	implicit := startMemWith(t, memOptions{tlsConfig: serverTLS, implicit: true})
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	banner := listen(t, func(c net.Conn) { _, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n")) })
	silent := listen(t, func(c net.Conn) { _, _ = c.Read(make([]byte, 1)) })
	short := 300 * time.Millisecond
	with := func(s Server, f func(*Server)) Server { f(&s); return s }
	tests := []struct {
		name        string
		server      Server
		unreachable bool
	}{
		{"nothing listening", with(plain.server(), func(s *Server) { s.Addr = closedAddr }), true},
		{"refused by the dialer", with(plain.server(), func(s *Server) {
			s.Dialer = &net.Dialer{Control: func(string, string, syscall.RawConn) error { return errors.New("refused by policy") }}
		}), true},
		{"not a mail server", with(plain.server(), func(s *Server) { s.Addr = banner }), true},
		{"silent", with(plain.server(), func(s *Server) { s.Addr, s.Timeout = silent, short }), true},
		{"TLS to a plain server", with(plain.server(), func(s *Server) { s.Security, s.TLSConfig = TLS, clientTLS }), true},
		{"untrusted certificate", with(implicit.server(), func(s *Server) {
			s.Security, s.TLSConfig = TLS, &tls.Config{RootCAs: x509.NewCertPool()}
		}), true},
		{"plain to a TLS server", with(implicit.server(), func(s *Server) { s.Timeout = short }), true},
		{"STARTTLS not offered", with(startMemWith(t, memOptions{insecureAuth: true}).server(), func(s *Server) {
			s.Security, s.TLSConfig = StartTLS, clientTLS
		}), false},
		{"wrong password", with(plain.server(), func(s *Server) { s.Password = "wrong" }), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(context.Background(), tc.server)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if e.Unreachable != tc.unreachable {
				t.Errorf("%q: Unreachable %v, want %v", e.Text, e.Unreachable, tc.unreachable)
			}
		})
	}
}

// listen serves each connection with serve, then closes it.
func listen(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return l.Addr().String()
}

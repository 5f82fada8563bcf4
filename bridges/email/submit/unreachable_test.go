package submit

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

// bannerListener answers every connection with banner and hangs up: a
// service that is not a mail server.
func bannerListener(t *testing.T, banner string) string {
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
			_, _ = c.Write([]byte(banner))
			c.Close()
		}
	}()
	return l.Addr().String()
}

// TestUnreachable: every way of not reaching an SMTP server is marked
// Unreachable (so the email bridge can give users one text for all), and
// no failure after a server greeted is.
func TestUnreachable(t *testing.T) {
	b := &backend{users: map[string]string{"alice": password}}
	plain := testServer(t, b, modePlain, nil)
	tlsAddr := testServer(t, b, modeTLS, nil)
	stall, _ := stallListener(t)
	tests := []struct {
		name        string
		server      Server
		unreachable bool
	}{
		{"nothing listening", plainServer(closedAddr(t)), true},
		{"refused by the dialer", Server{Addr: plain, Security: Plain, Dialer: &net.Dialer{Control: refuseAll}}, true},
		{"not a mail server", plainServer(bannerListener(t, "SSH-2.0-OpenSSH_9.2\r\n")), true},
		{"silent", Server{Addr: stall, Security: Plain, Timeout: 200 * time.Millisecond}, true},
		{"TLS to a plain server", Server{Addr: plain, Security: TLS, TLSConfig: testCert(t).client}, true},
		{"untrusted certificate", Server{Addr: tlsAddr, Security: TLS}, true},
		{"plain to a TLS server", Server{Addr: tlsAddr, Security: Plain, Timeout: 300 * time.Millisecond}, true},
		{"STARTTLS not offered", Server{Addr: plain, Security: StartTLS, TLSConfig: testCert(t).client, Username: "alice", Password: password}, false},
		{"wrong password", Server{Addr: plain, Security: Plain, Username: "alice", Password: "wrong"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := asError(t, Check(context.Background(), tc.server))
			if e.Unreachable != tc.unreachable {
				t.Errorf("%q: Unreachable %v, want %v", e.Text, e.Unreachable, tc.unreachable)
			}
		})
	}
}

func refuseAll(string, string, syscall.RawConn) error { return errors.New("refused by policy") }

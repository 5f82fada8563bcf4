package submit

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// received is one message the test backend accepted.
type received struct {
	helo string
	tls  bool
	user string // logged-in user, if any
	from string
	opts smtp.MailOptions
	to   []string
	data []byte
}

// backend is a go-smtp Backend that records what it gets and fails where
// told to.
type backend struct {
	users    map[string]string // username → password; nil: AUTH not offered
	authErr  error             // returned for every login, if set
	mailErr  error
	rcptErrs map[string]error
	dataErr  error
	// If dataStarted is set, Data closes it and blocks until release is
	// closed.
	dataStarted chan struct{}
	release     chan struct{}

	mu       sync.Mutex
	msgs     []received
	sessions int
	auths    int
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.mu.Lock()
	b.sessions++
	b.mu.Unlock()
	_, isTLS := c.TLSConnectionState()
	s := &testSession{b: b, cur: received{helo: c.Hostname(), tls: isTLS}}
	if b.users == nil {
		return s, nil
	}
	return &authSession{s}, nil
}

func (b *backend) messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

func (b *backend) authCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.auths
}

type testSession struct {
	b   *backend
	cur received
}

func (s *testSession) Reset() {
	s.cur = received{helo: s.cur.helo, tls: s.cur.tls, user: s.cur.user}
}

func (s *testSession) Logout() error { return nil }

func (s *testSession) Mail(from string, opts *smtp.MailOptions) error {
	if s.b.users != nil && s.cur.user == "" {
		return smtp.ErrAuthRequired
	}
	if s.b.mailErr != nil {
		return s.b.mailErr
	}
	s.cur.from = from
	if opts != nil {
		s.cur.opts = *opts
	}
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := s.b.rcptErrs[to]; err != nil {
		return err
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.b.dataStarted != nil {
		close(s.b.dataStarted)
		<-s.b.release
	}
	if s.b.dataErr != nil {
		return s.b.dataErr
	}
	s.cur.data = data
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	return nil
}

type authSession struct{ *testSession }

func (s *authSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *authSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		s.b.mu.Lock()
		s.b.auths++
		s.b.mu.Unlock()
		if s.b.authErr != nil {
			return s.b.authErr
		}
		if want, ok := s.b.users[username]; !ok || want != password || identity != "" && identity != username {
			return smtp.ErrAuthFailed
		}
		s.cur.user = username
		return nil
	}), nil
}

type mode int

const (
	modePlain    mode = iota // no TLS at all
	modeStartTLS             // STARTTLS offered
	modeTLS                  // implicit TLS
)

// testServer runs a go-smtp server for b on 127.0.0.1 until the test ends
// and returns its address. configure, if not nil, may change the server
// before it starts.
func testServer(t *testing.T, b *backend, m mode, configure func(*smtp.Server)) string {
	t.Helper()
	srv := smtp.NewServer(b)
	srv.Domain = "mx.test"
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	if configure != nil {
		configure(srv)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch m {
	case modeStartTLS:
		srv.TLSConfig = testCert(t).server
	case modeTLS:
		l = tls.NewListener(l, testCert(t).server)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		if b.release != nil {
			select {
			case <-b.release:
			default:
				close(b.release)
			}
		}
		_ = srv.Close()
		<-done
	})
	return l.Addr().String()
}

type certs struct {
	server *tls.Config
	client *tls.Config // trusts the server certificate
}

var (
	certOnce sync.Once
	certVal  certs
)

// testCert returns TLS configurations for a self-signed certificate for
// 127.0.0.1 and localhost, made once per test binary (a server and the
// clients that must trust it ask separately).
func testCert(t *testing.T) certs {
	certOnce.Do(func() {
		cert, pool := testenv.SelfSigned(t, "localhost")
		certVal = certs{server: &tls.Config{Certificates: []tls.Certificate{cert}}, client: &tls.Config{RootCAs: pool}}
	})
	return certs{server: certVal.server.Clone(), client: certVal.client.Clone()}
}

// stallListener accepts connections and never says anything. accepted gets
// each connection as it is accepted.
func stallListener(t *testing.T) (addr string, accepted <-chan net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan net.Conn, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			ch <- c
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		close(ch)
		for c := range ch {
			c.Close()
		}
	})
	return l.Addr().String(), ch
}

// closedAddr returns an address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// asError returns err as an *Error or fails the test.
func asError(t *testing.T, err error) *Error {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not an *Error", err, err)
	}
	if e.Error() != e.Text {
		t.Errorf("Error() %q, Text %q", e.Error(), e.Text)
	}
	return e
}

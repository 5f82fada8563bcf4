package imapwatch

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// Deadlines for waiting on the worker. They only bound a broken run.
const (
	waitLong = 20 * time.Second
	testUser = "alice"
	testPass = "secret-pw-1"
)

// memEnv is an in-memory IMAP server on a loopback port.
type memEnv struct {
	addr string
	user *imapmemserver.User
}

type memOptions struct {
	tlsConfig    *tls.Config // for STARTTLS, and implicit TLS if implicit
	implicit     bool
	insecureAuth bool
	silentIdle   bool // IDLE never reports anything
}

func startMem(t *testing.T) *memEnv {
	return startMemWith(t, memOptions{insecureAuth: true})
}

func startMemWith(t *testing.T, o memOptions) *memEnv {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(testUser, testPass)
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return idleSession{Session: mem.NewSession(), silent: o.silentIdle}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		Logger:       log.New(io.Discard, "", 0),
		InsecureAuth: o.insecureAuth,
		TLSConfig:    o.tlsConfig,
	})
	var ln net.Listener
	var err error
	if o.implicit {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", o.tlsConfig)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return &memEnv{addr: ln.Addr().String(), user: user}
}

// idleSession replaces the in-memory server's IDLE, which loses updates: it
// answers "+ idling" before it starts listening for them, and does not look
// at what was queued in between, so mail appended right after the
// continuation was reported only at the next command. This one writes
// whatever is pending every few milliseconds, as a server watching its mail
// store does.
type idleSession struct {
	imapserver.Session
	silent bool
}

func (s idleSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if s.silent {
		<-stop
		return nil
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := s.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
	}
}

func (e *memEnv) server() Server {
	return Server{Addr: e.addr, Security: Plain, Username: testUser, Password: testPass, Timeout: 10 * time.Second}
}

// rfc822 is a small test message.
func rfc822(subject string) []byte {
	return fmt.Appendf(nil, "From: bob@example.org\r\nTo: alice@example.org\r\nSubject: %s\r\nMessage-ID: <%s@example.org>\r\n\r\nThis is %s.\r\n", subject, subject, subject)
}

// add appends a message to INBOX and returns its UID.
func (e *memEnv) add(t *testing.T, subject string) uint32 {
	t.Helper()
	return e.addRaw(t, "INBOX", rfc822(subject))
}

func (e *memEnv) addRaw(t *testing.T, folder string, raw []byte) uint32 {
	t.Helper()
	data, err := e.user.Append(folder, bytes.NewReader(raw), &imap.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return uint32(data.UID)
}

func (e *memEnv) status(t *testing.T) *imap.StatusData {
	t.Helper()
	st, err := e.user.Status("INBOX", &imap.StatusOptions{NumMessages: true, NumUnseen: true, UIDValidity: true, UIDNext: true})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// memStore is a StateStore in memory. failSave, if set, makes Save fail for
// the states it returns true for.
type memStore struct {
	mu       sync.Mutex
	m        map[string]State
	saves    int
	failSave func(State) bool
}

func newMemStore() *memStore { return &memStore{m: make(map[string]State)} }

func (s *memStore) Load(_ context.Context, folder string) (State, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.m[folder]
	return st, ok, nil
}

func (s *memStore) Save(_ context.Context, folder string, st State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves++
	if s.failSave != nil && s.failSave(st) {
		return errors.New("disk full")
	}
	s.m[folder] = st
	return nil
}

func (s *memStore) get(folder string) (State, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.m[folder]
	return st, ok
}

type statusEvent struct {
	connected bool
	err       error
	at        time.Time
}

// runner is one Run in the background.
type runner struct {
	t       *testing.T
	mails   chan Mail
	status  chan statusEvent
	waiting chan struct{}
	cancel  context.CancelFunc
	done    chan error
	stopped bool
}

// startRun starts Run with cfg. If h is nil, the handler takes every mail
// and sends it to r.mails. Status events go to r.status, and each time the
// worker starts waiting for new mail r.waiting gets a token.
func startRun(t *testing.T, cfg Config, store StateStore, h Handler, hk hooks) *runner {
	t.Helper()
	r := &runner{
		t:       t,
		mails:   make(chan Mail, 100),
		status:  make(chan statusEvent, 1000),
		waiting: make(chan struct{}, 1000),
		done:    make(chan error, 1),
	}
	if h == nil {
		h = func(ctx context.Context, m Mail) error {
			select {
			case r.mails <- m:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	cfg.Status = func(connected bool, err error) {
		select {
		case r.status <- statusEvent{connected, err, time.Now()}:
		default:
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin = 10 * time.Millisecond
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = 100 * time.Millisecond
	}
	hk.waiting = func() {
		select {
		case r.waiting <- struct{}{}:
		default:
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- run(ctx, cfg, store, h, hk) }()
	t.Cleanup(r.stop)
	return r
}

// stop cancels Run and checks that it returns nil promptly.
func (r *runner) stop() {
	r.t.Helper()
	if r.stopped {
		return
	}
	r.stopped = true
	start := time.Now()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Errorf("Run returned %v", err)
		}
	case <-time.After(waitLong):
		r.t.Fatalf("Run did not return within %v of cancel", waitLong)
	}
	if d := time.Since(start); d > 3*time.Second {
		r.t.Errorf("Run took %v to return after cancel", d)
	}
}

// mail waits for the next delivered mail.
func (r *runner) mail() Mail {
	r.t.Helper()
	select {
	case m := <-r.mails:
		return m
	case <-time.After(waitLong):
		r.t.Fatalf("no mail within %v", waitLong)
	}
	return Mail{}
}

// expectUIDs waits for mails with these UIDs, in this order.
func (r *runner) expectUIDs(uids ...uint32) []Mail {
	r.t.Helper()
	var got []Mail
	for _, want := range uids {
		m := r.mail()
		if m.UID != want {
			r.t.Fatalf("got mail UID %d, want %d (so far %v)", m.UID, want, uidsOf(got))
		}
		got = append(got, m)
	}
	return got
}

// idle waits until the worker waits for new mail. All the mail of the pass
// before is in r.mails by then.
func (r *runner) idle() {
	r.t.Helper()
	select {
	case <-r.waiting:
	case <-time.After(waitLong):
		r.t.Fatalf("worker not waiting for new mail within %v", waitLong)
	}
}

// noMore checks that no mail is queued; call it after idle.
func (r *runner) noMore() {
	r.t.Helper()
	select {
	case m := <-r.mails:
		r.t.Fatalf("unexpected mail UID %d", m.UID)
	default:
	}
}

// nextStatus waits for the next Status call.
func (r *runner) nextStatus() statusEvent {
	r.t.Helper()
	select {
	case ev := <-r.status:
		return ev
	case <-time.After(waitLong):
		r.t.Fatalf("no Status call within %v", waitLong)
	}
	return statusEvent{}
}

func uidsOf(ms []Mail) []uint32 {
	var u []uint32
	for _, m := range ms {
		u = append(u, m.UID)
	}
	return u
}

// testLogger logs to the test log, only while the test runs.
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(bytes.TrimRight(p, "\n")))
	}
	return len(p), nil
}

// selfSigned returns a server TLS config for 127.0.0.1 and a client config
// that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	cert, pool := testenv.SelfSigned(t, "imap.test")
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: pool}
}

// proxy forwards TCP connections to a backend and can cut or freeze them.
type proxy struct {
	t       *testing.T
	ln      net.Listener
	backend string

	mu    sync.Mutex
	conns map[*proxyConn]struct{}
	wg    sync.WaitGroup
}

type proxyConn struct {
	client, server net.Conn
	frozen         chan struct{} // closed when frozen
	freezeOnce     sync.Once
}

func startProxy(t *testing.T, backend string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, backend: backend, conns: make(map[*proxyConn]struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.backend)
		if err != nil {
			c.Close()
			continue
		}
		pc := &proxyConn{client: c, server: s, frozen: make(chan struct{})}
		p.mu.Lock()
		p.conns[pc] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(pc, c, s)
		go p.pipe(pc, s, c)
	}
}

// pipe copies src to dst until either fails; once frozen it drops the data.
func (p *proxy) pipe(pc *proxyConn, src, dst net.Conn) {
	defer p.wg.Done()
	defer func() {
		pc.client.Close()
		pc.server.Close()
		p.mu.Lock()
		delete(p.conns, pc)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			select {
			case <-pc.frozen:
			default:
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// cut closes every current connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pc := range p.conns {
		pc.client.Close()
		pc.server.Close()
	}
}

// freeze makes every current connection silently drop all data, as a dead
// network path does; new connections work.
func (p *proxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pc := range p.conns {
		pc.freezeOnce.Do(func() { close(pc.frozen) })
	}
}

package relay

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges/email/mailaddr"
)

// halfConn is one end of an in-memory connection that, unlike net.Pipe,
// can be half-closed: closing the client's writer gives the server EOF while
// the client still reads the replies, up to the server's Close.
//
// Like a real connection, it refuses to set deadlines once closed: go-smtp
// relies on that to stop reading commands it has buffered after closing the
// connection (otherwise it hands them to its nil session and panics).
type halfConn struct {
	r      *io.PipeReader
	w      *io.PipeWriter
	closed atomic.Bool
}

// newHalfPipe returns the server's end and the client's reader and writer.
func newHalfPipe() (server *halfConn, client *halfConn) {
	toServer, fromClient := io.Pipe()
	toClient, fromServer := io.Pipe()
	return &halfConn{r: toServer, w: fromServer}, &halfConn{r: toClient, w: fromClient}
}

func (c *halfConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *halfConn) Write(p []byte) (int, error) { return c.w.Write(p) }
func (c *halfConn) Close() error {
	c.closed.Store(true)
	c.r.Close()
	return c.w.Close()
}
func (c *halfConn) LocalAddr() net.Addr              { return pipeAddr{} }
func (c *halfConn) RemoteAddr() net.Addr             { return pipeAddr{} }
func (c *halfConn) SetDeadline(time.Time) error      { return c.deadlineErr() }
func (c *halfConn) SetReadDeadline(time.Time) error  { return c.deadlineErr() }
func (c *halfConn) SetWriteDeadline(time.Time) error { return c.deadlineErr() }

func (c *halfConn) deadlineErr() error {
	if c.closed.Load() {
		return net.ErrClosed
	}
	return nil
}

// pipeListener hands out the server ends of in-memory connections.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// panicCatcher is a slog handler that remembers the panics in this package
// that go-smtp recovered from.
type panicCatcher struct {
	mu     sync.Mutex
	panics []string
}

func (h *panicCatcher) Enabled(context.Context, slog.Level) bool { return true }
func (h *panicCatcher) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *panicCatcher) WithGroup(string) slog.Handler            { return h }

func (h *panicCatcher) Handle(_ context.Context, r slog.Record) error {
	if r.Message != msgPanic {
		return nil
	}
	var detail string
	r.Attrs(func(a slog.Attr) bool {
		detail += a.Value.String()
		return true
	})
	h.mu.Lock()
	h.panics = append(h.panics, detail)
	h.mu.Unlock()
	return nil
}

// fuzzDir knows two addresses, one with a sender allow-list, and checks
// that it is only asked about normalised addresses in the served domains.
type fuzzDir struct {
	mu  sync.Mutex
	bad []string
}

var fuzzAddrs = map[string]Recipient{
	alice.Address:   alice,
	guarded.Address: guarded,
}

func (d *fuzzDir) Lookup(_ context.Context, address string) (Recipient, bool, error) {
	// address must be a fixed point of mailaddr's normalisation.
	lp, err := mailaddr.LocalPart(address)
	var norm string
	if err == nil {
		norm, err = mailaddr.Address(lp)
	}
	if err != nil || norm != address || domainOf(address) != testDomain {
		d.mu.Lock()
		d.bad = append(d.bad, address)
		d.mu.Unlock()
	}
	if address == "fail@"+testDomain {
		return Recipient{}, false, io.ErrUnexpectedEOF
	}
	r, ok := fuzzAddrs[address]
	return r, ok, nil
}

var fuzzSeeds = []string{
	"EHLO x\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<alice@relay.example.org>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n",
	"HELO x\r\nMAIL FROM:<>\r\nRCPT TO:<guarded@relay.example.org>\r\nRCPT TO:<x@gmail.com>\r\nDATA\r\n.\r\n",
	"EHLO x\r\nMAIL FROM:<boss@x.org> BODY=8BITMIME SIZE=10\r\nRCPT TO:<Guarded@Relay.Example.Org>\r\nRCPT TO:<fail@relay.example.org>\r\nBDAT 3 LAST\r\nabc",
	"EHLO x\r\nMAIL FROM:<\"a b\"@x.org> SMTPUTF8\r\nRCPT TO:<\"alice\"@relay.example.org>\r\nRCPT TO:<@a,@b:alice@relay.example.org>\r\nRSET\r\nDATA\r\n",
	"EHLO x\r\nAUTH PLAIN AGEAYg==\r\nSTARTTLS\r\nVRFY alice\r\nEXPN x\r\nNOOP\r\nMAIL FROM:<a\x00@x.org>\r\nRCPT TO:<alice\r@relay.example.org>\r\n",
	"EHLO x\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<alice@relay.example.org>\r\nDATA\r\n" + strings.Repeat("x", 5000) + "\r\n.\r\n",
}

// FuzzSession feeds arbitrary bytes to the server as an SMTP session and
// checks that it neither panics nor delivers anything it should not: only to
// addresses the Directory knows, from allowed senders, within MaxSize, and
// with our Received header; and that the Directory is only asked about
// normalised addresses in the served domain.
//
// "Panics" means panics whose stack goes through this package (msgPanic) or
// that reach the client as 421 Internal server error. go-smtp's own panics
// on a connection it has already closed (msgSMTPPanic, see smtpLogger) are
// not ours to fix and are tolerated.
func FuzzSession(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(runFuzzInput)
}

// runFuzzInput runs one SMTP session with input as everything the client
// sends.
func runFuzzInput(t *testing.T, input []byte) {
	var (
		catcher = &panicCatcher{}
		dir     = &fuzzDir{}
		mu      sync.Mutex
		envs    []Envelope
	)
	deliver := func(_ context.Context, e Envelope) error {
		mu.Lock()
		defer mu.Unlock()
		envs = append(envs, e)
		if len(envs)%3 == 0 {
			return io.ErrShortWrite // some deliveries fail
		}
		return nil
	}
	s, err := New(Config{
		Domains:           []string{testDomain},
		Hostname:          "mx.relay.test",
		MaxSize:           1024,
		MaxRecipients:     3,
		PerAddressPerHour: 5,
		Logger:            slog.New(catcher),
	}, dir, deliver)
	if err != nil {
		t.Fatal(err)
	}
	ln := newPipeListener()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()

	server, client := newHalfPipe()
	ln.conns <- server
	replies := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(client.r)
		replies <- b
	}()
	client.w.Write(input) // fails once the server hangs up: fine
	client.w.Close()
	// The server has finished the session when it closes its end.
	out := <-replies
	if bytes.Contains(out, []byte("Internal server error")) {
		t.Fatalf("go-smtp recovered from a panic:\n%s", out)
	}
	// Close waits for Deliver calls in progress and prevents any more.
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}

	catcher.mu.Lock()
	if len(catcher.panics) > 0 {
		t.Fatalf("panic in session: %s", catcher.panics[0])
	}
	catcher.mu.Unlock()
	dir.mu.Lock()
	if len(dir.bad) > 0 {
		t.Fatalf("Lookup called with %q", dir.bad)
	}
	dir.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	for _, e := range envs {
		want, ok := fuzzAddrs[e.Recipient.Address]
		if !ok || e.Recipient.Owner != want.Owner {
			t.Fatalf("delivered to unknown recipient %+v", e.Recipient)
		}
		if !senderAllowed(e.From, want.Senders) {
			t.Fatalf("delivered from %q to %s", e.From, e.Recipient.Address)
		}
		if !strings.HasPrefix(string(e.Data), "Received: from ") {
			t.Fatalf("Data without Received header: %q", e.Data)
		}
		if len(e.Data) > 1024+512 {
			t.Fatalf("delivered %d bytes, over MaxSize", len(e.Data))
		}
	}
}

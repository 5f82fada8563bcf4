package component

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// fakeServer is a minimal XEP-0114 server for link tests: it checks the
// handshake, records stanzas and can answer pings, refuse or hang up.
type fakeServer struct {
	t        testing.TB
	ln       net.Listener
	secret   string
	stanzas  chan *xmlnode.Node
	accepted chan net.Conn

	mu          sync.Mutex
	answerPings bool
	pings       int
	conn        net.Conn
	wmu         *sync.Mutex
}

// inject writes raw XML to Ferry as if the server routed it.
func (s *fakeServer) inject(raw string) {
	s.t.Helper()
	s.mu.Lock()
	c, wmu := s.conn, s.wmu
	s.mu.Unlock()
	if c == nil {
		s.t.Fatal("no component connected")
	}
	wmu.Lock()
	defer wmu.Unlock()
	if _, err := io.WriteString(c, raw); err != nil {
		s.t.Fatal(err)
	}
}

// injectAll writes stanzas one by one on a goroutine of its own (so the
// test can read the answers meanwhile, and the server's own answers get
// through between them); the returned channel closes when all are out.
func (s *fakeServer) injectAll(stanzas []string) <-chan struct{} {
	s.mu.Lock()
	c, wmu := s.conn, s.wmu
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, st := range stanzas {
			wmu.Lock()
			_, err := io.WriteString(c, st)
			wmu.Unlock()
			if err != nil {
				s.t.Errorf("injecting: %v", err)
				return
			}
		}
	}()
	return done
}

// next returns the next stanza Ferry sent that matches, skipping others.
func (s *fakeServer) next(match func(*xmlnode.Node) bool) *xmlnode.Node {
	s.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case n := <-s.stanzas:
			if match(n) {
				return n
			}
		case <-deadline:
			s.t.Fatal("expected stanza never came")
			return nil
		}
	}
}

func newFakeServer(t testing.TB, secret string) *fakeServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, ln: ln, secret: secret, stanzas: make(chan *xmlnode.Node, 1000),
		accepted: make(chan net.Conn, 10), answerPings: true}
	go s.serve()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

func (s *fakeServer) setAnswerPings(v bool) {
	s.mu.Lock()
	s.answerPings = v
	s.mu.Unlock()
}

// pingCount is how many pings to the server Ferry sent so far.
func (s *fakeServer) pingCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pings
}

func (s *fakeServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.handle(c)
	}
}

func (s *fakeServer) handle(c net.Conn) {
	defer c.Close()
	d := xml.NewDecoder(c)
	var domain string
	for domain == "" {
		tok, err := d.Token()
		if err != nil {
			return
		}
		if st, ok := tok.(xml.StartElement); ok && st.Name.Local == "stream" {
			for _, a := range st.Attr {
				if a.Name.Local == "to" {
					domain = a.Value
				}
			}
		}
	}
	fmt.Fprintf(c, `<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='sid42' from='%s'>`, domain)
	var hs struct {
		XMLName xml.Name `xml:"handshake"`
		Value   string   `xml:",chardata"`
	}
	if err := d.Decode(&hs); err != nil {
		return
	}
	sum := sha1.Sum([]byte("sid42" + s.secret))
	if hs.Value != hex.EncodeToString(sum[:]) {
		fmt.Fprint(c, `<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`)
		return
	}
	fmt.Fprint(c, `<handshake/>`)
	wmu := &sync.Mutex{}
	s.mu.Lock()
	s.conn, s.wmu = c, wmu
	s.mu.Unlock()
	s.accepted <- c
	for {
		tok, err := d.Token()
		if err != nil {
			return
		}
		if _, end := tok.(xml.EndElement); end {
			// Ferry closed its stream: close ours, as a server does.
			wmu.Lock()
			fmt.Fprint(c, `</stream:stream>`)
			wmu.Unlock()
			return
		}
		st, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		n, err := xmlnode.Decode(d, st, xmlnode.DefaultLimits)
		if err != nil {
			return
		}
		if n.Local == "iq" && n.Child(nsPing, "ping") != nil && n.Attr("to") == "server.test" {
			s.mu.Lock()
			answer := s.answerPings
			s.pings++
			s.mu.Unlock()
			if answer {
				b, _ := xmlnode.Marshal(Result(n))
				wmu.Lock()
				_, _ = c.Write(b)
				wmu.Unlock()
			}
			continue
		}
		s.stanzas <- n
	}
}

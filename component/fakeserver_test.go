package component

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// fakeServer is a minimal XEP-0114 server for link tests: it checks the
// handshake, records stanzas and can answer pings, refuse or hang up.
type fakeServer struct {
	t        *testing.T
	ln       net.Listener
	secret   string
	stanzas  chan *xmlnode.Node
	accepted chan net.Conn

	mu          sync.Mutex
	answerPings bool
}

func newFakeServer(t *testing.T, secret string) *fakeServer {
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
	s.accepted <- c
	var wmu sync.Mutex
	for {
		tok, err := d.Token()
		if err != nil {
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

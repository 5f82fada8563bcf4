package testenv

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// ComponentServer is a scripted XMPP server for one XEP-0114 component. A
// real server filters and size-limits what users send (Prosody refuses a
// stanza over 256 KiB from a client), so what reaches a component through
// it is already tame: this one lets a test put any bytes on the
// component's stream, as a broken or hostile server (or a peer it failed
// to filter) could, and read what the component answers.
//
// It checks the handshake, answers the component's pings to Domain (its
// watchdog) and refuses its other requests to Domain; every other stanza
// the component sends is kept for Expect.
type ComponentServer struct {
	Addr   string // host:port for the component to connect to
	Domain string // the server's own domain

	t       TB
	secret  string
	ln      net.Listener
	stanzas chan *xmlnode.Node

	mu   sync.Mutex
	conn net.Conn
	wmu  sync.Mutex
	up   chan struct{} // closed at the first completed handshake
}

// StartComponentServer listens on loopback for a component with secret;
// it stops when the test ends.
func StartComponentServer(t TB, domain, secret string) *ComponentServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &ComponentServer{Addr: ln.Addr().String(), Domain: domain, t: t, secret: secret, ln: ln,
		stanzas: make(chan *xmlnode.Node, 1000), up: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.serve()
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		if s.conn != nil {
			s.conn.Close()
		}
		s.mu.Unlock()
		<-done
	})
	return s
}

// WaitConnected waits until a component has completed the handshake.
func (s *ComponentServer) WaitConnected(t TB, timeout time.Duration) {
	t.Helper()
	select {
	case <-s.up:
	case <-time.After(timeout):
		t.Fatalf("testenv: no component connected to %s within %v", s.Addr, timeout)
	}
}

// SendRaw writes raw XML to the component as if the server routed it.
func (s *ComponentServer) SendRaw(t TB, raw string) {
	t.Helper()
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c == nil {
		t.Fatal("testenv: no component connected")
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatalf("testenv: writing to the component: %v", err)
	}
}

// Expect returns the next stanza from the component that match accepts,
// dropping the others, or fails the test after timeout.
func (s *ComponentServer) Expect(t TB, timeout time.Duration, match func(*xmlnode.Node) bool) *xmlnode.Node {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case n := <-s.stanzas:
			if match(n) {
				return n
			}
		case <-deadline:
			t.Fatalf("testenv: no matching stanza from the component within %v", timeout)
			return nil
		}
	}
}

func (s *ComponentServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.handle(c) // one component at a time, as a real server allows
	}
}

func (s *ComponentServer) handle(c net.Conn) {
	defer c.Close()
	d := xml.NewDecoder(c)
	if !s.handshake(c, d) {
		return
	}
	s.mu.Lock()
	s.conn = c
	s.mu.Unlock()
	select {
	case <-s.up:
	default:
		close(s.up)
	}
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
		if n.Local == "iq" && n.Attr("to") == s.Domain && (n.Attr("type") == "get" || n.Attr("type") == "set") {
			s.answer(c, n)
			continue
		}
		select {
		case s.stanzas <- n:
		default: // nobody is reading: drop rather than stall the stream
		}
	}
}

// handshake runs the XEP-0114 stream opening and handshake.
func (s *ComponentServer) handshake(c net.Conn, d *xml.Decoder) bool {
	var to string
	for to == "" {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		if st, ok := tok.(xml.StartElement); ok && st.Name.Local == "stream" {
			for _, a := range st.Attr {
				if a.Name.Local == "to" {
					to = a.Value
				}
			}
		}
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	fmt.Fprintf(c, `<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='%s' from='%s'>`, id, to)
	var hs struct {
		XMLName xml.Name `xml:"handshake"`
		Value   string   `xml:",chardata"`
	}
	if err := d.Decode(&hs); err != nil {
		return false
	}
	sum := sha1.Sum([]byte(id + s.secret))
	if hs.Value != hex.EncodeToString(sum[:]) {
		fmt.Fprint(c, `<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`)
		return false
	}
	fmt.Fprint(c, `<handshake/>`)
	return true
}

// answer replies to the component's request to the server: a ping gets a
// result, anything else service-unavailable.
func (s *ComponentServer) answer(c net.Conn, n *xmlnode.Node) {
	reply := xmlnode.New("", "iq").SetAttr("id", n.Attr("id")).SetAttr("from", n.Attr("to")).SetAttr("to", n.Attr("from"))
	if n.Child("urn:xmpp:ping", "ping") != nil {
		reply.SetAttr("type", "result")
	} else {
		reply.SetAttr("type", "error").Add(xmlnode.New("", "error").SetAttr("type", "cancel").
			Add(xmlnode.New("urn:ietf:params:xml:ns:xmpp-stanzas", "service-unavailable")))
	}
	b, err := xmlnode.Marshal(reply)
	if err != nil {
		return
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, _ = c.Write(b)
}

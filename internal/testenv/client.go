package testenv

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

const (
	loginTimeout = 10 * time.Second
	sendTimeout  = 5 * time.Second
	closeTimeout = 3 * time.Second
	nsPing       = "urn:xmpp:ping"
	nsBind       = "urn:ietf:params:xml:ns:xmpp-bind"
	nsClient     = "jabber:client"
)

// Client is a user logged in to an XMPP server (Prosody, ejabberd) over c2s,
// without TLS. Everything the
// server sends it (message, presence and iq stanzas) is kept, in order, for
// Expect.
type Client struct {
	JID jid.JID // the full JID the server bound

	session *xmpp.Session
	conn    net.Conn
	sendMu  sync.Mutex // serialises sends with their write deadlines

	mu       sync.Mutex
	backlog  []*Stanza     // received and not yet taken by Expect
	arrived  chan struct{} // closed, and replaced, when backlog grows
	done     chan struct{} // closed when the stream has ended
	serveErr error         // why the stream ended, valid once done is closed
	closed   bool
}

// Stanza is one stanza the client received.
type Stanza struct {
	Name string            // "message", "presence" or "iq"
	Attr map[string]string // top-level attributes by local name ("xml:lang" for the xml namespace)
	XML  string            // the stanza as XML text
	// Node is the parsed stanza. Elements in the stream namespace
	// (jabber:client) have an empty Space.
	Node *xmlnode.Node
}

// String is the stanza's XML.
func (s *Stanza) String() string { return s.XML }

// Find looks up a descendant element by a path of local names separated by
// "/", ignoring namespaces, and returns its text (not trimmed) and whether it
// exists. Any branch may match: "x/item" finds the first x child that has an
// item child. A last segment "@name" reads an attribute instead: "@type" on
// the stanza itself, "query/item@jid" on the item. The empty path is the
// stanza itself.
//
//	s.Find("body")                      // message text
//	s.Find("query/instructions")        // registration form instructions
//	_, ok := s.Find("query/registered") // presence of an element
//	s.Find("error/text")                // error text
func (s *Stanza) Find(path string) (string, bool) {
	elems, attr, hasAttr := strings.Cut(path, "@")
	n := s.FindNode(elems)
	if n == nil {
		return "", false
	}
	if !hasAttr {
		return n.Text, true
	}
	for _, a := range n.Attrs {
		if a.Name == attr {
			return a.Value, true
		}
	}
	return "", false
}

// FindNode is like Find without attributes and returns the element itself,
// or nil.
func (s *Stanza) FindNode(path string) *xmlnode.Node {
	path = strings.Trim(path, "/")
	if path == "" {
		return s.Node
	}
	return findPath(s.Node, strings.Split(path, "/"))
}

func findPath(n *xmlnode.Node, segs []string) *xmlnode.Node {
	if len(segs) == 0 {
		return n
	}
	for _, c := range n.Children {
		if c.Local != segs[0] {
			continue
		}
		if found := findPath(c, segs[1:]); found != nil {
			return found
		}
	}
	return nil
}

// Login connects to Prosody's c2s port as local@Domain/resource, authenticates
// with SCRAM, binds the resource and sends initial presence (so messages to
// the bare JID and stored offline messages are delivered). The client is
// closed when the test ends.
func (p *Prosody) Login(t TB, local, password, resource string) *Client {
	t.Helper()
	return login(t, p.Domain, p.C2SAddr, local, password, resource)
}

// Connect is Login without the initial presence: the session is bound but
// the user is not available yet.
func (p *Prosody) Connect(t TB, local, password, resource string) *Client {
	t.Helper()
	return connectC2S(t, p.Domain, p.C2SAddr, local, password, resource)
}

// login connects and sends initial presence.
func login(t TB, domain, c2sAddr, local, password, resource string) *Client {
	t.Helper()
	c := connectC2S(t, domain, c2sAddr, local, password, resource)
	c.SendRaw(t, "<presence/>")
	return c
}

// connectC2S logs local@domain/resource in over c2sAddr, failing the test
// when that does not work, and closes the client when the test ends.
func connectC2S(t TB, domain, c2sAddr, local, password, resource string) *Client {
	t.Helper()
	c, err := dialC2S(domain, c2sAddr, local, password, resource)
	if err != nil {
		t.Fatalf("testenv: login %s@%s/%s: %v", local, domain, resource, err)
	}
	t.Cleanup(func() { c.close() })
	return c
}

func dialC2S(domain, c2sAddr, local, password, resource string) (*Client, error) {
	origin, err := jid.New(local, domain, resource)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), loginTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", c2sAddr)
	if err != nil {
		return nil, err
	}
	// Mellium's SASL feature requires the Secure state bit; without TLS
	// negotiation fails ("features advertised out of order"). The stream is
	// on loopback, so mark it secure from the start. SCRAM-SHA-256 is used:
	// Prosody derives SCRAM from internal_plain passwords and offers it
	// without TLS (PLAIN would work too, given allow_unencrypted_plain_auth).
	features := []xmpp.StreamFeature{
		xmpp.SASL("", password, sasl.ScramSha256, sasl.ScramSha1),
		bindResource(origin),
	}
	// Deadlines go on the conn, not through ctx: mellium v0.22 may apply a
	// cancelled context's deadline after the call returned (see send).
	_ = conn.SetDeadline(time.Now().Add(loginTimeout))
	session, err := xmpp.NewSession(context.Background(), origin.Domain(), origin, conn, xmpp.Secure,
		xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
			return xmpp.StreamConfig{Features: features}
		}))
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	c := &Client{
		JID:     session.LocalAddr(),
		session: session,
		conn:    conn,
		arrived: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go func() {
		err := session.Serve(xmpp.HandlerFunc(c.handle))
		c.mu.Lock()
		c.serveErr = err
		c.mu.Unlock()
		close(c.done)
	}()
	return c, nil
}

// bindResource is a client-only resource binding feature that asks for
// origin's resource. Mellium's own BindResource (v0.22.0) sends an empty
// <resource/> whatever the address says, so the server would pick a random
// resource.
func bindResource(origin jid.JID) xmpp.StreamFeature {
	return xmpp.StreamFeature{
		Name:       xml.Name{Space: nsBind, Local: "bind"},
		Necessary:  xmpp.Authn,
		Prohibited: xmpp.Ready,
		List: func(context.Context, xmlstream.TokenWriter, xml.StartElement) (bool, error) {
			return true, errors.New("testenv: resource binding is client-side only")
		},
		Parse: func(_ context.Context, d *xml.Decoder, _ *xml.StartElement) (bool, any, error) {
			return true, nil, d.Skip()
		},
		Negotiate: func(ctx context.Context, s *xmpp.Session, _ any) (xmpp.SessionState, io.ReadWriter, error) {
			id := newID()
			iq := xml.StartElement{Name: xml.Name{Space: nsClient, Local: "iq"}, Attr: []xml.Attr{
				{Name: xml.Name{Local: "type"}, Value: "set"},
				{Name: xml.Name{Local: "id"}, Value: id},
			}}
			bind := xml.StartElement{Name: xml.Name{Space: nsBind, Local: "bind"}}
			res := xml.StartElement{Name: xml.Name{Local: "resource"}}
			w := s.TokenWriter()
			defer w.Close()
			for _, tok := range []xml.Token{iq, bind, res, xml.CharData(origin.Resourcepart()), res.End(), bind.End(), iq.End()} {
				if err := w.EncodeToken(tok); err != nil {
					return 0, nil, err
				}
			}
			if err := w.Flush(); err != nil {
				return 0, nil, err
			}

			r := s.TokenReader()
			defer r.Close()
			d := xml.NewTokenDecoder(r)
			var start xml.StartElement
			for {
				tok, err := d.Token()
				if err != nil {
					return 0, nil, err
				}
				if st, ok := tok.(xml.StartElement); ok {
					start = st
					break
				}
			}
			var resp struct {
				ID   string `xml:"id,attr"`
				Type string `xml:"type,attr"`
				Bind struct {
					JID string `xml:"jid"`
				} `xml:"urn:ietf:params:xml:ns:xmpp-bind bind"`
				Error struct {
					Inner string `xml:",innerxml"`
				} `xml:"error"`
			}
			if err := d.DecodeElement(&resp, &start); err != nil {
				return 0, nil, err
			}
			if start.Name.Local != "iq" || resp.ID != id || resp.Type != "result" {
				return 0, nil, fmt.Errorf("resource binding refused: <%s type=%q id=%q> %s", start.Name.Local, resp.Type, resp.ID, resp.Error.Inner)
			}
			bound, err := jid.Parse(resp.Bind.JID)
			if err != nil {
				return 0, nil, fmt.Errorf("bound JID %q: %w", resp.Bind.JID, err)
			}
			s.UpdateAddr(bound)
			return xmpp.Ready, nil, nil
		},
	}
}

// handle runs inside Session.Serve, which holds the stream while it runs: it
// copies the stanza, answers pings, and returns without sending anything
// else.
func (c *Client) handle(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	st := *start
	st.Attr = append([]xml.Attr(nil), start.Attr...)
	for i, a := range st.Attr {
		// Mellium blanks a "from" that is the client's own bare JID; put it back.
		if a.Name.Space == "" && a.Name.Local == "from" && a.Value == "" {
			st.Attr[i].Value = c.JID.Bare().String()
		}
	}
	toks := []xml.Token{st}
	depth := 1
	for depth > 0 {
		tok, err := t.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
		toks = append(toks, xml.CopyToken(tok))
	}
	if depth > 0 {
		toks = append(toks, st.End())
	}
	s, err := newStanza(toks)
	if err != nil {
		return err
	}
	if s.Name == "iq" && s.Attr["type"] == "get" && len(s.Node.Children) == 1 &&
		s.Node.Children[0].Space == nsPing && s.Node.Children[0].Local == "ping" {
		res := xml.StartElement{Name: xml.Name{Local: "iq"}, Attr: []xml.Attr{
			{Name: xml.Name{Local: "type"}, Value: "result"},
			{Name: xml.Name{Local: "id"}, Value: s.Attr["id"]},
		}}
		if from := s.Attr["from"]; from != "" {
			res.Attr = append(res.Attr, xml.Attr{Name: xml.Name{Local: "to"}, Value: from})
		}
		if err := t.EncodeToken(res); err != nil {
			return err
		}
		if err := t.EncodeToken(res.End()); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.backlog = append(c.backlog, s)
	close(c.arrived)
	c.arrived = make(chan struct{})
	c.mu.Unlock()
	return nil
}

func newStanza(toks []xml.Token) (*Stanza, error) {
	start := toks[0].(xml.StartElement)
	s := &Stanza{Name: start.Name.Local, Attr: map[string]string{}}
	for _, a := range start.Attr {
		switch a.Name.Space {
		case "":
			if a.Name.Local != "xmlns" {
				s.Attr[a.Name.Local] = a.Value
			}
		case "xml", "http://www.w3.org/XML/1998/namespace":
			s.Attr["xml:"+a.Name.Local] = a.Value
		}
	}
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	for _, tok := range toks {
		if err := enc.EncodeToken(stripNSDecl(tok)); err != nil {
			return nil, err
		}
	}
	if err := enc.Flush(); err != nil {
		return nil, err
	}
	s.XML = buf.String()
	n, err := xmlnode.Decode(&tokenSlice{toks: toks[1:]}, start, xmlnode.DefaultLimits)
	if err != nil {
		return nil, err
	}
	s.Node = n
	return s, nil
}

// stripNSDecl removes namespace declarations from a start element: the
// decoder already resolved them into the names, and the encoder declares
// them again from there.
func stripNSDecl(tok xml.Token) xml.Token {
	start, ok := tok.(xml.StartElement)
	if !ok {
		return tok
	}
	attrs := make([]xml.Attr, 0, len(start.Attr))
	for _, a := range start.Attr {
		if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
			continue
		}
		attrs = append(attrs, a)
	}
	start.Attr = attrs
	return start
}

type tokenSlice struct {
	toks []xml.Token
}

func (r *tokenSlice) Token() (xml.Token, error) {
	if len(r.toks) == 0 {
		return nil, io.EOF
	}
	tok := r.toks[0]
	r.toks = r.toks[1:]
	return tok, nil
}

// parseStanza reads one element from XML text, without leading or trailing
// anything but white space.
func parseStanza(text string) ([]xml.Token, error) {
	d := xml.NewDecoder(strings.NewReader(text))
	var toks []xml.Token
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 && len(toks) > 0 {
				return nil, errors.New("more than one top-level element")
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 {
				if len(bytes.TrimSpace(tok)) > 0 {
					return nil, errors.New("text outside the element")
				}
				continue
			}
		case xml.Comment, xml.ProcInst, xml.Directive:
			continue
		}
		toks = append(toks, stripNSDecl(xml.CopyToken(tok)))
	}
	if len(toks) == 0 {
		return nil, errors.New("no element")
	}
	return toks, nil
}

// SendRaw sends one stanza written as XML text. The top element needs no
// namespace: jabber:client applies, and children without xmlns inherit it.
// Mellium adds an id when there is none.
func (c *Client) SendRaw(t TB, stanzaXML string) {
	t.Helper()
	toks, err := parseStanza(stanzaXML)
	if err != nil {
		t.Fatalf("testenv: bad stanza XML %q: %v", stanzaXML, err)
	}
	if err := c.send(toks); err != nil {
		t.Fatalf("testenv: %s sending %s: %v", c.JID, stanzaXML, err)
	}
}

// send writes one stanza. The timeout is a conn write deadline: passing a
// context that is cancelled on return makes mellium v0.22 race to set the
// deadline into the past, failing the next write with an i/o timeout.
func (c *Client) send(toks []xml.Token) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(sendTimeout))
	defer c.conn.SetWriteDeadline(time.Time{})
	return c.session.Send(context.Background(), &tokenSlice{toks: toks})
}

// IQ sends an iq given as XML text, adding an id if it has none, and waits
// for the result or error with that id.
func (c *Client) IQ(t TB, timeout time.Duration, iqXML string) *Stanza {
	t.Helper()
	s, err := c.TryIQ(t, timeout, iqXML)
	if err != nil {
		t.Fatalf("testenv: %s: %v", c.JID, err)
	}
	return s
}

// TryIQ is IQ for a request the server may lose (sent to a component
// whose stream is ending): no answer within timeout is an error returned,
// not a failed test.
func (c *Client) TryIQ(t TB, timeout time.Duration, iqXML string) (*Stanza, error) {
	t.Helper()
	toks, err := parseStanza(iqXML)
	if err != nil {
		t.Fatalf("testenv: bad iq XML %q: %v", iqXML, err)
	}
	start := toks[0].(xml.StartElement)
	if start.Name.Local != "iq" {
		t.Fatalf("testenv: IQ given a <%s/>", start.Name.Local)
	}
	id := ""
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == "id" {
			id = a.Value
		}
	}
	if id == "" {
		id = newID()
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "id"}, Value: id})
		toks[0] = start
	}
	if err := c.send(toks); err != nil {
		t.Fatalf("testenv: %s sending %s: %v", c.JID, iqXML, err)
	}
	return c.expect(timeout, func(s *Stanza) bool {
		return s.Name == "iq" && s.Attr["id"] == id && (s.Attr["type"] == "result" || s.Attr["type"] == "error")
	})
}

var (
	idMu   sync.Mutex
	idNext int
)

func newID() string {
	idMu.Lock()
	defer idMu.Unlock()
	idNext++
	return fmt.Sprintf("testenv-%d", idNext)
}

// Expect returns the first received stanza that match accepts, waiting up to
// timeout for it. Stanzas that do not match stay queued for later calls. On
// timeout the test fails with a list of the stanzas still queued.
func (c *Client) Expect(t TB, timeout time.Duration, match func(*Stanza) bool) *Stanza {
	t.Helper()
	s, err := c.expect(timeout, match)
	if err != nil {
		t.Fatalf("testenv: %s: %v", c.JID, err)
	}
	return s
}

// ExpectNone fails the test if a stanza that match accepts arrives within d.
// Use it after the event that would cause the stanza, with a short d.
func (c *Client) ExpectNone(t TB, d time.Duration, match func(*Stanza) bool) {
	t.Helper()
	if s, err := c.expect(d, match); err == nil {
		t.Fatalf("testenv: %s: unexpected stanza: %s", c.JID, s.XML)
	}
}

// Pending returns the stanzas received and not yet taken by Expect, leaving
// them queued.
func (c *Client) Pending() []*Stanza {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Stanza(nil), c.backlog...)
}

// TakeAll returns the stanzas received and not yet taken by Expect, and
// removes them from the queue.
func (c *Client) TakeAll() []*Stanza {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.backlog
	c.backlog = nil
	return out
}

func (c *Client) expect(timeout time.Duration, match func(*Stanza) bool) (*Stanza, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		c.mu.Lock()
		for i, s := range c.backlog {
			if match(s) {
				c.backlog = append(c.backlog[:i:i], c.backlog[i+1:]...)
				c.mu.Unlock()
				return s, nil
			}
		}
		arrived := c.arrived
		c.mu.Unlock()
		select {
		case <-arrived:
		case <-c.done:
			select {
			case <-arrived: // the last stanzas came in with the end: look at them
				continue
			default:
			}
			c.mu.Lock()
			err := c.serveErr
			c.mu.Unlock()
			return nil, fmt.Errorf("stream ended (%v) without the expected stanza; received and unmatched: %s", err, c.pendingList())
		case <-timer.C:
			return nil, fmt.Errorf("no matching stanza within %v; received and unmatched: %s", timeout, c.pendingList())
		}
	}
}

func (c *Client) pendingList() string {
	pending := c.Pending()
	if len(pending) == 0 {
		return "nothing"
	}
	xmls := make([]string, len(pending))
	for i, s := range pending {
		xmls[i] = s.XML
	}
	return fmt.Sprintf("%d stanza(s):\n\t%s", len(xmls), strings.Join(xmls, "\n\t"))
}

// Close sends unavailable presence and ends the stream, waiting briefly for
// the server to end its side. Tests need not call it: the client is closed
// when the test ends. Closing twice does nothing.
func (c *Client) Close() {
	c.close()
}

func (c *Client) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	select {
	case <-c.done:
	default:
		if toks, err := parseStanza(`<presence type="unavailable"/>`); err == nil {
			_ = c.send(toks)
		}
		// Not Session.SetCloseDeadline: it races with Serve (mellium
		// v0.22.0); closing the connection after a wait does the same.
		_ = c.session.Close()
		select {
		case <-c.done:
		case <-time.After(closeTimeout):
		}
	}
	c.conn.Close()
	<-c.done
}

// Done is closed when the client's stream has ended, by Close or by the
// server (for example when Prosody stops).
func (c *Client) Done() <-chan struct{} { return c.done }

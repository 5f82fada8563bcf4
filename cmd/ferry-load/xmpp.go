package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-xmpp/ferry/internal/quickack"
)

// component is the tool's own XEP-0114 connection to Prosody: every
// simulated XMPP user (uN@load.localhost/res) sends and receives through
// it, so thousands of users cost one socket and one reader goroutine.
// Prosody routes between its components, so a gateway sees ordinary
// stanzas from remote users.
type component struct {
	domain string
	conn   net.Conn

	wmu sync.Mutex
	w   *bufio.Writer

	handler atomic.Pointer[func(*element)]

	iqMu   sync.Mutex
	iqs    map[string]chan *element
	nextID atomic.Uint64

	done chan struct{}
	err  error // why the stream ended, valid once done is closed
}

// element is one parsed XML element: a stanza and its children.
type element struct {
	name     string // local name
	attrs    []xml.Attr
	children []*element
	text     string
}

func (e *element) attr(name string) string {
	for _, a := range e.attrs {
		if a.Name.Local == name && (a.Name.Space == "" || a.Name.Space == "xml") {
			return a.Value
		}
	}
	return ""
}

// child returns the first child element with this local name, or nil.
func (e *element) child(name string) *element {
	for _, c := range e.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// statusCodes returns the MUC status codes of a presence (x/status@code).
func (e *element) statusCodes() []string {
	var codes []string
	for _, x := range e.children {
		if x.name != "x" {
			continue
		}
		for _, s := range x.children {
			if s.name == "status" {
				codes = append(codes, s.attr("code"))
			}
		}
	}
	return codes
}

func (e *element) hasStatus(code string) bool {
	for _, c := range e.statusCodes() {
		if c == code {
			return true
		}
	}
	return false
}

// errorCondition is the defined condition of an error stanza, or "".
func (e *element) errorCondition() string {
	er := e.child("error")
	if er == nil {
		return ""
	}
	cond, text := "undefined-condition", ""
	for _, c := range er.children {
		if c.name == "text" {
			text = c.text
		} else {
			cond = c.name
		}
	}
	if text != "" {
		return cond + " (" + text + ")"
	}
	return cond
}

const (
	nsComponent = "jabber:component:accept"
	nsStreams   = "http://etherx.jabber.org/streams"
	handshakeTO = 10 * time.Second
)

var errStreamClosed = errors.New("stream closed")

// dialComponent connects to addr as domain and completes the XEP-0114
// handshake with secret.
func dialComponent(addr, domain, secret string) (*component, error) {
	conn, err := net.DialTimeout("tcp", addr, handshakeTO)
	if err != nil {
		return nil, err
	}
	conn = quickack.Wrap(conn)
	c := &component{domain: domain, conn: conn, w: bufio.NewWriterSize(conn, 64<<10),
		iqs: map[string]chan *element{}, done: make(chan struct{})}
	dec := xml.NewDecoder(bufio.NewReaderSize(conn, 64<<10))
	if err := c.handshake(dec, secret); err != nil {
		conn.Close()
		return nil, fmt.Errorf("component %s: %w", domain, err)
	}
	go c.read(dec)
	return c, nil
}

func (c *component) handshake(dec *xml.Decoder, secret string) error {
	_ = c.conn.SetDeadline(time.Now().Add(handshakeTO))
	defer c.conn.SetDeadline(time.Time{})
	open := "<?xml version='1.0'?><stream:stream xmlns='" + nsComponent + "' xmlns:stream='" + nsStreams + "' to='" + escapeAttr(c.domain) + "'>"
	if _, err := io.WriteString(c.conn, open); err != nil {
		return err
	}
	var id string
	for id == "" {
		tok, err := dec.RawToken()
		if err != nil {
			return fmt.Errorf("reading the stream header: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "stream" {
				return fmt.Errorf("unexpected <%s> instead of the stream header", se.Name.Local)
			}
			for _, a := range se.Attr {
				if a.Name.Local == "id" {
					id = a.Value
				}
			}
			if id == "" {
				return errors.New("stream header without id")
			}
		}
	}
	sum := sha1.Sum([]byte(id + secret))
	if _, err := io.WriteString(c.conn, "<handshake>"+hex.EncodeToString(sum[:])+"</handshake>"); err != nil {
		return err
	}
	reply, err := readElement(dec)
	if err != nil {
		return fmt.Errorf("waiting for the handshake reply: %w", err)
	}
	if reply.name != "handshake" {
		return fmt.Errorf("handshake refused: <%s> %s", reply.name, describe(reply))
	}
	return nil
}

// readElement reads the next complete top-level element.
func readElement(dec *xml.Decoder) (*element, error) {
	var stack []*element
	for {
		tok, err := dec.RawToken()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			e := &element{name: t.Name.Local, attrs: t.Attr}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, e)
			}
			stack = append(stack, e)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, errStreamClosed // </stream:stream>
			}
			e := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return e, nil
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
}

func (c *component) read(dec *xml.Decoder) {
	var err error
	for {
		var e *element
		e, err = readElement(dec)
		if err != nil {
			break
		}
		if e.name == "iq" && (e.attr("type") == "result" || e.attr("type") == "error") {
			c.iqMu.Lock()
			ch, ok := c.iqs[e.attr("id")]
			delete(c.iqs, e.attr("id"))
			c.iqMu.Unlock()
			if ok {
				ch <- e
				continue
			}
		}
		if h := c.handler.Load(); h != nil {
			(*h)(e)
		}
	}
	c.err = err
	close(c.done)
}

// setHandler installs the function that gets every stanza that is not the
// answer to an IQ of ours. It runs on the reader goroutine: keep it short.
func (c *component) setHandler(h func(*element)) {
	if h == nil {
		c.handler.Store(nil)
		return
	}
	c.handler.Store(&h)
}

// send writes one stanza (XML text) and flushes it.
func (c *component) send(stanza string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.w.WriteString(stanza); err != nil {
		return err
	}
	return c.w.Flush()
}

// sendBatch writes several stanzas with one flush.
func (c *component) sendBatch(stanzas []string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for _, s := range stanzas {
		if _, err := c.w.WriteString(s); err != nil {
			return err
		}
	}
	return c.w.Flush()
}

// iq sends an IQ (without id: one is added) and waits for its answer.
func (c *component) iq(from, to, typ, payload string, timeout time.Duration) (*element, error) {
	id := "q" + strconv.FormatUint(c.nextID.Add(1), 36)
	ch := make(chan *element, 1)
	c.iqMu.Lock()
	c.iqs[id] = ch
	c.iqMu.Unlock()
	defer func() {
		c.iqMu.Lock()
		delete(c.iqs, id)
		c.iqMu.Unlock()
	}()
	err := c.send("<iq type='" + typ + "' id='" + id + "' from='" + escapeAttr(from) + "' to='" + escapeAttr(to) + "'>" + payload + "</iq>")
	if err != nil {
		return nil, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case e := <-ch:
		return e, nil
	case <-c.done:
		return nil, fmt.Errorf("stream ended: %v", c.err)
	case <-t.C:
		return nil, fmt.Errorf("no answer from %s within %v", to, timeout)
	}
}

func (c *component) close() {
	c.wmu.Lock()
	_, _ = c.w.WriteString("</stream:stream>")
	_ = c.w.Flush()
	c.wmu.Unlock()
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
	c.conn.Close()
	<-c.done
}

// escapeAttr escapes s for an attribute value in either kind of quotes
// (xml.EscapeText escapes both quote characters).
func escapeAttr(s string) string { return escapeText(s) }

func escapeText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// describe renders an element briefly, for error messages.
func describe(e *element) string {
	var b strings.Builder
	var walk func(e *element)
	walk = func(e *element) {
		b.WriteString("<" + e.name)
		for _, a := range e.attrs {
			fmt.Fprintf(&b, " %s=%q", a.Name.Local, a.Value)
		}
		b.WriteString(">")
		b.WriteString(e.text)
		for _, c := range e.children {
			walk(c)
		}
		b.WriteString("</" + e.name + ">")
	}
	walk(e)
	return b.String()
}

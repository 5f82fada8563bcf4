package xmlnode

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"unicode"
)

// Limits bound what one stanza may cost to decode. A peer that exceeds them
// gets its stanza refused, not a crash or an unbounded allocation.
type Limits struct {
	// MaxBytes bounds everything the stanza carries: element and attribute
	// names, attribute values (the root element's own included) and
	// character data.
	MaxBytes    int
	MaxDepth    int
	MaxElements int
}

// DefaultLimits fit any real stanza (Prosody's own c2s limit is 256 KiB).
var DefaultLimits = Limits{MaxBytes: 1 << 20, MaxDepth: 32, MaxElements: 10000}

// ErrTooLarge reports a stanza that broke Limits. The stanza has still been
// consumed from the stream, so reading can go on with the next one.
var ErrTooLarge = errors.New("xmlnode: stanza exceeds size limits")

// ErrBadName reports an element or attribute name that could not be written
// back as XML (Go's decoder is lenient about local parts after a prefix).
// Like ErrTooLarge, the stanza has been consumed.
var ErrBadName = errors.New("xmlnode: invalid XML name")

const xmlURL = "http://www.w3.org/XML/1998/namespace"

// Decode reads the element that start opens from r, through its end tag.
// On ErrTooLarge the returned node keeps the top element's name and those of
// its addressing attributes (to, from, id, type, xml:lang) that are short
// enough to echo, so the caller can address a small error reply; children,
// text and every other attribute are dropped.
func Decode(r xml.TokenReader, start xml.StartElement, lim Limits) (*Node, error) {
	root := fromStart(start, nil)
	stack := []*Node{root}
	budget := attrCost(start)
	elements := 1
	// The root's own attributes count: a childless stanza with a huge
	// attribute is as large as one with a huge body.
	tooLarge := budget > lim.MaxBytes
	badName := !validNames(start)
	for len(stack) > 0 {
		tok, err := r.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return root, err
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			elements++
			budget += attrCost(t)
			child := fromStart(t, top)
			badName = badName || !validNames(t)
			if len(stack) >= lim.MaxDepth || elements > lim.MaxElements || budget > lim.MaxBytes {
				tooLarge = true
			}
			if !tooLarge {
				top.Children = append(top.Children, child)
			}
			stack = append(stack, child)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			budget += len(t)
			if budget > lim.MaxBytes {
				tooLarge = true
			}
			if !tooLarge {
				top.Text += string(t)
			}
		}
	}
	if tooLarge || badName {
		root.Children, root.Text = nil, ""
		if tooLarge {
			root.Attrs = addressing(root.Attrs)
			return root, ErrTooLarge
		}
		return root, ErrBadName
	}
	return root, nil
}

// maxEchoed bounds an attribute kept on a refused stanza: the longest JID
// (three parts of at most 1023 bytes, two separators).
const maxEchoed = 3071

// addressing keeps the attributes an error reply is addressed with, when
// they are short enough to send back.
func addressing(attrs []Attr) []Attr {
	var kept []Attr
	for _, a := range attrs {
		switch a.Name {
		case "to", "from", "id", "type", "xml:lang":
			if len(a.Value) <= maxEchoed {
				kept = append(kept, a)
			}
		}
	}
	return kept
}

func attrCost(s xml.StartElement) int {
	n := len(s.Name.Local)
	for _, a := range s.Attr {
		n += len(a.Name.Local) + len(a.Value)
	}
	return n
}

// fromStart builds the node for s, a child of parent (nil for the top
// element). A stream namespace is folded to "" only where the element is in
// the stream's context: the stanza itself and children of elements that
// are. A jabber:client message nested in a foreign element (a forwarded
// message, XEP-0297) keeps its namespace, so writing it out again, on
// whatever stream, declares it.
func fromStart(s xml.StartElement, parent *Node) *Node {
	n := &Node{Space: s.Name.Space, Local: s.Name.Local}
	if streamSpaces[n.Space] && (parent == nil || parent.Space == "") {
		n.Space = ""
	}
	for _, a := range s.Attr {
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns", a.Name.Space == "xmlns":
			continue // namespace declarations are carried by Space
		case a.Name.Space == xmlURL || a.Name.Space == "xml":
			n.Attrs = append(n.Attrs, Attr{Name: "xml:" + a.Name.Local, Value: a.Value})
		case a.Name.Space == "":
			n.Attrs = append(n.Attrs, Attr{Name: a.Name.Local, Value: a.Value})
		}
	}
	return n
}

// Parse decodes one element from XML text (used for stored stanzas and tests).
func Parse(data []byte) (*Node, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("xmlnode: no element: %w", err)
		}
		if s, ok := tok.(xml.StartElement); ok {
			return Decode(d, s, DefaultLimits)
		}
	}
}

// Marshal renders n as XML text (AppendXML into a new slice). It never
// fails; the error is kept for callers that treat rendering as fallible.
func Marshal(n *Node) ([]byte, error) {
	return n.AppendXML(nil), nil
}

// validNames checks the element and attribute local names.
func validNames(s xml.StartElement) bool {
	if !validName(s.Name.Local) {
		return false
	}
	for _, a := range s.Attr {
		if !validName(a.Name.Local) {
			return false
		}
	}
	return true
}

// validName is a conservative XML Name check: a letter or underscore, then
// letters, digits, '-', '.', '_'.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r):
		case i > 0 && (r == '-' || r == '.' || unicode.IsDigit(r)):
		default:
			return false
		}
	}
	return true
}

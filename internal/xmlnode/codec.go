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
	MaxBytes    int // character data plus attribute values
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
// On ErrTooLarge the returned node still carries the top element's name and
// attributes so the caller can address an error reply.
func Decode(r xml.TokenReader, start xml.StartElement, lim Limits) (*Node, error) {
	root := fromStart(start, nil)
	stack := []*Node{root}
	budget := attrCost(start)
	elements := 1
	tooLarge := false
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
			return root, ErrTooLarge
		}
		return root, ErrBadName
	}
	return root, nil
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

// Marshal renders n as XML text.
func Marshal(n *Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	if err := encode(enc, n, ""); err != nil {
		return nil, err
	}
	if err := enc.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Tokens returns n as a token stream, for mellium's Session.Send.
func (n *Node) Tokens() xml.TokenReader {
	var toks []xml.Token
	n.appendTokens(&toks, "")
	return &sliceReader{toks: toks}
}

func (n *Node) appendTokens(toks *[]xml.Token, parentSpace string) {
	start := n.startElement(parentSpace)
	*toks = append(*toks, start)
	if n.Text != "" {
		*toks = append(*toks, xml.CharData(n.Text))
	}
	for _, c := range n.Children {
		c.appendTokens(toks, n.Space)
	}
	*toks = append(*toks, start.End())
}

// startElement writes the namespace only where it changes, keeping the
// output small and leaving stream-namespace children unqualified.
func (n *Node) startElement(parentSpace string) xml.StartElement {
	s := xml.StartElement{Name: xml.Name{Local: n.Local}}
	if n.Space != parentSpace && n.Space != "" {
		s.Name.Space = n.Space
	}
	for _, a := range n.Attrs {
		if len(a.Name) > 4 && a.Name[:4] == "xml:" {
			s.Attr = append(s.Attr, xml.Attr{Name: xml.Name{Space: xmlURL, Local: a.Name[4:]}, Value: a.Value})
			continue
		}
		s.Attr = append(s.Attr, xml.Attr{Name: xml.Name{Local: a.Name}, Value: a.Value})
	}
	return s
}

func encode(enc *xml.Encoder, n *Node, parentSpace string) error {
	var toks []xml.Token
	n.appendTokens(&toks, parentSpace)
	for _, t := range toks {
		if err := enc.EncodeToken(t); err != nil {
			return err
		}
	}
	return nil
}

type sliceReader struct {
	toks []xml.Token
	i    int
}

func (r *sliceReader) Token() (xml.Token, error) {
	if r.i >= len(r.toks) {
		return nil, io.EOF
	}
	t := r.toks[r.i]
	r.i++
	return t, nil
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

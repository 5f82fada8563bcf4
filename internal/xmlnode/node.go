// Package xmlnode is a small XML element tree for XMPP stanzas.
//
// Ferry reads each stanza off the component stream into a Node so the stream
// lock is released at once and the stanza can be handed to the goroutine that
// owns the account it concerns. Namespaces are kept as URIs; the stanza and
// its children in the stream's own namespace (jabber:client,
// jabber:component:accept) are stored with an empty space so they inherit
// whatever stream they are written to. A stream-namespace element nested in
// a foreign one (a forwarded message) keeps its namespace.
package xmlnode

import (
	"strings"
)

// Stream namespaces that are folded to "" when decoding.
var streamSpaces = map[string]bool{
	"jabber:client":           true,
	"jabber:server":           true,
	"jabber:component:accept": true,
}

// Node is one element: its name, attributes, text and children.
// Mixed content is not preserved in order: Text holds the concatenated
// character data directly inside the element, which is all stanzas need.
type Node struct {
	Space, Local string
	Attrs        []Attr
	Text         string
	Children     []*Node
}

// Attr is a plain attribute. Namespaced attributes other than xml:lang are
// not used by anything Ferry reads and are dropped on decode.
type Attr struct {
	Name, Value string
}

// New returns an element in namespace space (empty: the stream's namespace).
func New(space, local string) *Node {
	return &Node{Space: space, Local: local}
}

// Attr returns the value of attribute name, or "".
func (n *Node) Attr(name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attrs {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// SetAttr sets (or, with an empty value, removes) an attribute and returns n.
func (n *Node) SetAttr(name, value string) *Node {
	for i, a := range n.Attrs {
		if a.Name == name {
			if value == "" {
				n.Attrs = append(n.Attrs[:i], n.Attrs[i+1:]...)
			} else {
				n.Attrs[i].Value = value
			}
			return n
		}
	}
	if value != "" {
		n.Attrs = append(n.Attrs, Attr{Name: name, Value: value})
	}
	return n
}

// Child returns the first child with that namespace and local name, or nil.
// An empty space matches children in the stream namespace.
func (n *Node) Child(space, local string) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.Local == local && c.Space == space {
			return c
		}
	}
	return nil
}

// ChildrenNamed returns every child with that namespace and local name.
func (n *Node) ChildrenNamed(space, local string) []*Node {
	if n == nil {
		return nil
	}
	var out []*Node
	for _, c := range n.Children {
		if c.Local == local && c.Space == space {
			out = append(out, c)
		}
	}
	return out
}

// ChildText returns the text of the first matching child, or "".
func (n *Node) ChildText(space, local string) string {
	if c := n.Child(space, local); c != nil {
		return c.Text
	}
	return ""
}

// FirstChild returns the first child element, or nil.
func (n *Node) FirstChild() *Node {
	if n == nil || len(n.Children) == 0 {
		return nil
	}
	return n.Children[0]
}

// Add appends children and returns n, so trees can be built in one expression.
func (n *Node) Add(children ...*Node) *Node {
	for _, c := range children {
		if c != nil {
			n.Children = append(n.Children, c)
		}
	}
	return n
}

// WithText sets the text content and returns n.
func (n *Node) WithText(text string) *Node {
	n.Text = text
	return n
}

// Elem builds an element with text in one call: Elem("", "body", "hi").
func Elem(space, local, text string) *Node {
	return &Node{Space: space, Local: local, Text: text}
}

// Copy returns a deep copy of n.
func (n *Node) Copy() *Node {
	if n == nil {
		return nil
	}
	c := &Node{Space: n.Space, Local: n.Local, Text: n.Text}
	c.Attrs = append([]Attr(nil), n.Attrs...)
	for _, ch := range n.Children {
		c.Children = append(c.Children, ch.Copy())
	}
	return c
}

// String renders n as XML, for logs and tests.
func (n *Node) String() string {
	b, err := Marshal(n)
	if err != nil {
		return "<!-- " + err.Error() + " -->"
	}
	return string(b)
}

// TrimmedText is the element text without surrounding white space.
func (n *Node) TrimmedText() string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.Text)
}

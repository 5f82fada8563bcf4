package xmlnode

import (
	"unicode/utf8"
)

// AppendXML appends n rendered as XML to dst and returns the extended
// slice. It is the one serializer for stanzas: the component writer puts
// stanzas straight into its buffer with it, and Marshal uses it too.
//
// A namespace is declared only where it changes from the parent's, so
// children in the stream's namespace stay unqualified. Text and attribute
// values are escaped; characters XML cannot carry (most controls, broken
// UTF-8, U+FFFE/U+FFFF) become U+FFFD, as encoding/xml does.
func (n *Node) AppendXML(dst []byte) []byte {
	return n.appendXML(dst, "")
}

func (n *Node) appendXML(dst []byte, parentSpace string) []byte {
	dst = append(dst, '<')
	dst = append(dst, n.Local...)
	if n.Space != parentSpace && n.Space != "" {
		dst = append(dst, ` xmlns="`...)
		dst = appendEscaped(dst, n.Space, true)
		dst = append(dst, '"')
	}
	for _, a := range n.Attrs {
		dst = append(dst, ' ')
		dst = append(dst, a.Name...)
		dst = append(dst, `="`...)
		dst = appendEscaped(dst, a.Value, true)
		dst = append(dst, '"')
	}
	if n.Text == "" && len(n.Children) == 0 {
		return append(dst, "/>"...)
	}
	dst = append(dst, '>')
	dst = appendEscaped(dst, n.Text, false)
	space := n.Space
	if space == "" {
		space = parentSpace
	}
	for _, c := range n.Children {
		dst = c.appendXML(dst, space)
	}
	dst = append(dst, "</"...)
	dst = append(dst, n.Local...)
	return append(dst, '>')
}

// appendEscaped appends s escaped for text content or (attr) a
// double-quoted attribute value.
func appendEscaped(dst []byte, s string, attr bool) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '&' && c != '<' && c != '>' && c != '"' {
			i++ // the common case: printable ASCII that needs nothing
			continue
		}
		var esc string
		width := 1
		switch c {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			if !attr {
				i++
				continue
			}
			esc = "&quot;"
		case '\r':
			esc = "&#xD;" // a literal CR would be normalised away by parsers
		case '\n', '\t':
			if !attr {
				i++
				continue
			}
			// Attribute values are normalised to spaces unless escaped.
			esc = "&#x9;"
			if c == '\n' {
				esc = "&#xA;"
			}
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			width = size
			if validChar(r, size) {
				i += size
				continue
			}
			esc = "\uFFFD"
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, esc...)
		i += width
		start = i
	}
	return append(dst, s[start:]...)
}

// validChar reports whether r (decoded with size bytes) may appear in XML
// 1.0 (the Char production), excluding the ASCII cases handled inline.
func validChar(r rune, size int) bool {
	if r == utf8.RuneError && size == 1 {
		return false // not UTF-8
	}
	switch {
	case r < 0x20:
		return r == '\t' || r == '\n' || r == '\r'
	case r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

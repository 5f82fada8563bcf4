package irctext

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ergochat/irc-go/ircfmt"
)

// hexColour matches the \x04 hex colour code, which ircfmt does not know
// about: \x04 optionally followed by RRGGBB and ",RRGGBB". A bare \x04 resets
// the colour, so the digits are optional.
var hexColour = regexp.MustCompile(`\x04(?:[0-9A-Fa-f]{6}(?:,[0-9A-Fa-f]{6})?)?`)

// noOp replaces hex colour codes before ircfmt parses the text. It must be
// a formatting no-op (bold on, bold off) rather than nothing: deleting the
// code would glue the text around it together, so "\x03\x04FF0000" + "12"
// would turn the literal "12" into a colour number.
const noOp = "\x02\x02"

// style is the set of XEP-0393-expressible styles of a run of text.
type style uint8

const (
	bold style = 1 << iota
	italic
	strike
	mono
)

// directives lists the styles outermost first. Preformatted must be last:
// XEP-0393 does not parse styling inside a preformatted span.
var directives = [...]struct {
	bit  style
	mark byte
}{{bold, '*'}, {italic, '_'}, {strike, '~'}, {mono, '`'}}

type span struct {
	text  string
	style style
}

// ToXMPP converts the text of an IRC message to an XMPP body.
//
// mIRC bold, italic, strikethrough and monospace become XEP-0393 *strong*,
// _emphasis_, ~strike~ and `preformatted` where the result would be read
// back as exactly that span; otherwise the formatting is dropped and the text
// kept. Underline, colours (\x03, \x04) and reverse have no XEP-0393 form and
// are dropped. "Read back exactly" is checked conservatively: the span is
// trimmed of surrounding whitespace (XEP-0393 forbids whitespace just inside
// the directives), must follow the start of the text, whitespace or another
// opening directive, must not contain its own directive character (matching
// is lazy, so it would end the span early) or a line break, and spans nest
// only the way XEP-0393 allows (overlapping IRC ranges lose the inner style).
// Literal *, _, ~ and ` typed by IRC users are left alone: XEP-0393 has no
// escape, and IRC users writing *this* expect it to look bold anyway.
//
// Finally the result holds only characters XML 1.0 allows: invalid UTF-8
// becomes U+FFFD, and C0 controls other than tab, LF and CR (e.g. a stray
// \x01), U+FFFE and U+FFFF are removed, since one such character would make
// the whole stanza unserializable.
//
// CTCP framing is not interpreted here; use CTCP first for /me.
func ToXMPP(ircText string) string {
	if plain(ircText) {
		return ircText // nearly every line: nothing to convert
	}
	return convert(ircText)
}

// convert is ToXMPP's work for text that is not plain.
func convert(ircText string) string {
	s := strings.ToValidUTF8(ircText, "\uFFFD")
	s = hexColour.ReplaceAllLiteralString(s, noOp)
	var spans []span
	for _, f := range ircfmt.Split(s) {
		t := xmlText(f.Content)
		if t == "" {
			continue
		}
		var st style
		if f.Bold {
			st |= bold
		}
		if f.Italic {
			st |= italic
		}
		if f.Strikethrough {
			st |= strike
		}
		if f.Monospace {
			st |= mono
		}
		spans = append(spans, span{t, st})
	}
	var w styler
	w.b.Grow(len(s))
	w.openEnd = -1
	w.render(spans, 0)
	return w.b.String()
}

// plain reports text ToXMPP returns unchanged: valid UTF-8 without IRC
// formatting codes or other controls (all below 0x20, or DEL) and without
// U+FFFE or U+FFFF.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 && c != '\t' || c == 0x7f:
			return false
		case c == 0xef && i+2 < len(s) && s[i+1] == 0xbf && (s[i+2] == 0xbe || s[i+2] == 0xbf):
			return false // U+FFFE, U+FFFF
		}
	}
	return utf8.ValidString(s)
}

// xmlAllowed reports whether r is a Char in XML 1.0 (§2.2). utf8 decoding
// already maps surrogate code points to U+FFFD, which is allowed.
func xmlAllowed(r rune) bool {
	switch {
	case r < 0x20:
		return r == '\t' || r == '\n' || r == '\r'
	case r == 0xfffe, r == 0xffff:
		return false
	}
	return r <= unicode.MaxRune
}

// xmlText removes runes XML 1.0 forbids from valid UTF-8 s.
func xmlText(s string) string {
	return strings.Map(func(r rune) rune {
		if xmlAllowed(r) {
			return r
		}
		return -1
	}, s)
}

// styler writes XEP-0393 text, remembering where the last opening directive
// ended so a nested span may open right after it, and which directive
// characters IRC users typed literally on the current line.
type styler struct {
	b       strings.Builder
	openEnd int
	literal style // directive characters seen in text on this line
}

// canOpen reports whether an opening directive for d written now would be
// one: XEP-0393 requires it at the start of a line, after whitespace, or
// right after another opening directive. A literal d earlier on the line
// might itself open a span that our directive would then close, so that
// disqualifies d for the rest of the line.
func (w *styler) canOpen(d style) bool {
	if w.literal&d != 0 {
		return false
	}
	n := w.b.Len()
	if n == 0 || n == w.openEnd {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(w.b.String())
	return unicode.IsSpace(r)
}

// text writes unstyled text, noting literal directive characters.
func (w *styler) text(s string) {
	w.b.WriteString(s)
	if i := strings.LastIndexAny(s, "\r\n"); i >= 0 {
		w.literal = 0
		s = s[i+1:]
	}
	for _, d := range directives {
		if strings.IndexByte(s, d.mark) >= 0 {
			w.literal |= d.bit
		}
	}
}

// render writes spans, expressing directives[level:] as XEP-0393 spans. Each
// level splits the text into maximal runs with and without its style and
// recurses, so outer styles enclose inner ones.
func (w *styler) render(spans []span, level int) {
	if level == len(directives) {
		for _, s := range spans {
			w.text(s.text)
		}
		return
	}
	d := directives[level]
	for len(spans) > 0 {
		on := spans[0].style&d.bit != 0
		n := 1
		for n < len(spans) && (spans[n].style&d.bit != 0) == on {
			n++
		}
		run := spans[:n]
		spans = spans[n:]
		if !on {
			w.render(run, level+1)
			continue
		}
		lead, core, trail := trimSpans(run)
		w.render(lead, len(directives)) // whitespace: styling is invisible
		if len(core) > 0 && w.canOpen(d.bit) && clean(core, d.mark) {
			w.b.WriteByte(d.mark)
			w.openEnd = w.b.Len()
			w.render(core, level+1)
			w.b.WriteByte(d.mark)
		} else {
			w.render(core, level+1)
		}
		w.render(trail, len(directives))
	}
}

// clean reports whether spans, wrapped in mark, form exactly one XEP-0393
// span: spans never cross lines and end at the first closing mark.
func clean(spans []span, mark byte) bool {
	for _, s := range spans {
		if strings.IndexByte(s.text, mark) >= 0 || strings.ContainsAny(s.text, "\r\n") {
			return false
		}
	}
	return true
}

// trimSpans splits spans into leading whitespace, the core, and trailing
// whitespace, cutting spans where needed. core is empty if all is space.
func trimSpans(spans []span) (lead, core, trail []span) {
	var all strings.Builder
	for _, s := range spans {
		all.WriteString(s.text)
	}
	t := all.String()
	start := len(t) - len(strings.TrimLeftFunc(t, unicode.IsSpace))
	end := len(strings.TrimRightFunc(t, unicode.IsSpace))
	if start >= end {
		return spans, nil, nil
	}
	lead, rest := cutSpans(spans, start)
	core, trail = cutSpans(rest, end-start)
	return lead, core, trail
}

// cutSpans splits spans at byte offset off of their concatenated text.
func cutSpans(spans []span, off int) (before, after []span) {
	for i, s := range spans {
		if off == 0 {
			return spans[:i:i], spans[i:]
		}
		if off < len(s.text) {
			before = append(spans[:i:i], span{s.text[:off], s.style})
			after = append([]span{{s.text[off:], s.style}}, spans[i+1:]...)
			return before, after
		}
		off -= len(s.text)
	}
	return spans, nil
}

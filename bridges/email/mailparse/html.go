package mailparse

import (
	"strings"

	"github.com/k3a/html2text"
	"golang.org/x/net/html"
)

// htmlTextBudget stops HTML conversion once this much visible text has been
// produced: Text is cut at MaxText anyway, and markup-heavy mail is slow to
// convert.
const htmlTextBudget = 2 * MaxText

// htmlToText renders an HTML body as plain text and reports whether it
// stopped early.
//
// html2text does the rendering (entities, links as "text <url>", list
// items), but it scans tags naively: a '>' inside <style> or <script>, an
// <a> without href, or a tag with attributes it does not expect can hide
// the rest of the document. So the document is first tokenized with
// golang.org/x/net/html and reduced to plain text plus the few tags
// html2text understands (<br>, <a href>, <li>, </ul>), with script, style,
// head and the like already gone.
func htmlToText(src string) (string, bool) {
	c := newHTMLConv()
	cut := c.run(src)
	return html2text.HTML2TextWithOptions(c.out.String(),
		html2text.WithUnixLineBreaks(),
		html2text.WithLinksInnerText(),
		html2text.WithListSupport(),
		// Spaces are already collapsed here, across tokens too; keeping
		// them lets <pre> keep its indentation.
		html2text.WithKeepSpaces(),
	), cut
}

// skippedElements have content that is not shown to a reader.
var skippedElements = map[string]bool{
	"head": true, "title": true, "script": true, "style": true, "template": true,
	"svg": true, "math": true, "noscript": true, "iframe": true, "noembed": true,
	"noframes": true, "xmp": true,
}

// rawTextElements are those whose content the tokenizer reads as raw text
// even when the start tag is written self-closing.
var rawTextElements = map[string]bool{
	"title": true, "script": true, "style": true, "noscript": true,
	"iframe": true, "noembed": true, "noframes": true, "xmp": true,
}

// blockBreaks gives the line breaks a block element puts around itself: 2
// for a paragraph (a blank line), 1 for a line.
var blockBreaks = map[string]int{
	"p": 2, "h1": 2, "h2": 2, "h3": 2, "h4": 2, "h5": 2, "h6": 2,
	"blockquote": 2, "pre": 2, "dl": 2, "figure": 2, "address": 2,
	"div": 1, "tr": 1, "table": 1, "tbody": 1, "thead": 1, "tfoot": 1,
	"section": 1, "article": 1, "header": 1, "footer": 1, "nav": 1,
	"aside": 1, "main": 1, "center": 1, "form": 1, "fieldset": 1,
	"dt": 1, "dd": 1, "caption": 1, "figcaption": 1, "details": 1,
	"summary": 1, "hr": 1, "hgroup": 1, "legend": 1, "ul": 1, "ol": 1,
}

const maxSkipDepth = 100

// htmlConv accumulates the simplified document.
type htmlConv struct {
	out      strings.Builder
	skip     []string // open skipped elements
	pre      int      // depth of <pre>
	pending  int      // line breaks owed before the next text
	newlines int      // line breaks just written
	lineBare bool     // nothing visible written on the current line yet
	endSpace bool     // the last text written ended in a space
	space    bool     // a table cell started: separate it from the last one
	visible  int      // bytes of text written
	link     *htmlLink
}

// htmlLink is an open <a href>: its content is held back until </a>, to
// drop the URL when the text already says it.
type htmlLink struct {
	href string
	out  strings.Builder
	text strings.Builder
}

func newHTMLConv() *htmlConv { return &htmlConv{lineBare: true} }

func (c *htmlConv) w() *strings.Builder {
	if c.link != nil {
		return &c.link.out
	}
	return &c.out
}

// run tokenizes src and reports whether it stopped at htmlTextBudget.
func (c *htmlConv) run(src string) bool {
	z := html.NewTokenizer(strings.NewReader(src))
	for c.visible < htmlTextBudget {
		switch z.Next() {
		case html.ErrorToken:
			c.endLink()
			return false
		case html.TextToken:
			c.text(string(z.Text()))
		case html.StartTagToken:
			c.start(z, false)
		case html.SelfClosingTagToken:
			c.start(z, true)
		case html.EndTagToken:
			name, _ := z.TagName()
			c.end(string(name))
		}
	}
	c.endLink()
	return true
}

func (c *htmlConv) start(z *html.Tokenizer, selfClosing bool) {
	nameB, hasAttr := z.TagName()
	name := string(nameB)
	var attrs map[string]string
	if hasAttr {
		attrs = tagAttrs(z)
	}
	if !headElements[name] {
		c.leaveHead()
	}
	if skippedElements[name] {
		if (!selfClosing || rawTextElements[name]) && len(c.skip) < maxSkipDepth {
			c.skip = append(c.skip, name)
		}
		return
	}
	if len(c.skip) > 0 {
		return
	}
	c.startVisible(name, attrs)
}

func (c *htmlConv) startVisible(name string, attrs map[string]string) {
	switch name {
	case "br":
		c.w().WriteString("<br>")
		c.newlines++
		c.lineBare, c.endSpace, c.pending = true, false, 0
	case "li":
		// html2text starts the item on a new line itself: write only
		// what is owed beyond that (the blank line after a paragraph).
		c.pending = max(c.pending-1, 0)
		c.flushBreaks()
		c.w().WriteString("<li>")
		c.newlines, c.lineBare, c.endSpace = 0, true, false
	case "td", "th":
		c.space = true
	case "a":
		c.startLink(attrs["href"])
	case "img":
		if c.link != nil { // an image link's alt text is all it says
			c.text(attrs["alt"])
		}
	case "pre":
		c.pre++
	}
	c.block(name)
}

func (c *htmlConv) end(name string) {
	if skippedElements[name] {
		c.closeSkipped(name)
		return
	}
	if len(c.skip) > 0 {
		return
	}
	switch name {
	case "a":
		c.endLink()
	case "ul", "ol":
		c.w().WriteString("</" + name + ">") // html2text ends the list line
		c.newlines++
		c.lineBare, c.endSpace = true, false
	case "pre":
		c.pre = max(c.pre-1, 0)
	}
	c.block(name)
}

// headElements may appear inside <head>; any other element, and any text,
// ends it, as in an HTML parser. A missing </head> must not hide the body.
var headElements = map[string]bool{
	"head": true, "title": true, "style": true, "script": true, "meta": true,
	"link": true, "base": true, "noscript": true, "template": true,
}

// leaveHead closes <head> if it is the innermost open skipped element.
func (c *htmlConv) leaveHead() {
	if n := len(c.skip); n > 0 && c.skip[n-1] == "head" {
		c.skip = c.skip[:n-1]
	}
}

// closeSkipped closes the innermost open skipped element called name and
// those opened inside it.
func (c *htmlConv) closeSkipped(name string) {
	for i := len(c.skip) - 1; i >= 0; i-- {
		if c.skip[i] == name {
			c.skip = c.skip[:i]
			return
		}
	}
}

func (c *htmlConv) block(name string) {
	if n := blockBreaks[name]; n > c.pending {
		c.pending = n
	}
}

func (c *htmlConv) text(s string) {
	if strings.TrimSpace(s) != "" {
		c.leaveHead()
	}
	if len(c.skip) > 0 || s == "" {
		return
	}
	if c.pre > 0 {
		c.preText(s)
		return
	}
	s = collapseSpace(s)
	if c.lineBare || c.pending > 0 || c.endSpace {
		s = strings.TrimLeft(s, " ")
	}
	if s == "" {
		return
	}
	c.flushBreaks()
	if c.space && !c.lineBare && !c.endSpace && !strings.HasPrefix(s, " ") {
		s = " " + s
	}
	c.write(s)
}

// preText keeps the line breaks of preformatted text.
func (c *htmlConv) preText(s string) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			c.w().WriteString("<br>")
			c.newlines++
			c.lineBare, c.endSpace = true, false
		}
		if line != "" {
			c.flushBreaks()
			c.write(line)
		}
	}
}

// write emits visible text, escaped for html2text, which decodes it again.
func (c *htmlConv) write(s string) {
	c.w().WriteString(html.EscapeString(s))
	if c.link != nil {
		c.link.text.WriteString(s)
	}
	c.visible += len(s)
	c.newlines, c.lineBare, c.space = 0, false, false
	c.endSpace = strings.HasSuffix(s, " ")
}

// flushBreaks writes the line breaks owed by block elements, counting those
// already written so that nested blocks do not pile up empty lines.
func (c *htmlConv) flushBreaks() {
	if c.visible > 0 {
		for c.newlines < c.pending {
			c.w().WriteString("<br>")
			c.newlines++
			c.lineBare, c.endSpace = true, false
		}
	}
	c.pending = 0
}

func (c *htmlConv) startLink(href string) {
	c.endLink() // links do not nest
	href = strings.TrimSpace(href)
	if !shownScheme(href) {
		return
	}
	c.link = &htmlLink{href: href}
}

// endLink writes the held-back link: its text, followed by the URL unless
// the text already is the URL. A link without any text (an image button
// without alt text) is dropped.
func (c *htmlConv) endLink() {
	l := c.link
	if l == nil {
		return
	}
	c.link = nil
	text := strings.TrimSpace(l.text.String())
	if text == "" || sameLink(text, l.href) {
		c.out.WriteString(l.out.String())
		return
	}
	// html2text writes " <url>" after the text: no space of our own before.
	c.out.WriteString(`<a href="` + html.EscapeString(l.href) + `">`)
	c.out.WriteString(strings.TrimRight(l.out.String(), " "))
	c.out.WriteString("</a>")
	c.endSpace = false
}

// shownScheme reports whether a link target means something to a reader:
// not an in-page anchor, a cid: image or a script.
func shownScheme(href string) bool {
	h := strings.ToLower(href)
	for _, p := range []string{"http://", "https://", "mailto:", "ftp://", "tel:", "xmpp:"} {
		if strings.HasPrefix(h, p) {
			return true
		}
	}
	return false
}

// sameLink reports whether a link's text already shows its target, as in
// <a href="https://example.org/">example.org</a>.
func sameLink(text, href string) bool {
	norm := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		for _, p := range []string{"mailto:", "https://", "http://", "tel:", "xmpp:"} {
			s = strings.TrimPrefix(s, p)
		}
		return strings.TrimSuffix(strings.TrimPrefix(s, "www."), "/")
	}
	return norm(text) == norm(href)
}

// tagAttrs returns the attributes we use (href, alt); the first of each
// wins, as in a browser.
func tagAttrs(z *html.Tokenizer) map[string]string {
	attrs := map[string]string{}
	for {
		k, v, more := z.TagAttr()
		if key := string(k); key == "href" || key == "alt" {
			if _, dup := attrs[key]; !dup {
				attrs[key] = string(v)
			}
		}
		if !more {
			return attrs
		}
	}
}

// collapseSpace folds runs of HTML white space into one space, as a
// browser renders them.
func collapseSpace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	inSpace := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' {
			if !inSpace {
				b.WriteByte(' ')
			}
			inSpace = true
			continue
		}
		inSpace = false
		b.WriteRune(r)
	}
	return b.String()
}

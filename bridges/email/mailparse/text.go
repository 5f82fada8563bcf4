package mailparse

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// cutMark is appended to a Text that was cut.
const cutMark = "\n[…]"

// sanitize makes s safe to carry in XMPP: valid UTF-8, "\n" line endings,
// and none of the characters XML 1.0 forbids (C0 controls but tab and line
// feed, U+FFFE, U+FFFF). NUL in particular would break the stream.
func sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0xFFFE || r == 0xFFFF:
			return -1
		}
		return r
	}, s)
}

// finishText turns decoded body text into Text: see Mail.Text. cut says the
// input was already shortened while reading.
func finishText(s string, flowed, delsp, cut bool) string {
	s = sanitize(s)
	if flowed {
		s = unflow(s, delsp)
	}
	s = tidyLines(s)
	if len(s) > MaxText {
		s, cut = truncateUTF8(s, MaxText), true
		s = strings.TrimRightFunc(s, unicode.IsSpace)
	}
	if cut {
		if s == "" {
			return strings.TrimPrefix(cutMark, "\n")
		}
		s += cutMark
	}
	return s
}

// tidyLines drops trailing white space on each line, allows at most two
// blank lines in a row and drops leading and trailing blank lines.
func tidyLines(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	blanks := 0
	started := false
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimRightFunc(line, unicode.IsSpace)
		if line == "" {
			blanks++
			continue
		}
		if started {
			b.WriteString(strings.Repeat("\n", 1+min(blanks, 2)))
		}
		b.WriteString(line)
		started, blanks = true, 0
	}
	return b.String()
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// unflow undoes RFC 3676 format=flowed: a line ending in a space continues
// on the next line of the same quote depth. Rejoining matters in a chat,
// which wraps text itself; the hard breaks of a 72-column mail would make
// ragged lines. Quoted lines are written back as "> " prefixes.
func unflow(s string, delsp bool) string {
	var b strings.Builder
	b.Grow(len(s))
	prevFlowed, prevDepth := false, -1
	for i, line := range strings.Split(s, "\n") {
		depth := len(line) - len(strings.TrimLeft(line, ">"))
		content := strings.TrimPrefix(line[depth:], " ") // space-stuffing
		flowed := strings.HasSuffix(content, " ") && content != "-- "
		if flowed && delsp {
			content = content[:len(content)-1]
		}
		if !(prevFlowed && depth == prevDepth) {
			if i > 0 {
				b.WriteByte('\n')
			}
			if depth > 0 {
				b.WriteString(strings.Repeat(">", depth) + " ")
			}
		}
		b.WriteString(content)
		prevFlowed, prevDepth = flowed, depth
	}
	return b.String()
}

// cleanLine makes a header value fit for one line of display: valid UTF-8,
// every run of white space that holds a line break, tab or other control
// character folded to one space, and trimmed.
func cleanLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	run, runHasCtl := 0, false
	endRun := func() {
		if runHasCtl {
			b.WriteByte(' ')
		} else {
			b.WriteString(strings.Repeat(" ", run))
		}
		run, runHasCtl = 0, false
	}
	for _, r := range s {
		switch {
		case r == ' ':
			run++
		case r < 0x20 || r == 0x7f || r == 0xFFFE || r == 0xFFFF:
			run, runHasCtl = run+1, true
		default:
			if run > 0 {
				endRun()
			}
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// capLine cuts a one-line value to n bytes, for reasons and names that are
// shown but must stay short.
func capLine(s string, n int) string {
	return truncateUTF8(cleanLine(s), n)
}

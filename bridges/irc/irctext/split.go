package irctext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// spaceWindow is the tail fraction (in tenths) of a chunk searched for a
// space to break at. Breaking at a word boundary reads far better on IRC, but
// looking further back would leave many visibly short lines.
const spaceWindow = 3

// Split cuts one line into chunks of at most budget bytes whose concatenation
// is the line, so that no server has to truncate what we send.
//
// Invalid UTF-8 is first replaced with U+FFFD (the result is what the chunks
// concatenate to). A chunk never ends inside a UTF-8 sequence, and where a
// boundary can be found cheaply it does not separate a base character from
// what modifies it: combining marks, variation selectors, emoji modifiers,
// tag characters, either side of a zero-width joiner, or the two halves of a
// regional-indicator flag. This is an approximation of grapheme clusters
// (UAX #29) that covers what users actually notice, without a table-driven
// segmenter. When a whole chunk is one such cluster, it is cut at a rune
// boundary instead.
//
// When a space occurs in the last 30% of the chunk, the chunk ends just after
// the last such space, so words stay whole and the next chunk does not start
// with a space.
//
// budget is raised to utf8.UTFMax if smaller, since otherwise a single rune
// might never fit and no progress could be made. An empty line yields nil.
func Split(text string, budget int) []string {
	text = strings.ToValidUTF8(text, "\uFFFD")
	budget = max(budget, utf8.UTFMax)
	var chunks []string
	for len(text) > budget {
		cut := cutPoint(text, budget)
		chunks = append(chunks, text[:cut])
		text = text[cut:]
	}
	if text != "" {
		chunks = append(chunks, text)
	}
	return chunks
}

// cutPoint returns where to end the first chunk of s, which is valid UTF-8
// longer than budget (≥ utf8.UTFMax). The result is in (0, budget].
func cutPoint(s string, budget int) int {
	// Last rune boundary within budget. There is one after index 0 because
	// the first rune is at most utf8.UTFMax bytes.
	hard := budget
	for !utf8.RuneStart(s[hard]) {
		hard--
	}
	cut := hard
	for cut > 0 && !breakable(s, cut) {
		_, n := utf8.DecodeLastRuneInString(s[:cut])
		cut -= n
	}
	if cut == 0 {
		cut = hard // one cluster longer than budget: rune boundary it is
	}
	// ' ' is a single byte that never occurs inside a multi-byte sequence,
	// so any i+1 after a space is a rune boundary.
	for i := budget - 1; i >= cut-cut*spaceWindow/10; i-- {
		if s[i] == ' ' && breakable(s, i+1) {
			return i + 1
		}
	}
	return cut
}

// breakable reports whether a chunk may end at byte i of s (0 < i < len(s),
// i a rune boundary) without visibly tearing a character apart.
func breakable(s string, i int) bool {
	next, _ := utf8.DecodeRuneInString(s[i:])
	prev, _ := utf8.DecodeLastRuneInString(s[:i])
	switch {
	case extends(next), prev == zwj:
		return false
	case isRegional(prev) && isRegional(next):
		// Flags are pairs; break only after an even number of indicators.
		n := 0
		for j := i; j > 0; {
			r, size := utf8.DecodeLastRuneInString(s[:j])
			if !isRegional(r) {
				break
			}
			n++
			j -= size
		}
		return n%2 == 0
	}
	return true
}

const zwj = '\u200d'

// extends reports whether r attaches to the character before it.
func extends(r rune) bool {
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc) ||
		r == zwj ||
		(r >= 0x1f3fb && r <= 0x1f3ff) || // emoji skin-tone modifiers
		(r >= 0xe0020 && r <= 0xe007f) // tag characters (subdivision flags)
}

func isRegional(r rune) bool { return r >= 0x1f1e6 && r <= 0x1f1ff }

// Truncate returns the first chunk Split would cut text into: text itself
// when it fits budget bytes, else a prefix that ends on a character (and,
// where there is one nearby, a word) boundary. Invalid UTF-8 becomes
// U+FFFD.
func Truncate(text string, budget int) string {
	if chunks := Split(text, budget); len(chunks) > 0 {
		return strings.TrimRight(chunks[0], " ")
	}
	return ""
}

package irctext

import "strings"

// Lines splits an XMPP message body into the text lines an IRC message can
// carry, in order.
//
// Line breaks are \r\n, \n and \r (XMPP clients disagree on which they send).
// Within a line, C0 control characters are removed except tab and the mIRC
// formatting codes (\x02 \x03 \x04 \x0f \x11 \x16 \x1d \x1e \x1f), which a
// caller may have produced deliberately when translating XEP-0393 styling.
// \x01 is always removed: CTCP is framed by \x01, so leaving it in would let
// an XMPP user forge CTCP requests (or fake a /me) on IRC; Privmsgs adds it
// back only when it builds an ACTION itself. NUL, CR and LF can never appear
// in an IRC line at all. Invalid UTF-8 becomes U+FFFD.
//
// Blank (empty or whitespace-only) lines at the start and end are dropped. IRC
// cannot send an empty PRIVMSG, yet an interior blank line usually separates
// paragraphs or code blocks, so each run of interior blank lines becomes a
// single line holding one space: readers still see the break, and a body of
// thousands of newlines cannot turn into thousands of IRC lines.
//
// A body with no visible lines yields nil.
func Lines(body string) []string {
	body = strings.ToValidUTF8(body, "\uFFFD")
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\r", "\n")

	var out []string
	blank := false // an interior blank line is pending
	for _, line := range strings.Split(body, "\n") {
		line = stripControls(line)
		if strings.TrimSpace(line) == "" {
			blank = len(out) > 0
			continue
		}
		if blank {
			out = append(out, " ")
			blank = false
		}
		out = append(out, line)
	}
	return out
}

// keepControl reports whether the C0 control c may stay in outgoing text:
// tab is ordinary text to IRC, and the formatting codes are how IRC styles.
func keepControl(c byte) bool {
	switch c {
	case '\t', 0x02, 0x03, 0x04, 0x0f, 0x11, 0x16, 0x1d, 0x1e, 0x1f:
		return true
	}
	return false
}

// stripControls removes the C0 controls keepControl rejects. It works on
// bytes because C0 bytes never occur inside a multi-byte UTF-8 sequence.
func stripControls(s string) string {
	i := 0
	for i < len(s) && (s[i] >= 0x20 || keepControl(s[i])) {
		i++
	}
	if i == len(s) {
		return s // common case: nothing to strip, no allocation
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		if c := s[i]; c >= 0x20 || keepControl(c) {
			b = append(b, c)
		}
	}
	return string(b)
}

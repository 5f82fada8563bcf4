package ircaddr

import (
	"encoding/hex"
	"strings"
)

// escapable holds the ten characters XEP-0106 §3.2 escapes as a backslash and
// two lower-case hex digits: space \20, " \22, & \26, ' \27, / \2f, : \3a,
// < \3c, > \3e, @ \40 and \ \5c. All are ASCII, so working on bytes is safe
// for UTF-8 input: no byte of a multi-byte sequence can match.
const escapable = ` "&'/:<>@\`

const hexDigits = "0123456789abcdef"

// escape applies XEP-0106 escaping to one half of a local part.
//
// Unlike XEP-0106 §4.2, which escapes a backslash only when what follows it
// would read as an escape sequence, every backslash is written as \5c. The
// XEP rule makes the escaped form depend on the next two bytes (so `foo\bar`
// stays `foo\bar` but `foo\5cbar` must become `foo\5c5cbar`); escaping all of
// them is context-free, still decoded correctly by any XEP-0106 unescaper,
// and gives each IRC name exactly one canonical local part.
//
// mellium.im/xmpp/jid.Escape is not used because in v0.22.0 it drops bytes
// once the input crosses a transform buffer boundary.
func escape(s string) string {
	if !strings.ContainsAny(s, escapable) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(escapable, c) < 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('\\')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
	}
	return b.String()
}

// unescape reverses escape in a single left-to-right pass: `\5c20` is a
// backslash followed by "20", never a space. A backslash that does not start
// one of the ten sequences is kept as a literal backslash, as XEP-0106 §3.3
// requires, so local parts written by a client that follows the XEP's
// "escape a backslash only when needed" rule are understood too. Hex digits
// are accepted in either case.
//
// mellium.im/xmpp/jid.Unescape is not used because in v0.22.0 it decodes the
// wrong bytes when an escape is not at offset 0 or 1 (`ab\40c` gives
// "ab\fc") and can panic.
func unescape(s string) string {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+2 < len(s) {
			if v, ok := unhexPair(s[i+1], s[i+2]); ok && strings.IndexByte(escapable, v) >= 0 {
				b.WriteByte(v)
				i += 2
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// unhexPair decodes two hex digits, either case.
func unhexPair(a, b byte) (byte, bool) {
	var out [1]byte
	_, err := hex.Decode(out[:], []byte{a, b})
	return out[0], err == nil
}

package mailaddr

import (
	"encoding/hex"
	"strings"
)

// special lists the ten characters XEP-0106 escapes, all ASCII, so a byte
// scan never splits a multi-byte UTF-8 sequence.
const special = " \"&'/:<>@\\"

const lowerHex = "0123456789abcdef"

// escape replaces each special byte of s with a backslash and its value in
// two lower-case hex digits. Backslashes are always escaped (as \5c), which
// makes the mapping context-free and injective.
func escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(special, s[i]) >= 0 {
			n++
		}
	}
	if n == 0 {
		return s
	}
	out := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(special, c) < 0 {
			out = append(out, c)
			continue
		}
		out = append(out, '\\', lowerHex[c>>4], lowerHex[c&0x0f])
	}
	return string(out)
}

// escapeAt reports whether s[i:] starts with an escape sequence for one of
// the special characters (hex digits in either case) and returns the
// character.
func escapeAt(s string, i int) (byte, bool) {
	if i+3 > len(s) || s[i] != '\\' {
		return 0, false
	}
	c, ok := unhexPair(s[i+1], s[i+2])
	if !ok {
		return 0, false
	}
	if strings.IndexByte(special, c) < 0 {
		return 0, false
	}
	return c, true
}

// unescape decodes escape sequences left to right; a backslash that does not
// start one is kept as it is (and later rejected by Address, since escape
// never produces one).
func unescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c, ok := escapeAt(s, i); ok {
			out = append(out, c)
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return string(out)
}

// lowerHexEscapes lower-cases the hex digits of every escape sequence in s,
// parsing exactly as unescape does.
func lowerHexEscapes(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	out := []byte(s)
	for i := 0; i < len(out); i++ {
		if _, ok := escapeAt(s, i); ok {
			out[i+1] = toLowerASCII(out[i+1])
			out[i+2] = toLowerASCII(out[i+2])
			i += 2
		}
	}
	return string(out)
}

func toLowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// unhexPair decodes two hex digits, either case.
func unhexPair(a, b byte) (byte, bool) {
	var out [1]byte
	_, err := hex.Decode(out[:], []byte{a, b})
	return out[0], err == nil
}

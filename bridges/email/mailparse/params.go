package mailparse

import (
	"encoding/hex"
	"strconv"
	"strings"
)

// maxParamPieces bounds RFC 2231 continuations (name*0, name*1, ...).
const maxParamPieces = 100

// parseHeaderValue splits a Content-Type or Content-Disposition value into
// its lower-cased token and its parameters (names lower-cased, RFC 2231
// continuations joined and charsets decoded, RFC 2047 left alone).
//
// mime.ParseMediaType is not used: it rejects the whole value for faults
// that are common in real mail (an unquoted boundary containing "=", a file
// name with spaces, a duplicate parameter) and it drops RFC 2231 values in
// any charset but UTF-8 and US-ASCII. Losing the boundary loses the whole
// structure of the message, so this parser takes what it can.
func parseHeaderValue(v string) (string, map[string]string) {
	segs := splitParams(v)
	token := strings.ToLower(strings.TrimSpace(stripComment(segs[0])))
	params := map[string]string{}
	ext := map[string]map[int]piece{}
	for _, s := range segs[1:] {
		k, val, ok := strings.Cut(s, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || k == "" {
			continue
		}
		val = unquote(strings.TrimSpace(val))
		name, n, encoded, isExt := splitExtName(k)
		if !isExt {
			if _, dup := params[name]; !dup {
				params[name] = val
			}
			continue
		}
		if ext[name] == nil {
			ext[name] = map[int]piece{}
		}
		if _, dup := ext[name][n]; !dup && len(ext[name]) < maxParamPieces {
			ext[name][n] = piece{val, encoded}
		}
	}
	for name, pieces := range ext {
		if s, ok := joinPieces(pieces); ok {
			params[name] = s // the RFC 2231 form is the more exact one
		}
	}
	return token, params
}

// piece is one RFC 2231 section of a parameter value.
type piece struct {
	value   string
	encoded bool // percent-encoded (the name ended in '*')
}

// splitParams splits v at the semicolons that are not inside a quoted
// string.
func splitParams(v string) []string {
	var segs []string
	inQuote, start := false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			if inQuote {
				i++
			}
		case '"':
			inQuote = !inQuote
		case ';':
			if !inQuote {
				segs = append(segs, v[start:i])
				start = i + 1
			}
		}
	}
	return append(segs, v[start:])
}

// unquote removes the quotes and backslash escapes of a quoted string. An
// unquoted value loses a trailing comment, as in "us-ascii (Plain Text)".
func unquote(v string) string {
	if !strings.HasPrefix(v, `"`) {
		if i := strings.Index(v, " ("); i > 0 && strings.HasSuffix(v, ")") {
			v = strings.TrimSpace(v[:i])
		}
		return v
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			if i+1 < len(v) {
				i++
				b.WriteByte(v[i])
			}
		case '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String() // unterminated: take what there is
}

// stripComment drops a comment following a token ("text/plain (body)").
func stripComment(s string) string {
	if i := strings.IndexByte(s, '('); i >= 0 {
		return s[:i]
	}
	return s
}

// splitExtName recognises the RFC 2231 names "name*", "name*N" and
// "name*N*".
func splitExtName(k string) (name string, n int, encoded, isExt bool) {
	star := strings.IndexByte(k, '*')
	if star < 0 {
		return k, 0, false, false
	}
	name, rest := k[:star], k[star+1:]
	if rest == "" {
		return name, 0, true, true
	}
	encoded = strings.HasSuffix(rest, "*")
	rest = strings.TrimSuffix(rest, "*")
	if len(rest) == 0 || len(rest) > 3 || (len(rest) > 1 && rest[0] == '0') {
		return k, 0, false, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 {
		return k, 0, false, false
	}
	return name, n, encoded, true
}

// joinPieces reassembles an RFC 2231 value from sections 0, 1, ... and
// converts it from the charset named in section 0.
func joinPieces(pieces map[int]piece) (string, bool) {
	first, ok := pieces[0]
	if !ok {
		return "", false
	}
	var cs string
	var raw []byte
	for n := 0; ; n++ {
		p, ok := pieces[n]
		if !ok {
			break
		}
		v := p.value
		if n == 0 && p.encoded {
			if parts := strings.SplitN(v, "'", 3); len(parts) == 3 {
				cs, v = parts[0], parts[2]
			}
		}
		if p.encoded {
			raw = append(raw, percentDecode(v)...)
		} else {
			raw = append(raw, v...)
		}
	}
	if !first.encoded || cs == "" {
		return string(raw), true
	}
	s, _ := toUTF8(raw, cs, len(raw)*4+16)
	return s, true
}

// percentDecode undoes %XX escapes; a '%' not followed by two hex digits is
// kept as it is.
func percentDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if b, ok := unhex2(s[i+1], s[i+2]); ok {
				out = append(out, b)
				i += 2
				continue
			}
		}
		out = append(out, s[i])
	}
	return out
}

func unhex2(a, b byte) (byte, bool) {
	var out [1]byte
	_, err := hex.Decode(out[:], []byte{a, b})
	return out[0], err == nil
}

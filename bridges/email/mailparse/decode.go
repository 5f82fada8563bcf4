package mailparse

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	message "github.com/emersion/go-message"
	// Registers every charset golang.org/x/text knows with go-message, so
	// that message.CharsetReader can decode non-UTF-8 mail.
	_ "github.com/emersion/go-message/charset"
	htmlcharset "golang.org/x/net/html/charset"
)

// sink collects decoded bytes up to limit (all when limit < 0) while
// counting all of them, so a size can be measured without holding the data.
type sink struct {
	out   []byte
	limit int
	size  int64
}

func (s *sink) write(b ...byte) {
	s.size += int64(len(b))
	if s.limit < 0 {
		s.out = append(s.out, b...)
		return
	}
	if room := s.limit - len(s.out); room > 0 {
		s.out = append(s.out, b[:min(room, len(b))]...)
	}
}

// decodeTransfer undoes a Content-Transfer-Encoding. It returns at most
// limit bytes (all when limit < 0) and the full decoded size. Decoding is
// lenient: whatever can be decoded is, the rest is skipped. Unknown
// encodings are passed through, as RFC 2045 §6.4 suggests treating the body
// as opaque data.
func decodeTransfer(enc string, raw []byte, limit int) ([]byte, int64) {
	s := sink{limit: limit}
	switch enc {
	case "base64":
		decodeBase64(raw, &s)
	case "quoted-printable":
		decodeQP(raw, &s)
	default:
		if limit >= 0 && len(raw) > limit {
			return raw[:limit:limit], int64(len(raw))
		}
		return raw, int64(len(raw))
	}
	return s.out, s.size
}

var b64val = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// decodeBase64 decodes base64, skipping characters outside the alphabet and
// treating '=' as the end of a (possibly short) quantum, so that bodies
// made of several concatenated base64 blocks decode too.
func decodeBase64(raw []byte, s *sink) {
	var q [4]byte
	n := 0
	flush := func() {
		switch n {
		case 2:
			s.write(q[0]<<2 | q[1]>>4)
		case 3:
			s.write(q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2)
		}
		n = 0 // a single leftover character carries no whole byte
	}
	for _, c := range raw {
		if v := b64val[c]; v != 0xff {
			q[n] = v
			n++
			if n == 4 {
				s.write(q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2, q[2]<<6|q[3])
				n = 0
			}
		} else if c == '=' {
			flush()
		}
	}
	flush()
}

// decodeQP decodes quoted-printable (RFC 2045 §6.7). Each line keeps the line
// ending it had; trailing white space, added by transports, is dropped; a
// '=' that does not start an escape is kept literally.
func decodeQP(raw []byte, s *sink) {
	for pos := 0; pos < len(raw); {
		end := bytes.IndexByte(raw[pos:], '\n')
		var line, eol []byte
		if end < 0 {
			line, pos = raw[pos:], len(raw)
		} else {
			line, eol, pos = raw[pos:pos+end], []byte{'\n'}, pos+end+1
			if bytes.HasSuffix(line, []byte{'\r'}) {
				line, eol = line[:len(line)-1], []byte("\r\n")
			}
		}
		line = bytes.TrimRight(line, " \t")
		if bytes.HasSuffix(line, []byte{'='}) {
			line, eol = line[:len(line)-1], nil // soft line break
		}
		qpLine(line, s)
		s.write(eol...)
	}
}

func qpLine(line []byte, s *sink) {
	for i := 0; i < len(line); i++ {
		if line[i] == '=' && i+2 < len(line) {
			if b, ok := unhex2(line[i+1], line[i+2]); ok {
				s.write(b)
				i += 2
				continue
			}
		}
		s.write(line[i])
	}
}

// latin1Aliases are the labels of ISO-8859-1. They are decoded as
// Windows-1252, as browsers do (WHATWG Encoding): mail that says Latin-1
// very often carries Windows-1252 quotes and dashes in 0x80–0x9F, which
// Latin-1 would turn into invisible C1 controls.
var latin1Aliases = map[string]bool{
	"iso-8859-1": true, "iso8859-1": true, "iso_8859-1": true, "latin1": true,
	"l1": true, "cp819": true, "ibm819": true, "iso-ir-100": true, "csisolatin1": true,
	"iso_8859-1:1987": true,
}

// toUTF8 converts data from charset cs to UTF-8, keeping at most limit bytes
// of output, and reports whether output was cut. When the charset is
// unknown or its decoder fails, the raw bytes are returned; the caller
// replaces invalid UTF-8.
func toUTF8(data []byte, cs string, limit int) (string, bool) {
	cs = strings.ToLower(strings.TrimSpace(cs))
	if latin1Aliases[cs] {
		cs = "windows-1252"
	}
	switch cs {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return capString(data, limit)
	}
	if message.CharsetReader == nil {
		return capString(data, limit)
	}
	r, err := message.CharsetReader(cs, bytes.NewReader(data))
	if err != nil || r == nil {
		return capString(data, limit)
	}
	return readCapped(r, data, limit)
}

// readCapped reads at most limit bytes of converted text from r, falling
// back to the raw data if the decoder fails before producing anything.
func readCapped(r io.Reader, raw []byte, limit int) (string, bool) {
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil && len(out) == 0 {
		return capString(raw, limit)
	}
	return capString(out, limit)
}

// capString cuts b to at most limit bytes, backing off to the start of a
// UTF-8 sequence so that no replacement character is made at the cut.
func capString(b []byte, limit int) (string, bool) {
	if len(b) <= limit {
		return string(b), false
	}
	cut := limit
	for back := 0; back < utf8.UTFMax && cut > 0 && !utf8.RuneStart(b[cut]); back++ {
		cut--
	}
	return string(b[:cut]), true
}

// htmlToUTF8 converts an HTML body. When the MIME header names no charset
// and the bytes are not UTF-8, the document's own <meta charset> (or the
// WHATWG fallback, Windows-1252) is used, as a browser would.
func htmlToUTF8(data []byte, cs string, limit int) (string, bool) {
	if strings.TrimSpace(cs) != "" || utf8.Valid(data) {
		return toUTF8(data, cs, limit)
	}
	enc, _, _ := htmlcharset.DetermineEncoding(data, "text/html")
	return readCapped(enc.NewDecoder().Reader(bytes.NewReader(data)), data, limit)
}

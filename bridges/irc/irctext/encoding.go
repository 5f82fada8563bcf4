package irctext

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/ianaindex"
)

// Codec turns the bytes of an IRC line into text and text back into the
// bytes a network expects. IRC has no charset negotiation: most networks
// speak UTF-8, old channels still send Latin-1, CP1252, KOI8-R or
// Shift-JIS. The zero Codec is UTF-8 only.
type Codec struct {
	name string            // canonical, as shown to users; "" = UTF-8
	enc  encoding.Encoding // nil for UTF-8
	// single is set for one-byte encodings, decoded byte by byte through
	// this table, where a byte the encoding leaves undefined is the C1
	// control of the same value (as browsers read such text) rather than
	// U+FFFD.
	single *[256]rune
}

// byteTable is a one-byte encoding's table for decodeSingle.
func byteTable(cm *charmap.Charmap) *[256]rune {
	var t [256]rune
	for i := range t {
		t[i] = cm.DecodeByte(byte(i))
		if t[i] == utf8.RuneError {
			t[i] = rune(i)
		}
	}
	return &t
}

// ErrUnknownEncoding is matched by LookupCodec's error for a name no
// codec has.
var ErrUnknownEncoding = errors.New("unknown character encoding")

// UnencodableError reports text the configured encoding cannot write: IRC
// would get a '?' in its place, so the message is refused instead.
type UnencodableError struct {
	Rune     rune
	Encoding string
}

func (e *UnencodableError) Error() string {
	return fmt.Sprintf("%q cannot be written in %s, the encoding set for this IRC network or channel", e.Rune, e.Encoding)
}

// aliases are spellings people use that the IANA registry lacks.
var aliases = map[string]string{
	"utf8": "UTF-8", "latin-1": "ISO-8859-1", "latin9": "ISO-8859-15", "latin-9": "ISO-8859-15",
	"cp1252": "windows-1252", "cp1251": "windows-1251", "cp1250": "windows-1250",
	"sjis": "Shift_JIS", "shift-jis": "Shift_JIS", "shiftjis": "Shift_JIS", "koi8r": "KOI8-R",
}

// canonical are the names Ferry shows for the encodings people set most,
// instead of the IANA registry's primary names (ISO_8859-1:1987).
var canonical = map[string]string{
	"ISO_8859-1:1987": "ISO-8859-1", "Extended_UNIX_Code_Packed_Format_for_Japanese": "EUC-JP",
}

// LookupCodec returns the codec for an encoding name, as IANA registers
// it or a common spelling (latin1, cp1252, sjis); "" is UTF-8.
func LookupCodec(name string) (Codec, error) {
	name = strings.TrimSpace(name)
	if a, ok := aliases[strings.ToLower(name)]; ok {
		name = a
	}
	if name == "" || strings.EqualFold(name, "UTF-8") {
		return Codec{}, nil
	}
	enc, err := ianaindex.IANA.Encoding(name)
	if err != nil || enc == nil {
		// The registry knows names x/text has no codec for (nil, nil).
		return Codec{}, fmt.Errorf("%w: %q (try UTF-8, ISO-8859-1, ISO-8859-15, windows-1252, KOI8-R or Shift_JIS)", ErrUnknownEncoding, name)
	}
	canon, err := ianaindex.IANA.Name(enc)
	if err != nil {
		canon = name
	}
	if c, ok := canonical[canon]; ok {
		canon = c
	}
	if canon == "UTF-8" {
		return Codec{}, nil
	}
	c := Codec{name: canon, enc: enc}
	if cm, ok := enc.(*charmap.Charmap); ok {
		c.single = byteTable(cm)
	}
	if !c.keepsASCII() {
		// IRC's commands, nicks and channel names are ASCII: an encoding
		// that writes them differently (UTF-16, EBCDIC) cannot carry IRC.
		return Codec{}, fmt.Errorf("%w: %s does not write ASCII as ASCII, which IRC needs", ErrUnknownEncoding, canon)
	}
	return c, nil
}

// keepsASCII reports whether printable ASCII is the same bytes in the
// codec's encoding, both ways.
func (c Codec) keepsASCII() bool {
	var b [95]byte
	for i := range b {
		b[i] = byte(' ' + i)
	}
	s := string(b[:])
	enc, err := c.enc.NewEncoder().String(s)
	if err != nil || enc != s {
		return false
	}
	dec, err := c.enc.NewDecoder().String(s)
	return err == nil && dec == s
}

// Name is the encoding's name; "UTF-8" for the zero Codec.
func (c Codec) Name() string {
	if c.name == "" {
		return "UTF-8"
	}
	return c.name
}

// IsUTF8 reports whether the codec leaves text as it is.
func (c Codec) IsUTF8() bool { return c.enc == nil }

// Decode reads a line's text. Valid UTF-8 is taken as UTF-8 whatever the
// encoding (nearly every line today, and it costs no allocation); other
// bytes are read in the codec's encoding. The UTF-8 codec leaves invalid
// bytes for ToXMPP to replace.
func (c Codec) Decode(s string) string {
	if c.enc == nil || utf8.ValidString(s) {
		return s
	}
	if c.single != nil {
		return c.decodeSingle(s)
	}
	out, err := c.enc.NewDecoder().String(s)
	if err != nil {
		return s
	}
	return out
}

func (c Codec) decodeSingle(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); i++ {
		if s[i] < utf8.RuneSelf {
			b.WriteByte(s[i]) // every encoding Ferry accepts keeps ASCII
			continue
		}
		b.WriteRune(c.single[s[i]])
	}
	return b.String()
}

// Encode writes text in the codec's encoding, or says which character it
// cannot represent. ASCII and the UTF-8 codec return s itself.
func (c Codec) Encode(s string) (string, error) {
	if c.enc == nil || ascii(s) {
		return s, nil
	}
	out, err := c.enc.NewEncoder().String(s)
	if err == nil {
		return out, nil
	}
	for _, r := range s {
		if _, rerr := c.enc.NewEncoder().String(string(r)); rerr != nil {
			return "", &UnencodableError{Rune: r, Encoding: c.Name()}
		}
	}
	return "", fmt.Errorf("text cannot be written in %s: %w", c.Name(), err)
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Package segments counts and splits SMS texts the way a phone network does,
// so that the SMS bridge can tell a user how many texts a message costs and
// send long messages as explicit parts (Kannel silently truncates what does
// not fit).
//
// A text is sent in the GSM 7-bit default alphabet (3GPP TS 23.038, GSM
// 03.38) when every character is in its basic or extension table, and in
// UCS-2 (really UTF-16, as phones do) otherwise — one character outside the
// alphabet switches the whole message. National language shift tables are
// not used: no Ferry provider negotiates them.
//
// Costs:
//
//   - GSM-7: a basic-table character is 1 septet; an extension-table
//     character (form feed, ^ { } \ [ ~ ] | €) is 2 septets (ESC + code) and
//     its two septets always travel in the same part.
//   - UCS-2: a character is 1 UTF-16 code unit, or 2 for one above U+FFFF
//     (a surrogate pair, e.g. most emoji), and a pair is never split.
//
// Limits: one part carries 160 septets or 70 code units; when the text needs
// more, every part loses room to the concatenation header (UDH) and carries
// at most 153 septets or 67 code units. Parts are filled greedily, so a
// character that does not fit whole moves to the next part, which is why a
// multipart text can need more parts than Units/PerPart rounded up.
//
// Decisions:
//
//   - The empty text is 0 units in 1 part: a phone sends an empty SMS as one
//     (empty) part, and Split returns [""] for it.
//   - U+001B (ESC) is not treated as a GSM-7 character even though 0x1B is a
//     slot of the basic table: that slot is the escape to the extension
//     table, so a literal ESC cannot be sent as itself. It forces UCS-2.
//   - Splitting is per character (code point), not per grapheme cluster: a
//     combining accent or a ZWJ emoji sequence may be split between parts,
//     as phones do; a single code point never is.
//   - Invalid UTF-8 is counted as Go decodes it: each bad byte is one U+FFFD,
//     which is outside GSM-7 and so forces UCS-2. Split still cuts only
//     between decoded characters, so its parts rejoin to the exact input.
package segments

import "unicode/utf8"

// Encoding is the alphabet a text is sent in.
type Encoding int

const (
	// GSM7 is the GSM 7-bit default alphabet with its extension table.
	GSM7 Encoding = iota
	// UCS2 is 16-bit UCS-2/UTF-16, used when any character is outside GSM-7.
	UCS2
)

// String returns "GSM-7" or "UCS-2".
func (e Encoding) String() string {
	switch e {
	case GSM7:
		return "GSM-7"
	case UCS2:
		return "UCS-2"
	}
	return "Encoding(?)"
}

// Per-part capacities, in septets (GSM-7) or UTF-16 code units (UCS-2).
const (
	GSM7Single = 160 // one-part GSM-7 text
	GSM7Multi  = 153 // each part of a multipart GSM-7 text (7-octet UDH)
	UCS2Single = 70  // one-part UCS-2 text
	UCS2Multi  = 67  // each part of a multipart UCS-2 text (6-octet UDH)
)

// Count is what a text costs to send.
type Count struct {
	Encoding Encoding
	// Parts is the number of SMS the text is sent as; at least 1.
	Parts int
	// Units is the text's total length: septets for GSM-7 (an extension
	// character counts 2), UTF-16 code units for UCS-2 (a character above
	// U+FFFF counts 2). It excludes the concatenation headers.
	Units int
	// PerPart is the capacity of each part: 160 or 153 for GSM-7, 70 or 67
	// for UCS-2, depending on whether the text is one part or several.
	PerPart int
}

// basicTable is the GSM 03.38 default alphabet in code order, 0x00–0x7F.
// Slot 0x1B is ESC (the escape to the extension table); see the package
// documentation for why it is not accepted as a character.
const basicTable = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ" +
	" !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§" +
	"¿abcdefghijklmnopqrstuvwxyzäöñüà"

// extensionTable is the characters of the GSM 03.38 extension table, each
// sent as ESC followed by its code: form feed (0x0A), ^ (0x14), { (0x28),
// } (0x29), \ (0x2F), [ (0x3C), ~ (0x3D), ] (0x3E), | (0x40), € (0x65).
const extensionTable = "\f^{}\\[~]|€"

// lowLimit bounds the code points looked up in gsmLow; every GSM-7
// character but € is below it (the highest is Ω, U+03A9).
const lowLimit = 0x400

// gsmLow[r] is the septet cost of r (1 or 2), or 0 when r is not GSM-7.
var gsmLow = buildLow()

func buildLow() *[lowLimit]uint8 {
	var t [lowLimit]uint8
	for _, r := range basicTable {
		if r != 0x1B {
			t[r] = 1
		}
	}
	for _, r := range extensionTable {
		if r < lowLimit {
			t[r] = 2
		}
	}
	return &t
}

// septets is the GSM-7 cost of r: 1, 2, or 0 when r is not in GSM-7.
func septets(r rune) int {
	if r >= 0 && r < lowLimit {
		return int(gsmLow[r])
	}
	if r == '€' {
		return 2
	}
	return 0
}

// utf16Units is the UCS-2/UTF-16 cost of r. utf8.RuneError stands for an
// invalid byte and costs 1, like the U+FFFD a phone would show.
func utf16Units(r rune) int {
	if r > 0xFFFF {
		return 2
	}
	return 1
}

// IsGSM7 reports whether text can be sent in the GSM 7-bit default alphabet
// (basic and extension tables), i.e. whether Measure would choose GSM7.
func IsGSM7(text string) bool {
	for i := 0; i < len(text); i++ {
		if c := text[i]; c < utf8.RuneSelf {
			if gsmLow[c] == 0 {
				return false
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if septets(r) == 0 { // also catches invalid bytes (U+FFFD)
			return false
		}
		i += size - 1
	}
	return true
}

// plan measures text and fills parts greedily, in one pass per encoding:
// it tries GSM-7 and, at the first character outside it, starts over in
// UCS-2. With cuts, it also returns the byte offsets where parts 2…n start
// (nil for a one-part text).
func plan(text string, cuts bool) (Count, []int) {
	var at []int
	units, parts, fill := 0, 1, 0
	for i := 0; i < len(text); {
		var c, size int
		if b := text[i]; b < utf8.RuneSelf {
			c, size = int(gsmLow[b]), 1
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(text[i:])
			c = septets(r)
		}
		if c == 0 {
			return planUCS2(text, cuts)
		}
		if fill+c > GSM7Multi {
			parts++
			fill = 0
			if cuts {
				at = append(at, i)
			}
		}
		fill += c
		units += c
		i += size
	}
	if units <= GSM7Single {
		return Count{Encoding: GSM7, Parts: 1, Units: units, PerPart: GSM7Single}, nil
	}
	return Count{Encoding: GSM7, Parts: parts, Units: units, PerPart: GSM7Multi}, at
}

// planUCS2 is plan for a text that is sent in UCS-2.
func planUCS2(text string, cuts bool) (Count, []int) {
	var at []int
	units, parts, fill := 0, 1, 0
	for i := 0; i < len(text); {
		c, size := 1, 1
		if text[i] >= utf8.RuneSelf {
			var r rune
			r, size = utf8.DecodeRuneInString(text[i:])
			c = utf16Units(r)
		}
		if fill+c > UCS2Multi {
			parts++
			fill = 0
			if cuts {
				at = append(at, i)
			}
		}
		fill += c
		units += c
		i += size
	}
	if units <= UCS2Single {
		return Count{Encoding: UCS2, Parts: 1, Units: units, PerPart: UCS2Single}, nil
	}
	return Count{Encoding: UCS2, Parts: parts, Units: units, PerPart: UCS2Multi}, at
}

// Measure returns the encoding, size and number of parts of text. The empty
// text is 0 units in 1 part.
func Measure(text string) Count {
	c, _ := plan(text, false)
	return c
}

// Split returns the parts text is sent as: the text itself when it fits one
// part (including the empty text, returned as [""]), otherwise greedy parts
// of at most 153 septets (GSM-7) or 67 UTF-16 code units (UCS-2), the
// encoding being that of the whole text. An extension character's escape
// pair and a surrogate pair are never split. The parts are substrings of
// text and concatenate back to it; len(Split(text)) == Measure(text).Parts.
func Split(text string) []string {
	_, at := plan(text, true)
	if len(at) == 0 {
		return []string{text}
	}
	parts := make([]string, 0, len(at)+1)
	start := 0
	for _, i := range at {
		parts = append(parts, text[start:i])
		start = i
	}
	return append(parts, text[start:])
}

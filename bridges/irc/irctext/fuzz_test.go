package irctext

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ergochat/irc-go/ircfmt"
	"mellium.im/xmpp/styling"
)

// FuzzPrivmsgs is the injection test: whatever the body, target and prefix,
// every line Privmsgs returns is one well-formed message to that target that
// fits the relayed 512 bytes, and the lines carry exactly the body's text.
func FuzzPrivmsgs(f *testing.F) {
	f.Add("hello", "#chan", "nick!user@host", false)
	f.Add("hi\r\nQUIT :bye\r\n", "#chan", "", false)
	f.Add("\x00\x01ACTION x\x01\r\n\n\rPRIVMSG #other :y", "bob", "n!u@h", true)
	f.Add(strings.Repeat("word ", 300), "#c", "", true)
	f.Add(strings.Repeat("é", 600)+"\n"+strings.Repeat("👩\u200d💻", 200), "#chan", "a!b@c", false)
	f.Add(strings.Repeat("e\u0301", 400), "#chan", "", false)
	f.Add("\xff\xfe\xed\xa0\x80 :x", "x", "", false)
	f.Add("text", "#a,#b", "", false)
	f.Add("text", "#"+strings.Repeat("a", 380), "", true)
	f.Fuzz(func(t *testing.T, body, target, prefix string, action bool) {
		const command = "PRIVMSG"
		lines, err := Privmsgs(command, target, prefix, body, action)
		if err != nil {
			if !errors.Is(err, ErrBadTarget) && !errors.Is(err, ErrNoRoom) {
				t.Fatalf("unexpected error: %v", err)
			}
			if errors.Is(err, ErrBadTarget) == (checkTarget(target) == nil) {
				t.Fatalf("target %q: error %v", target, err)
			}
			return
		}
		checkPrivmsgs(t, command, target, prefix, body, action, lines)
	})
}

// FuzzToXMPP checks that ToXMPP output is always valid XML character data,
// and that it only ever adds XEP-0393 directives to the text of the input.
func FuzzToXMPP(f *testing.F) {
	f.Add("plain")
	f.Add("\x02bold\x02 \x1dit\x1d \x1es\x1e \x11m\x11 \x1fu\x1f \x16r\x16 \x0f")
	f.Add("\x0304,12red\x03 \x04FF0000,00ff00hex\x04")
	f.Add("\x00\x01\x05\x1b\uFFFE\uFFFF\xff\xed\xa0\x80")
	f.Add("a *b \x02c\x02 d* _e_ `f`")
	f.Add("\x02a\x1db\x02c\x1d")
	f.Add("\x02 x\n y \x02")
	f.Fuzz(func(t *testing.T, in string) {
		out := ToXMPP(in)
		if plain(in) && convert(in) != in {
			t.Fatalf("plain text %q would be converted to %q", in, convert(in))
		}
		if !utf8.ValidString(out) {
			t.Fatalf("ToXMPP(%q) = %q: invalid UTF-8", in, out)
		}
		for _, r := range out {
			if !xmlAllowed(r) {
				t.Fatalf("ToXMPP(%q) = %q: %U not allowed in XML", in, out, r)
			}
		}
		// Round trip through encoding/xml as a body would travel.
		var buf bytes.Buffer
		buf.WriteString("<body>")
		if err := xml.EscapeText(&buf, []byte(out)); err != nil {
			t.Fatal(err)
		}
		buf.WriteString("</body>")
		d := xml.NewDecoder(&buf)
		var got strings.Builder
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("ToXMPP(%q) = %q: XML: %v", in, out, err)
			}
			if cd, ok := tok.(xml.CharData); ok {
				got.Write(cd)
			}
		}
		if got.String() != out {
			t.Fatalf("ToXMPP(%q) = %q: XML round trip gave %q", in, out, got.String())
		}
		// Apart from directives, the text is the input with formatting
		// codes and XML-forbidden characters removed.
		// (\x04 codes are replaced by the same no-op ToXMPP uses: removing
		// them outright could turn following digits into a \x03 colour.)
		want := xmlText(ircfmt.Strip(hexColour.ReplaceAllLiteralString(strings.ToValidUTF8(in, "\uFFFD"), noOp)))
		if stripMarks(out) != stripMarks(want) {
			t.Fatalf("ToXMPP(%q) = %q: text differs from %q", in, out, want)
		}
		checkStyling(t, in, out)
	})
}

// checkStyling parses out with an independent XEP-0393 parser and checks
// that every directive we emitted is read as one (the plain text is exactly
// the IRC text) and that no character gets a style it did not have on IRC.
// Inputs with literal directive characters or quote markers are skipped:
// there, styling typed by the IRC user legitimately shows up.
func checkStyling(t *testing.T, in, out string) {
	t.Helper()
	if strings.ContainsAny(in, "*_~`>") {
		return
	}
	type styled struct {
		r  rune
		st style
	}
	var want []styled
	src := hexColour.ReplaceAllLiteralString(strings.ToValidUTF8(in, "\uFFFD"), noOp)
	for _, f := range ircfmt.Split(src) {
		var st style
		if f.Bold {
			st |= bold
		}
		if f.Italic {
			st |= italic
		}
		if f.Strikethrough {
			st |= strike
		}
		if f.Monospace {
			st |= mono
		}
		for _, r := range xmlText(f.Content) {
			want = append(want, styled{r, st})
		}
	}
	d := styling.NewDecoder(strings.NewReader(out))
	i := 0
	for d.Next() {
		tok := d.Token()
		if tok.Mask&styling.Directive != 0 {
			continue
		}
		var st style
		for _, m := range [...]struct {
			s  styling.Style
			st style
		}{{styling.SpanStrong, bold}, {styling.SpanEmph, italic}, {styling.SpanStrike, strike}, {styling.SpanPre, mono}} {
			if tok.Mask&m.s != 0 {
				st |= m.st
			}
		}
		for _, r := range string(tok.Data) {
			if i >= len(want) || want[i].r != r {
				t.Fatalf("ToXMPP(%q) = %q: parsed text diverges at rune %d (%q)", in, out, i, r)
			}
			if st&^want[i].st != 0 {
				t.Fatalf("ToXMPP(%q) = %q: rune %d (%q) styled %b, IRC had %b", in, out, i, r, st, want[i].st)
			}
			i++
		}
	}
	if i != len(want) {
		t.Fatalf("ToXMPP(%q) = %q: parsed %d runes, want %d", in, out, i, len(want))
	}
}

func stripMarks(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune("*_~`", r) {
			return -1
		}
		return r
	}, s)
}

// FuzzSplit checks that chunks fit the budget, are valid UTF-8 and
// reassemble the (U+FFFD-repaired) input.
func FuzzSplit(f *testing.F) {
	f.Add("hello world", 5)
	f.Add("ééééé", 3)
	f.Add("a\xffb\xed\xa0\x80c", 4)
	f.Add(strings.Repeat("👩\u200d💻🇫🇷 e\u0301", 50), 17)
	f.Add(strings.Repeat("x", 1000), 400)
	f.Add("", 0)
	f.Add("abc", -5)
	f.Fuzz(func(t *testing.T, text string, budget int) {
		budget %= 600 // keep runs fast; negative budgets are clamped anyway
		chunks := Split(text, budget)
		limit := max(budget, utf8.UTFMax)
		var all strings.Builder
		for _, c := range chunks {
			if c == "" || len(c) > limit || !utf8.ValidString(c) {
				t.Fatalf("Split(%q, %d): bad chunk %q", text, budget, c)
			}
			all.WriteString(c)
		}
		if want := strings.ToValidUTF8(text, "\uFFFD"); all.String() != want {
			t.Fatalf("Split(%q, %d) = %q, reassembles to %q", text, budget, chunks, all.String())
		}
	})
}

package irctext

import (
	"strings"
	"testing"

	"mellium.im/xmpp/styling"
)

func TestToXMPP(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello world", "hello world"},
		{"empty", "", ""},
		{"bold", "a \x02bold\x02 b", "a *bold* b"},
		{"italic", "\x1dit\x1d", "_it_"},
		{"strike", "\x1egone\x1e", "~gone~"},
		{"mono", "run \x11make\x11 now", "run `make` now"},
		{"unterminated runs to end", "\x02bold", "*bold*"},
		{"reset ends all", "\x02\x1dboth\x0f plain", "*_both_* plain"},
		{"spaces moved outside", "a\x02 bold \x02b", "a *bold* b"},
		{"whitespace-only span", "a\x02   \x02b", "a   b"},
		{"mid-word not styled", "foo\x02bar\x02", "foobar"},
		{"after punctuation not styled", "(\x02x\x02)", "(x)"},
		{"closing before punctuation", "\x02x\x02.", "*x*."},
		{"contains own mark", "\x022*3\x02", "2*3"},
		{"contains other mark", "\x02a_b\x02", "*a_b*"},
		{"literal mark earlier on line", "a *b \x02c\x02", "a *b c"},
		{"literal other mark earlier", "a _b \x02c\x02", "a _b *c*"},
		{"mono hides nested", "\x11\x02x\x02\x11", "*`x`*"},
		{"overlap keeps outer", "\x02a\x1db\x02c\x1d", "*ab*c"},
		{"nested", "\x02a \x1db\x1d c\x02", "*a _b_ c*"},
		{"adjacent different", "\x02a\x02 \x1db\x1d", "*a* _b_"},
		{"underline dropped", "\x1fu\x1f", "u"},
		{"reverse dropped", "\x16r\x16", "r"},
		{"colour dropped", "\x0304red\x03 \x034,12x\x03", "red x"},
		{"colour digits greedy", "\x031234", "34"},
		{"colour comma not bg", "\x034,x", ",x"},
		{"hex colour dropped", "\x04FF0000red\x04 \x04ff0000,00FF00x", "red x"},
		{"hex reset then digits", "\x03\x0412", "12"},
		{"hex colour short", "\x04FF00 x", "FF00 x"},
		{"bold colour", "\x02\x0304b\x03\x02", "*b*"},
		{"CTCP framing dropped", "\x01ACTION x\x01", "ACTION x"},
		{"NUL and controls dropped", "a\x00\x05\x07\x1bb", "ab"},
		{"tab kept", "a\tb", "a\tb"},
		{"invalid UTF-8", "a\xffb\xed\xa0\x80c", "a\uFFFDb\uFFFDc"},
		{"noncharacters", "a\uFFFE\uFFFFb\uFDD0", "ab\uFDD0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ToXMPP(tt.in); got != tt.want {
				t.Errorf("ToXMPP(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestToXMPPStyling checks with an independent XEP-0393 parser that the
// directives we emit are read back as the IRC formatting we meant.
func TestToXMPPStyling(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]styling.Style // text → style it must carry
	}{
		{"a \x02bold\x02 b", map[string]styling.Style{"bold": styling.SpanStrong, "a ": 0, " b": 0}},
		{"\x1dit\x1d", map[string]styling.Style{"it": styling.SpanEmph}},
		{"x \x1egone\x1e", map[string]styling.Style{"gone": styling.SpanStrike}},
		{"run \x11make it\x11", map[string]styling.Style{"make it": styling.SpanPre}},
		{"\x02a \x1db\x1d c\x02", map[string]styling.Style{"a ": styling.SpanStrong, "b": styling.SpanStrong | styling.SpanEmph, " c": styling.SpanStrong}},
		{"\x11\x02x\x02\x11", map[string]styling.Style{"x": styling.SpanStrong | styling.SpanPre}},
		{"\x02x\x02.", map[string]styling.Style{"x": styling.SpanStrong, ".": 0}},
	}
	for _, tt := range tests {
		out := ToXMPP(tt.in)
		d := styling.NewDecoder(strings.NewReader(out))
		got := map[string]styling.Style{}
		for d.Next() {
			tok := d.Token()
			if tok.Mask&styling.Directive != 0 {
				continue
			}
			got[string(tok.Data)] = tok.Mask & styling.Span
		}
		for text, st := range tt.want {
			if s, ok := got[text]; !ok || s != st {
				t.Errorf("ToXMPP(%q) = %q: %q styled %v (present %v), want %v", tt.in, out, text, s, ok, st)
			}
		}
	}
}

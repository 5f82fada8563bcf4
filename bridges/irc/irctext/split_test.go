package irctext

import (
	"slices"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		budget int
		want   []string
	}{
		{"empty", "", 10, nil},
		{"fits", "hello", 10, []string{"hello"}},
		{"exact", "0123456789", 10, []string{"0123456789"}},
		{"hard cut", "0123456789abc", 10, []string{"0123456789", "abc"}},
		{"space in window", "aaaaaaa bbbbbbb", 10, []string{"aaaaaaa ", "bbbbbbb"}},
		{"space at budget edge", "aaaaaaaaa bbb", 10, []string{"aaaaaaaaa ", "bbb"}},
		{"space too early", "aa bbbbbbbbbbbb", 10, []string{"aa bbbbbbb", "bbbbb"}},
		{"space right after chunk", "aaaaaaaaaa bb", 10, []string{"aaaaaaaaaa", " bb"}},
		{"last space wins", "a b c d e f g h", 10, []string{"a b c d e ", "f g h"}},
		// "é" is 2 bytes: 4 of them are 8 bytes, a 5th would make 10 > 9.
		{"no mid-rune cut", "ééééé", 9, []string{"éééé", "é"}},
		{"4-byte runes", "😀😀😀", 5, []string{"😀", "😀", "😀"}},
		// e + U+0301 (2 bytes): cutting at 6 would orphan the accent.
		{"combining mark", "abcde\u0301fgh", 6, []string{"abcd", "e\u0301fgh"}},
		{"ZWJ sequence", "ab👩\u200d💻", 12, []string{"ab", "👩\u200d💻"}},
		{"skin tone", "abc👍🏽", 8, []string{"abc", "👍🏽"}},
		{"variation selector", "abcd❤\ufe0f", 7, []string{"abcd", "❤\ufe0f"}},
		{"flags pair up", "🇫🇷🇩🇪🇮🇹", 14, []string{"🇫🇷", "🇩🇪", "🇮🇹"}},
		{"flag after text", "x🇫🇷🇩🇪", 10, []string{"x🇫🇷", "🇩🇪"}},
		{"flag after odd text", "x🇫🇷🇩🇪", 14, []string{"x🇫🇷", "🇩🇪"}},
		{"cluster longer than budget", "e" + strings.Repeat("\u0301", 5), 6, []string{"e\u0301\u0301", "\u0301\u0301\u0301"}},
		{"space before mark not used", "aaaaaaa \u0301bbbbb", 10, []string{"aaaaaaa \u0301", "bbbbb"}},
		{"space before mark not used, no other", "aaaaaa \u0301bbbbb", 8, []string{"aaaaaa", " \u0301bbbbb"}},
		{"invalid UTF-8 replaced", "ab\xffcd", 4, []string{"ab", "\uFFFDc", "d"}},
		{"tiny budget raised", "abcdefgh", 1, []string{"abcd", "efgh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Split(tt.text, tt.budget)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Split(%q, %d) = %q, want %q", tt.text, tt.budget, got, tt.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in     string
		budget int
		want   string
	}{
		{"short", 10, "short"},
		{"", 10, ""},
		{"two words here", 9, "two words"},
		{"héhéhé", 4, "héh"},
		{"\xff\xfe", 10, "\uFFFD"},
	}
	for _, tc := range tests {
		if got := Truncate(tc.in, tc.budget); got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.budget, got, tc.want)
		}
	}
}

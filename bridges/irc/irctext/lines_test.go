package irctext

import (
	"slices"
	"testing"
)

func TestLines(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"empty", "", nil},
		{"only newlines", "\n\r\n\r", nil},
		{"only spaces", "  \n\t\n ", nil},
		{"single", "hello", []string{"hello"}},
		{"LF", "a\nb", []string{"a", "b"}},
		{"CRLF", "a\r\nb", []string{"a", "b"}},
		{"CR", "a\rb", []string{"a", "b"}},
		{"LF CR is two breaks", "a\n\rb", []string{"a", " ", "b"}},
		{"trim ends", "\n\n  \na\nb\n\n", []string{"a", "b"}},
		{"interior blank becomes space", "a\n\nb", []string{"a", " ", "b"}},
		{"interior blanks collapse", "a\n\n \n\t\n\r\nb", []string{"a", " ", "b"}},
		{"keeps indentation", "  code\n\tmore  ", []string{"  code", "\tmore  "}},
		{"strips NUL", "a\x00b", []string{"ab"}},
		{"strips CTCP framing", "\x01ACTION dances\x01", []string{"ACTION dances"}},
		{"strips other C0", "a\x05\x07\x08\x0b\x0c\x10\x1bb", []string{"ab"}},
		{"keeps formatting codes", "\x02b\x02 \x0304r\x0f \x1di\x1d \x1fu\x1f \x1es\x1e \x11m\x11 \x16v\x16 \x04FF0000h",
			[]string{"\x02b\x02 \x0304r\x0f \x1di\x1d \x1fu\x1f \x1es\x1e \x11m\x11 \x16v\x16 \x04FF0000h"}},
		{"control-only line is blank", "a\n\x01\x00\nb", []string{"a", " ", "b"}},
		{"invalid UTF-8", "a\xffb", []string{"a\uFFFDb"}},
		{"keeps DEL and C1", "a\x7f\u0085b", []string{"a\x7f\u0085b"}},
		{"injection attempt", "hi\r\nQUIT :bye", []string{"hi", "QUIT :bye"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Lines(tt.body); !slices.Equal(got, tt.want) {
				t.Errorf("Lines(%q) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}

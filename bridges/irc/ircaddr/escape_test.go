package ircaddr

import (
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		// The ten XEP-0106 escapes.
		{" ", `\20`},
		{`"`, `\22`},
		{"&", `\26`},
		{"'", `\27`},
		{"/", `\2f`},
		{":", `\3a`},
		{"<", `\3c`},
		{">", `\3e`},
		{"@", `\40`},
		{`\`, `\5c`},
		{"a b", `a\20b`},
		// Every backslash is escaped, whatever follows it.
		{`foo\bar`, `foo\5cbar`},
		{`foo\5cbar`, `foo\5c5cbar`},
		{`\20`, `\5c20`},
		{`x\`, `x\5c`},
		// '%' and non-ASCII are not XEP-0106 business.
		{"100%", "100%"},
		{"héllo wörld", `héllo\20wörld`},
	}
	for _, tt := range tests {
		if got := escape(tt.in); got != tt.want {
			t.Errorf("escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := unescape(tt.want); got != tt.in {
			t.Errorf("unescape(%q) = %q, want %q", tt.want, got, tt.in)
		}
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct{ in, want string }{
		// Escapes anywhere in the string (the offset-2 case is where
		// mellium's v0.22.0 Unescape goes wrong).
		{`ab\40c`, "ab@c"},
		{`abcdef\3aghi\2f`, "abcdef:ghi/"},
		// Upper-case hex digits are accepted.
		{`\5C\3A\2F`, `\:/`},
		// A backslash that starts no escape is literal (XEP-0106 §3.3).
		{`foo\bar`, `foo\bar`},
		{`\`, `\`},
		{`\5`, `\5`},
		{`a\`, `a\`},
		{`\41`, `\41`}, // 'A' is not one of the ten
		{`\zz`, `\zz`},
		// Single pass: a decoded backslash never starts another escape.
		{`\5c20`, `\20`},
		{`\5c5c`, `\5c`},
		{`\\20`, `\ `},
	}
	for _, tt := range tests {
		if got := unescape(tt.in); got != tt.want {
			t.Errorf("unescape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestEscapeLong crosses the buffer sizes that tripped the transform-based
// escaper in mellium.im/xmpp v0.22.0.
func TestEscapeLong(t *testing.T) {
	in := strings.Repeat(`ab c\d@`, 500)
	out := escape(in)
	if want := len(in) + 3*2*500; len(out) != want {
		t.Fatalf("len(escape) = %d, want %d", len(out), want)
	}
	if got := unescape(out); got != in {
		t.Fatalf("unescape(escape(x)) != x for %d bytes", len(in))
	}
}

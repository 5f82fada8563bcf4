package irctext

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLookupCodec(t *testing.T) {
	tests := []struct {
		in, name string
		bad      bool
	}{
		{"", "UTF-8", false},
		{"utf-8", "UTF-8", false},
		{"UTF8", "UTF-8", false},
		{"latin1", "ISO-8859-1", false},
		{"ISO-8859-1", "ISO-8859-1", false},
		{"iso-8859-15", "ISO-8859-15", false},
		{"latin9", "ISO-8859-15", false},
		{"cp1252", "windows-1252", false},
		{"Windows-1252", "windows-1252", false},
		{"koi8-r", "KOI8-R", false},
		{"sjis", "Shift_JIS", false},
		{"Shift_JIS", "Shift_JIS", false},
		{"euc-jp", "EUC-JP", false},
		{"klingon", "", true},
		{"UTF-16", "", true}, // not ASCII-compatible
		{"IBM037", "", true}, // EBCDIC
		{"latin1 x", "", true},
	}
	for _, tt := range tests {
		c, err := LookupCodec(tt.in)
		if tt.bad {
			if !errors.Is(err, ErrUnknownEncoding) {
				t.Errorf("LookupCodec(%q) = %v, %v; want ErrUnknownEncoding", tt.in, c.Name(), err)
			}
			continue
		}
		if err != nil || c.Name() != tt.name {
			t.Errorf("LookupCodec(%q) = %q, %v; want %q", tt.in, c.Name(), err, tt.name)
		}
	}
}

func mustCodec(t testing.TB, name string) Codec {
	t.Helper()
	c, err := LookupCodec(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDecode(t *testing.T) {
	tests := []struct {
		codec, in, want string
	}{
		{"UTF-8", "caf\xc3\xa9", "café"},
		{"UTF-8", "caf\xe9", "caf\xe9"}, // left for ToXMPP to replace
		{"latin1", "caf\xe9", "café"},
		{"latin1", "caf\xc3\xa9", "café"}, // valid UTF-8 stays UTF-8
		{"latin1", "\x80\x9f", "\u0080\u009f"},
		{"iso-8859-15", "\xa4 5", "€ 5"},
		{"cp1252", "\x93quoted\x94 \x80", "“quoted” €"},
		// Bytes CP1252 leaves undefined: the C1 control of that value,
		// never U+FFFD.
		{"cp1252", "\x81\x8d\x8f\x90\x9d", "\u0081\u008d\u008f\u0090\u009d"},
		{"koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет"},
		{"sjis", "\x93\xfa\x96\x7b", "日本"},
		{"latin1", "", ""},
		{"latin1", "plain ascii", "plain ascii"},
	}
	for _, tt := range tests {
		got := mustCodec(t, tt.codec).Decode(tt.in)
		if got != tt.want {
			t.Errorf("%s.Decode(%q) = %q, want %q", tt.codec, tt.in, got, tt.want)
		}
		if tt.codec != "UTF-8" && tt.codec != "sjis" && strings.ContainsRune(got, utf8.RuneError) {
			t.Errorf("%s.Decode(%q) has U+FFFD", tt.codec, tt.in)
		}
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		codec, in, want string
		bad             rune
	}{
		{"UTF-8", "café 😀", "café 😀", 0},
		{"latin1", "café", "caf\xe9", 0},
		{"latin1", "plain", "plain", 0},
		{"latin1", "€5", "", '€'},
		{"iso-8859-15", "€5", "\xa45", 0},
		{"cp1252", "“q”", "\x93q\x94", 0},
		{"koi8-r", "Привет", "\xf0\xd2\xc9\xd7\xc5\xd4", 0},
		{"koi8-r", "Привет é", "", 'é'},
		{"sjis", "日本", "\x93\xfa\x96\x7b", 0},
		{"sjis", "😀", "", '😀'},
	}
	for _, tt := range tests {
		got, err := mustCodec(t, tt.codec).Encode(tt.in)
		if tt.bad != 0 {
			var ue *UnencodableError
			if !errors.As(err, &ue) || ue.Rune != tt.bad {
				t.Errorf("%s.Encode(%q) = %q, %v; want an UnencodableError for %q", tt.codec, tt.in, got, err, tt.bad)
			} else if !strings.Contains(err.Error(), string(tt.bad)) {
				t.Errorf("error %q does not name the character", err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s.Encode(%q) = %q, %v; want %q", tt.codec, tt.in, got, err, tt.want)
		}
	}
}

// The UTF-8 fast path (every line on a UTF-8 network, every valid UTF-8
// line on the others) must cost no allocation.
func TestDecodeFastPathAllocates(t *testing.T) {
	line := strings.Repeat("héllo wörld ", 30)
	for _, name := range []string{"UTF-8", "latin1", "sjis"} {
		c := mustCodec(t, name)
		if n := testing.AllocsPerRun(100, func() { _ = c.Decode(line) }); n != 0 {
			t.Errorf("%s.Decode of valid UTF-8: %v allocations, want 0", name, n)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = c.Encode("plain ascii text") }); n != 0 {
			t.Errorf("%s.Encode of ASCII: %v allocations, want 0", name, n)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	utf := strings.Repeat("héllo wörld ", 30)
	latin, _ := mustCodec(b, "latin1").Encode(utf)
	for _, bc := range []struct{ name, codec, line string }{
		{"utf8-network", "UTF-8", utf},
		{"latin1-network/utf8-line", "latin1", utf},
		{"latin1-network/latin1-line", "latin1", latin},
	} {
		c := mustCodec(b, bc.codec)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.line)))
			for b.Loop() {
				_ = c.Decode(bc.line)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "caf\xe9", "caf\xc3\xa9", "\x81\x8d\xff", "\x93\xfa\x96", "\xf0\xd2\xc9"} {
		f.Add("latin1", s)
	}
	f.Fuzz(func(t *testing.T, name, s string) {
		c, err := LookupCodec(name)
		if err != nil {
			return
		}
		got := c.Decode(s)
		if utf8.ValidString(s) {
			if got != s {
				t.Fatalf("valid UTF-8 %q changed to %q", s, got)
			}
			return
		}
		if c.IsUTF8() {
			return
		}
		if !utf8.ValidString(got) {
			t.Fatalf("%s.Decode(%q) = %q, not UTF-8", c.Name(), s, got)
		}
		if c.single != nil {
			if strings.ContainsRune(got, utf8.RuneError) {
				t.Fatalf("%s.Decode(%q) = %q has U+FFFD", c.Name(), s, got)
			}
			// One-byte encodings: what decoding gave, encoding gives back
			// (but for the C1 stand-ins of undefined bytes).
			if back, err := c.Encode(got); err == nil && back != s {
				t.Fatalf("%s round trip: %q -> %q -> %q", c.Name(), s, got, back)
			}
		}
	})
}

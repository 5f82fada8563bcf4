package mailaddr

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"mellium.im/xmpp/jid"
)

func TestLocalPart(t *testing.T) {
	tests := []struct {
		name, in, want, addr string // addr: normalised address
	}{
		{"plain", "alice@example.net", `alice\40example.net`, "alice@example.net"},
		{"plus", "alice+tag@x.org", `alice+tag\40x.org`, "alice+tag@x.org"},
		{"dots", "a.l.ice@mail.x.org", `a.l.ice\40mail.x.org`, "a.l.ice@mail.x.org"},
		{"upper domain", "alice@EXAMPLE.NET", `alice\40example.net`, "alice@example.net"},
		{"upper local", "Alice.Smith@Example.Net", `alice.smith\40example.net`, "alice.smith@example.net"},
		{"idn", "info@bücher.example", `info\40xn--bcher-kva.example`, "info@xn--bcher-kva.example"},
		{"idn upper", "info@BÜCHER.example", `info\40xn--bcher-kva.example`, "info@xn--bcher-kva.example"},
		{"a-label kept", "info@xn--bcher-kva.example", `info\40xn--bcher-kva.example`, "info@xn--bcher-kva.example"},
		{"atext specials", "a&b'c/d=e?f@x.org", `a\26b\27c\2fd=e?f\40x.org`, "a&b'c/d=e?f@x.org"},
		{"single label domain", "root@localhost", `root\40localhost`, "root@localhost"},
		{"utf8 local", "jürgen@x.org", `jürgen\40x.org`, "jürgen@x.org"},
		{"quoted unneeded", `"alice"@x.org`, `alice\40x.org`, "alice@x.org"},
		{"quoted space", `"Alice Smith"@x.org`, `\22alice\20smith\22\40x.org`, `"alice smith"@x.org`},
		{"quoted at", `"a@b"@x.org`, `\22a\40b\22\40x.org`, `"a@b"@x.org`},
		{"quoted specials", `"a:b<c>d"@x.org`, `\22a\3ab\3cc\3ed\22\40x.org`, `"a:b<c>d"@x.org`},
		{"quoted backslash", `"a\\b"@x.org`, `\22a\5c\5cb\22\40x.org`, `"a\\b"@x.org`},
		{"quoted quote", `"a\"b"@x.org`, `\22a\5c\22b\22\40x.org`, `"a\"b"@x.org`},
		{"quoted needless pair", `"a\b"@x.org`, `ab\40x.org`, "ab@x.org"},
		{"quoted escape lookalike", `"a\\40b"@x.org`, `\22a\5c\5c40b\22\40x.org`, `"a\\40b"@x.org`},
		{"greek upper", "ΣΑΣ@x.org", `σασ\40x.org`, "σασ@x.org"},
		{"ideographic dot", "a@x\u3002org", `a\40x.org`, "a@x.org"},
		{"sharp s domain", "a@faß.de", `a\40xn--fa-hia.de`, "a@xn--fa-hia.de"},
		{"quoted dots", `"a..b"@x.org`, `\22a..b\22\40x.org`, `"a..b"@x.org`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LocalPart(tc.in)
			if err != nil {
				t.Fatalf("LocalPart(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("LocalPart(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if !Valid(tc.in) {
				t.Errorf("Valid(%q) = false", tc.in)
			}
			addr, err := Address(got)
			if err != nil {
				t.Fatalf("Address(%q): %v", got, err)
			}
			if addr != tc.addr {
				t.Errorf("Address(%q) = %q, want %q", got, addr, tc.addr)
			}
			j, err := jid.New(got, "mail.gw", "")
			if err != nil || j.Localpart() != got {
				t.Errorf("jid.New(%q) = %v, %v", got, j, err)
			}
		})
	}
}

func TestLocalPartInvalid(t *testing.T) {
	long := strings.Repeat("a", 60) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".org"
	for _, in := range []string{
		"",
		"alice",
		"alice@",
		"@x.org",
		"alice@x.org\r\nBcc: eve@x.org",
		"alice@x.org\n",
		"ali\x00ce@x.org",
		"alice\r@x.org",
		`"ali` + "\t" + `ce"@x.org`,
		`"ali` + "\r\n " + `ce"@x.org`,
		"ali\u0085ce@x.org",
		"\xffalice@x.org",
		"Alice <alice@x.org>",
		"<alice@x.org>",
		`"Alice" <alice@x.org>`,
		"alice@x.org (comment)",
		"(comment)alice@x.org",
		" alice@x.org",
		"alice@x.org ",
		"alice @x.org",
		"alice@ x.org",
		"alice@x.org, bob@x.org",
		"group: alice@x.org;",
		"alice@[192.0.2.1]",
		"alice@[IPv6:2001:db8::1]",
		"alice@192.0.2.1",
		"alice@x.org.",
		"alice@.x.org",
		"alice@x..org",
		"alice@-x.org",
		"alice@x_y.org",
		"alice@x!.org",
		"alice@" + strings.Repeat("a", 64) + ".org",
		".alice@x.org",
		"alice.@x.org",
		"al..ice@x.org",
		`al"ice@x.org`,
		`al\ice@x.org`,
		`""@x.org`,
		`"alice@x.org`,
		`"al"ice@x.org`,
		`"al" "ice"@x.org`,
		strings.Repeat("a", 65) + "@x.org",
		long,
		strings.Repeat("a", 64) + "@" + strings.Repeat("b.", 95) + "org",
		"a😀b@x.org",      // symbol: PRECIS IdentifierClass disallows it
		"e\u0301t@x.org", // not NFC: PRECIS would change it
		"alice@x.org@y.org",
		"\uff41@x.org", // full-width a: PRECIS would map it
		"\ufb01@x.org", // ligature: PRECIS disallows it
		"a@xn--zz.org", // bad Punycode
	} {
		if got, err := LocalPart(in); err == nil {
			t.Errorf("LocalPart(%q) = %q, want error", in, got)
		} else if !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("LocalPart(%q) error %v does not wrap ErrInvalidAddress", in, err)
		}
		if Valid(in) {
			t.Errorf("Valid(%q) = true", in)
		}
	}
	if len(long) <= MaxAddressLen {
		t.Fatalf("test address too short: %d", len(long))
	}
}

func TestAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`alice\40example.net`, "alice@example.net"},
		{`alice\40EXAMPLE.net`, ""}, // not what LocalPart produces
		{`Alice\40example.net`, ""},
		{`\22a\3Ab\22\40x.org`, `"a:b"@x.org`}, // upper-case hex accepted
		{`\22A\3ab\22\40x.org`, ""},
		{`\22a\5C\5Cb\22\40x.org`, `"a\\b"@x.org`},
		{`alice@x.org`, ""},            // raw @: not a localpart at all
		{`alice\40x.org\`, ""},         // stray backslash
		{`ali\5cce\40x.org`, ""},       // backslash outside quotes
		{`alice\2ex.org`, ""},          // \2e is not an XEP-0106 escape
		{`"alice"\40x.org`, ""},        // raw quotes
		{`\22alice\22\40x.org`, ""},    // needless quotes: LocalPart would drop them
		{`alice\40bücher.example`, ""}, // U-label: LocalPart would write A-labels
		{`alice\40x.org\20`, ""},
		{`alice`, ""},
		{``, ""},
		{`alice\40[192.0.2.1]`, ""},
		{strings.Repeat(`\40`, 300), ""},
	} {
		got, err := Address(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("Address(%q) = %q, want error", tc.in, got)
			} else if !errors.Is(err, ErrInvalidLocalpart) {
				t.Errorf("Address(%q) error %v does not wrap ErrInvalidLocalpart", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Address(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	for _, s := range []string{"", "abc", ` "&'/:<>@\`, `\5c`, `\\40`, `a\`, "ü@\\"} {
		e := escape(s)
		if strings.ContainsAny(strings.ReplaceAll(e, `\`, ""), special) {
			t.Errorf("escape(%q) = %q still holds a special character", s, e)
		}
		if u := unescape(e); u != s {
			t.Errorf("unescape(escape(%q)) = %q", s, u)
		}
		if u := unescape(strings.ToUpper(e)); u != strings.ToUpper(s) {
			t.Errorf("unescape(upper(escape(%q))) = %q", s, u)
		}
	}
}

var fuzzSeeds = []string{
	"alice@example.net",
	"alice+tag@x.org",
	"Alice.Smith@EXAMPLE.NET",
	"info@bücher.example",
	`"Alice Smith"@x.org`,
	`"a\\b\"c"@x.org`,
	`"a@b"@x.org`,
	"Alice <alice@x.org>",
	"alice@[192.0.2.1]",
	"alice@x.org\r\n",
	"jürgen@x.org",
	"",
	"@",
	"ΣΑΣ@x.org",
	"a@faß.de",
}

func FuzzLocalPart(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		lp, err := LocalPart(in)
		if Valid(in) != (err == nil) {
			t.Fatalf("Valid(%q) disagrees with LocalPart error %v", in, err)
		}
		if err != nil {
			return
		}
		norm, err := normalize(in)
		if err != nil {
			t.Fatalf("LocalPart(%q) ok but normalize failed: %v", in, err)
		}
		if len(norm) > MaxAddressLen || !utf8.ValidString(lp) {
			t.Fatalf("normalize(%q) = %q", in, norm)
		}
		j, err := jid.New(lp, "mail.gw", "")
		if err != nil {
			t.Fatalf("LocalPart(%q) = %q: not a JID local part: %v", in, lp, err)
		}
		if j.Localpart() != lp {
			t.Fatalf("LocalPart(%q) = %q changed by PRECIS to %q", in, lp, j.Localpart())
		}
		addr, err := Address(lp)
		if err != nil {
			t.Fatalf("Address(LocalPart(%q) = %q): %v", in, lp, err)
		}
		if addr != norm {
			t.Fatalf("Address(LocalPart(%q)) = %q, want %q", in, addr, norm)
		}
		if lp2, err := LocalPart(addr); err != nil || lp2 != lp {
			t.Fatalf("LocalPart(%q) = %q, %v; want %q", addr, lp2, err, lp)
		}
	})
}

func FuzzAddress(f *testing.F) {
	for _, s := range fuzzSeeds {
		if lp, err := LocalPart(s); err == nil {
			f.Add(lp)
		}
		f.Add(escape(s))
	}
	f.Add(`\22a\3Ab\22\40x.org`)
	f.Add(`alice\40x.org\`)
	f.Add(`\5c40\40x.org`)
	f.Fuzz(func(t *testing.T, in string) {
		addr, err := Address(in)
		if err != nil {
			return
		}
		lp, err := LocalPart(addr)
		if err != nil {
			t.Fatalf("Address(%q) = %q, but LocalPart fails: %v", in, addr, err)
		}
		if lp != lowerHexEscapes(in) {
			t.Fatalf("LocalPart(Address(%q)) = %q", in, lp)
		}
		if !strings.EqualFold(lp, in) {
			t.Fatalf("LocalPart(Address(%q)) = %q differs beyond case", in, lp)
		}
		if norm, err := normalize(addr); err != nil || norm != addr {
			t.Fatalf("Address(%q) = %q is not normalised (%q, %v)", in, addr, norm, err)
		}
	})
}

package numbers

import (
	"strings"
	"testing"

	"mellium.im/xmpp/jid"
)

// checkNumber checks what holds for every Number the package returns: one
// kind set, a local part that is a normalised JID local part, and round trips
// through FromLocalPart and, by String, through ParseProvider.
func checkNumber(t *testing.T, n Number) {
	t.Helper()
	kinds := 0
	for _, s := range []string{n.E164, n.Short, n.Alpha} {
		if s != "" {
			kinds++
		}
	}
	if kinds != 1 || (n.Short != "") != (n.Region != "") {
		t.Fatalf("%+v: want exactly one of E164, Short, Alpha, and Region with Short only", n)
	}
	lp := n.LocalPart()
	j, err := jid.New(lp, "sms.gw", "")
	if err != nil {
		t.Fatalf("%+v: local part %q is not valid in a JID: %v", n, lp, err)
	}
	if j.Localpart() != lp {
		t.Fatalf("%+v: local part %q is not normalised, a JID holds %q", n, lp, j.Localpart())
	}
	if j2, err := jid.Parse(j.String()); err != nil || j2.Localpart() != lp {
		t.Fatalf("%+v: JID %q does not parse back (%v)", n, j, err)
	}
	back, err := FromLocalPart(lp)
	if err != nil {
		t.Fatalf("%+v: FromLocalPart(%q): %v", n, lp, err)
	}
	if back != n {
		t.Fatalf("FromLocalPart(%q) = %+v, want %+v", lp, back, n)
	}
	region := n.Region
	if region == "" {
		region = "US"
	}
	again, err := ParseProvider(n.String(), region)
	if err != nil || again != n {
		t.Fatalf("ParseProvider(%q, %q) = %+v, %v; want %+v", n.String(), region, again, err, n)
	}
}

func TestLocalPart(t *testing.T) {
	for _, tt := range []struct {
		n    Number
		want string
	}{
		{e164("+15551234567"), "+15551234567"},
		{e164(gb), "+442079460958"},
		{short("12345", "US"), "12345;phone-context=us"},
		{short("84444", "GB"), "84444;phone-context=gb"},
		{alpha("acme"), "acme;phone-context=alpha"},
		{alpha("google"), "google;phone-context=alpha"},
		{alpha("acme bank"), `acme\20bank;phone-context=alpha`},
		{alpha("at&t"), `at\26t;phone-context=alpha`},
		{alpha(`a"&'/:<>@\b`), `a\22\26\27\2f\3a\3c\3e\40\5cb;phone-context=alpha`},
		{alpha(`x\20y`), `x\5c20y;phone-context=alpha`},
		{alpha("x;phone-context=us"), "x;phone-context=us;phone-context=alpha"},
		{Number{}, ""},
	} {
		if got := tt.n.LocalPart(); got != tt.want {
			t.Errorf("%+v.LocalPart() = %q, want %q", tt.n, got, tt.want)
		}
		if tt.n != (Number{}) {
			checkNumber(t, tt.n)
		}
	}
}

func TestFromLocalPart(t *testing.T) {
	good := map[string]Number{
		"+12015550123":                               e164(us),
		"+15551234567":                               e164("+15551234567"), // possible is enough
		"+442079460958":                              e164(gb),
		"+298211234":                                 e164("+298211234"),
		"12345;phone-context=us":                     short("12345", "US"),
		"123;phone-context=de":                       short("123", "DE"),
		"123456;phone-context=fr":                    short("123456", "FR"),
		"acme;phone-context=alpha":                   alpha("acme"),
		`acme\20bank;phone-context=alpha`:            alpha("acme bank"),
		`a\40b;phone-context=alpha`:                  alpha("a@b"),
		"+acme;phone-context=alpha":                  alpha("+acme"),
		"12345;phone-context=us;phone-context=alpha": alpha("12345;phone-context=us"),
		"café;phone-context=alpha":                   alpha("café"),
	}
	for lp, want := range good {
		got, err := FromLocalPart(lp)
		if err != nil || got != want {
			t.Errorf("FromLocalPart(%q) = %+v, %v; want %+v", lp, got, err, want)
			continue
		}
		checkNumber(t, got)
	}
	bad := []string{
		"",
		"+",
		"15551234567",       // no "+"
		"+1 555 123 4567",   // not E.164
		"+1-555-123-4567",   //
		"+0123456",          // no country code 0
		"+999123456",        // no country code 999
		"+1555",             // too short
		"+1234567890123456", // too long
		"+12015550123;phone-context=us",
		"+１２０１５５５０１２３",                       // full-width digits
		"12345;phone-context=US",             // upper-case region
		"12345;phone-context=xx",             // unknown region
		"12345;phone-context=usa",            //
		"12345;phone-context=",               //
		"12;phone-context=us",                // too short for a short code
		"1234567;phone-context=us",           // too long for one
		"12a45;phone-context=us",             //
		"acme",                               // no context
		"ACME;phone-context=alpha",           // not lower case
		"acme bank;phone-context=alpha",      // unescaped space
		`acme\20\20bank;phone-context=alpha`, // two spaces
		`\20acme;phone-context=alpha`,        // leading space
		`acme\20;phone-context=alpha`,        // trailing space
		`acme\2Fx;phone-context=alpha`,       // upper-case hex
		`a\b;phone-context=alpha`,            // backslash not escaped
		`a\5;phone-context=alpha`,            //
		"ａｃｍｅ;phone-context=alpha",           // full width
		";phone-context=alpha",
		"123;phone-context=alpha", // no letter
		`\5c;phone-context=alpha`, //
		strings.Repeat("a", 33) + ";phone-context=alpha",
		"acme;phone-context=Alpha",
		"acme;phone-context=beta",
		"acme;PHONE-CONTEXT=alpha",
		"\xff;phone-context=alpha",
	}
	for _, lp := range bad {
		if got, err := FromLocalPart(lp); err == nil {
			t.Errorf("FromLocalPart(%q) = %+v, want error", lp, got)
		} else if !isNumbersError(err) || !strings.Contains(err.Error(), "expected a phone number like") {
			t.Errorf("FromLocalPart(%q) error %q, want *Error saying what is expected", lp, err)
		}
	}
}

func TestEscapeUnescape(t *testing.T) {
	for _, tt := range []struct{ raw, esc string }{
		{"", ""},
		{"plain", "plain"},
		{" ", `\20`},
		{`\`, `\5c`},
		{`\20`, `\5c20`},
		{`\5c`, `\5c5c`},
		{`a"b&c'd/e:f<g>h@i`, `a\22b\26c\27d\2fe\3af\3cg\3eh\40i`},
		{"日本 語", `日本\20語`},
	} {
		if got := escape(tt.raw); got != tt.esc {
			t.Errorf("escape(%q) = %q, want %q", tt.raw, got, tt.esc)
		}
		if got := unescape(tt.esc); got != tt.raw {
			t.Errorf("unescape(%q) = %q, want %q", tt.esc, got, tt.raw)
		}
	}
	// Lenient reading of what escape would not write.
	for esc, raw := range map[string]string{`\`: `\`, `\2`: `\2`, `a\b`: `a\b`, `\41`: `\41`, `\2F`: `\2F`, `\5c2`: `\2`} {
		if got := unescape(esc); got != raw {
			t.Errorf("unescape(%q) = %q, want %q", esc, got, raw)
		}
	}
}

package numbers

import (
	"errors"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// FuzzParse feeds the same input to Parse and ParseProvider: neither panics,
// every error is an *Error with a text, and every result round-trips through
// its local part (see checkNumber).
func FuzzParse(f *testing.F) {
	for _, s := range []struct{ in, region string }{
		{"(201) 555-0123", "US"},
		{"555.123.4567", "US"},
		{"+1 555 123 4567", "US"},
		{"0044 20 7946 0958", "US"},
		{"011 44 20 7946 0958", "US"},
		{"020 7946 0958", "GB"},
		{"+44 (0)20 7946 0958", "GB"},
		{"0049 30 123456", "DE"},
		{"030/123456", "DE"},
		{"06 12 34 56 78", "FR"},
		{"0011 44 20 7946 0958", "AU"},
		{"tel:+1-201-555-0123", "us"},
		{"٠٢٠ ٧٩٤٦ ٠٩٥٨", "GB"},
		{"12345", "US"},
		{"12", "US"},
		{"4915123456789", "DE"},
		{"2015550123", "US"},
		{"ACME", "US"},
		{"  Acme  Bank ", "GB"},
		{"ＡＣＭＥ＠", "US"},
		{`a"&'/:<>@\b`, "US"},
		{`x\20y`, "FR"},
		{"x;phone-context=us", "US"},
		{"Café", "FR"},
		{"شركة", "US"},
		{"\xff", "XX"},
		{"+", ""},
	} {
		f.Add(s.in, s.region)
	}
	f.Fuzz(func(t *testing.T, in, region string) {
		for name, parse := range map[string]func(string, string) (Number, error){"Parse": Parse, "ParseProvider": ParseProvider} {
			n, err := parse(in, region)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Text == "" || n != (Number{}) {
					t.Fatalf("%s(%q, %q) = %+v, %#v", name, in, region, n, err)
				}
				continue
			}
			checkNumber(t, n)
			if name == "Parse" && n.E164 != "" {
				pn, err := phonenumbers.Parse(n.E164, "ZZ")
				if err != nil || !phonenumbers.IsValidNumber(pn) {
					t.Fatalf("Parse(%q, %q) = %s, not valid", in, region, n.E164)
				}
			}
		}
	})
}

// FuzzFromLocalPart checks that FromLocalPart never panics and accepts only
// local parts that LocalPart writes back exactly.
func FuzzFromLocalPart(f *testing.F) {
	for _, s := range []string{
		"+12015550123",
		"+15551234567",
		"+442079460958",
		"12345;phone-context=us",
		"12345;phone-context=US",
		"12;phone-context=us",
		"acme;phone-context=alpha",
		`acme\20bank;phone-context=alpha`,
		`a\22\26\27\2f\3a\3c\3e\40\5cb;phone-context=alpha`,
		`a\b;phone-context=alpha`,
		"x;phone-context=us;phone-context=alpha",
		"+acme;phone-context=alpha",
		"ACME;phone-context=alpha",
		"café;phone-context=alpha",
		"",
		"+",
		";phone-context=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, lp string) {
		n, err := FromLocalPart(lp)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Text == "" || n != (Number{}) {
				t.Fatalf("FromLocalPart(%q) = %+v, %#v", lp, n, err)
			}
			return
		}
		if got := n.LocalPart(); got != lp {
			t.Fatalf("FromLocalPart(%q) = %+v, whose LocalPart is %q", lp, n, got)
		}
		checkNumber(t, n)
	})
}

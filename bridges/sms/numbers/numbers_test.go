package numbers

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// Real-looking numbers, each checked with the library in TestFixturesValid.
const (
	us   = "+12015550123"  // libphonenumber's US example
	usNY = "+12125550123"  // Manhattan, 555-01xx fiction range
	gb   = "+442079460958" // Ofcom drama range, London
	gbM  = "+447400123456" // libphonenumber's GB mobile example
	de   = "+4930123456"   // Berlin
	deM  = "+4915123456789"
	fr   = "+33612345678" // libphonenumber's FR mobile example
	frL  = "+33142685300" // Paris
	ca   = "+14165550123" // Toronto
	au   = "+61412345678"
)

func TestFixturesValid(t *testing.T) {
	for _, s := range []string{us, usNY, gb, gbM, de, deM, fr, frL, ca, au} {
		n, err := phonenumbers.Parse(s, "ZZ")
		if err != nil || !phonenumbers.IsValidNumber(n) || format(n) != s {
			t.Errorf("fixture %s is not a valid E.164 number (err %v)", s, err)
		}
	}
	// The classic fictional number is possible but not valid: Parse refuses
	// it, ParseProvider accepts it.
	n, err := phonenumbers.Parse("+15551234567", "ZZ")
	if err != nil || phonenumbers.IsValidNumber(n) || !phonenumbers.IsPossibleNumber(n) {
		t.Errorf("+15551234567: want possible but not valid")
	}
}

func e164(s string) Number          { return Number{E164: s} }
func short(s, reg string) Number    { return Number{Short: s, Region: reg} }
func alpha(s string) Number         { return Number{Alpha: s} }
func errText(err error) string      { var e *Error; errors.As(err, &e); return e.Text }
func isNumbersError(err error) bool { var e *Error; return errors.As(err, &e) && e.Text != "" }

func TestParse(t *testing.T) {
	tests := []struct {
		in, region string
		want       Number
	}{
		// US, national formats.
		{"(201) 555-0123", "US", e164(us)},
		{"201.555.0123", "US", e164(us)},
		{"201-555-0123", "US", e164(us)},
		{"2015550123", "US", e164(us)},
		{"201 555 0123", "US", e164(us)},
		{"1 (201) 555-0123", "US", e164(us)},
		{"1-201-555-0123", "US", e164(us)},
		{"  (212) 555-0123  ", "US", e164(usNY)},
		{"416-555-0123", "US", e164(ca)}, // NANP: Canada from the US
		{"2015550123", "us", e164(us)},   // region case does not matter
		// International with "+".
		{"+1 201 555 0123", "US", e164(us)},
		{"+1 (201) 555-0123", "GB", e164(us)},
		{"+12015550123", "DE", e164(us)},
		{"+44 20 7946 0958", "US", e164(gb)},
		{"+44 (0)20 7946 0958", "GB", e164(gb)},
		{"(+44) 20 7946 0958", "FR", e164(gb)},
		{"+49 30 123456", "FR", e164(de)},
		{"+33 6 12 34 56 78", "DE", e164(fr)},
		{"＋４４ ２０ ７９４６ ０９５８", "US", e164(gb)},
		{"tel:+1-201-555-0123", "US", e164(us)},
		{"TEL:+44-20-7946-0958", "US", e164(gb)},
		{"+1\u00a0201\u2011555\u20110123", "US", e164(us)}, // no-break space and hyphen
		// "00" and "011" call prefixes, which the library misreads outside
		// the regions that use them.
		{"0044 20 7946 0958", "US", e164(gb)},
		{"011 44 20 7946 0958", "US", e164(gb)},
		{"011 49 30 123456", "CA", e164(de)},
		{"0049 30 123456", "US", e164(de)},
		{"0049 30 123456", "DE", e164(de)},
		{"0049 30 123456", "GB", e164(de)},
		{"0049 30 123456", "FR", e164(de)},
		{"00 33 6 12 34 56 78", "US", e164(fr)},
		{"0033 6 12 34 56 78", "GB", e164(fr)},
		{"001 201 555 0123", "DE", e164(us)},
		{"001 201 555 0123", "US", e164(us)},
		{"0011 44 20 7946 0958", "AU", e164(gb)}, // Australia's own prefix
		{"0044 20 7946 0958", "AU", e164(gb)},
		// GB.
		{"020 7946 0958", "GB", e164(gb)},
		{"020-7946-0958", "GB", e164(gb)},
		{"(020) 7946 0958", "GB", e164(gb)},
		{"07400 123456", "GB", e164(gbM)},
		{"07400123456", "GB", e164(gbM)},
		{"44 20 7946 0958", "GB", e164(gb)},            // own country code without "+"
		{"0113 496 0000", "GB", e164("+441134960000")}, // "011" is Leeds, not a prefix, in GB
		// DE.
		{"030 123456", "DE", e164(de)},
		{"030/123456", "DE", e164(de)},
		{"(030) 123 456", "DE", e164(de)},
		{"01512 3456789", "DE", e164(deM)},
		{"0151-23456789", "DE", e164(deM)},
		{"+49 (0)30 123456", "DE", e164(de)},
		// FR.
		{"06 12 34 56 78", "FR", e164(fr)},
		{"06.12.34.56.78", "FR", e164(fr)},
		{"0612345678", "FR", e164(fr)},
		{"01 42 68 53 00", "FR", e164(frL)},
		{"+33 (0)1 42 68 53 00", "FR", e164(frL)},
		// Other scripts' digits.
		{"٠٢٠ ٧٩٤٦ ٠٩٥٨", "GB", e164(gb)},
		{"०६ १२ ३४ ५६ ७८", "FR", e164(fr)},
		// Short codes: 3 to 6 digits without "+", before the library.
		{"12345", "US", short("12345", "US")},
		{"123456", "US", short("123456", "US")},
		{"123", "US", short("123", "US")},
		{"12 345", "us", short("12345", "US")},
		{"84444", "GB", short("84444", "GB")},
		{"22222", "DE", short("22222", "DE")},
		{"1640", "DE", short("1640", "DE")}, // a valid German number to the library
		{"38100", "FR", short("38100", "FR")},
		{"00123", "US", short("00123", "US")}, // too short to be international
		{"211234", "FO", short("211234", "FO")},
		// ...which is why short full numbers need the country code.
		{"+298 211234", "FO", e164("+298211234")},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in, tt.region)
		if err != nil {
			t.Errorf("Parse(%q, %q): %v", tt.in, tt.region, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q, %q) = %+v, want %+v", tt.in, tt.region, got, tt.want)
		}
		if got.E164 != "" {
			n, err := phonenumbers.Parse(got.E164, "ZZ")
			if err != nil || !phonenumbers.IsValidNumber(n) {
				t.Errorf("Parse(%q, %q) = %s, which the library does not call valid", tt.in, tt.region, got.E164)
			}
		}
		checkNumber(t, got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in, region string
		want       string // in the error text
	}{
		{"", "US", `"" has no digits: expected a phone number like +12015550123 (or 2015550123 in US)`},
		{"   ", "US", "has no digits"},
		{"+", "US", "has no digits"},
		{"(555) 123-4567", "US", `"(555) 123-4567" is not a phone number in use: expected a phone number like +12015550123 (or 2015550123 in US)`},
		{"555.123.4567", "US", "not a phone number in use"},
		{"+1 555 123 4567", "US", "not a phone number in use"},
		{"+1 201 555 012", "US", "not a valid phone number"},
		{"201 555 01234", "US", "not a valid phone number"},
		{"0044 20 7946 0958 0958", "US", "not a valid phone number"},
		{"+298 21", "FO", "expected a phone number like +298211234\x00"},
		{"011 44 20 7946 0958", "GB", "not a valid phone number: expected a phone number like +447400123456 (or 07400123456 in GB)"},
		{"+12345", "US", "not a valid phone number"},
		{"+0 201 555 0123", "US", "not a valid phone number"},
		{"12", "US", "too short"},
		{"1", "DE", "too short for a phone number or short code: expected a phone number like +4915123456789 (or 015123456789 in DE)"},
		{"abc", "GB", `"abc" has letters`},
		{"1-800-FLOWERS", "US", "has letters"},
		{"201 555 0123 ext. 5", "US", "has letters"},
		{"201 555 0123 #5", "US", "not part of a phone number"},
		{"201+555", "US", `"+" that is not at the start`},
		{"++1 201 555 0123", "US", `"+" that is not at the start`},
		{"1234567890123456789012", "US", "too long"},
		{strings.Repeat(" ", 300) + "1", "US", "too long"},
		{"06 12 34 56 78", "FR ", "not a known region"},
		{"2015550123", "XX", `"XX" is not a known region: expected a two-letter country code such as US, GB or DE`},
		{"2015550123", "", "not a known region"},
		{"2015550123", "USA", "not a known region"},
		{"2015550123", "001", "not a known region"},
		{"12345", "ZZ", "not a known region"},
		{"\xff", "US", "not part of a phone number"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in, tt.region)
		if err == nil {
			t.Errorf("Parse(%q, %q) = %+v, want error", tt.in, tt.region, got)
			continue
		}
		if !isNumbersError(err) {
			t.Errorf("Parse(%q, %q): error %T, want *Error", tt.in, tt.region, err)
			continue
		}
		// A trailing NUL in want means the text must end there.
		if !strings.Contains(errText(err)+"\x00", tt.want) || err.Error() != errText(err) {
			t.Errorf("Parse(%q, %q) error %q, want it to contain %q", tt.in, tt.region, err, tt.want)
		}
		if got != (Number{}) {
			t.Errorf("Parse(%q, %q) = %+v with error", tt.in, tt.region, got)
		}
	}
}

// Every region's example numbers parse in its own national format, in
// international format, and after "00" or (NANP) "011", from any region.
func TestParseExamplesAllRegions(t *testing.T) {
	regions := make([]string, 0, 250)
	for r := range phonenumbers.GetSupportedRegions() {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	for _, r := range regions {
		for _, typ := range []phonenumbers.PhoneNumberType{phonenumbers.MOBILE, phonenumbers.FIXED_LINE} {
			ex := phonenumbers.GetExampleNumberForType(r, typ)
			if ex == nil || !phonenumbers.IsValidNumber(ex) {
				continue
			}
			want := e164(format(ex))
			digits := want.E164[1:]
			inputs := map[string]string{
				phonenumbers.Format(ex, phonenumbers.INTERNATIONAL): r,
				phonenumbers.Format(ex, phonenumbers.INTERNATIONAL): "US",
				"00 " + digits:  "US",
				"011 " + digits: "CA",
				"00" + digits:   "DE",
			}
			// The library cannot read back some of its own national formats
			// (Argentine mobiles); the region's example() avoids those.
			national := phonenumbers.Format(ex, phonenumbers.NATIONAL)
			if back, err := phonenumbers.Parse(national, r); err == nil && format(back) == want.E164 && len(onlyDigits(national)) > maxShort {
				inputs[national] = r
			}
			for in, reg := range inputs {
				if got, err := Parse(in, reg); err != nil || got != want {
					t.Errorf("%s %v: Parse(%q, %q) = %+v, %v; want %s", r, typ, in, reg, got, err, want.E164)
				}
			}
		}
	}
}

func onlyDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if '0' <= r && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func TestParseProvider(t *testing.T) {
	tests := []struct {
		in, region string
		want       Number
	}{
		// E.164 with "+": possible is enough.
		{"+12015550123", "US", e164(us)},
		{"+12015550123", "GB", e164(us)},
		{"+15551234567", "US", e164("+15551234567")},
		{"+442079460958", "DE", e164(gb)},
		{" +33612345678 ", "FR", e164(fr)},
		{"+1 201-555-0123", "US", e164(us)},
		{"+358000000", "FI", e164("+35800000")}, // trunk 0 dropped, as in +44 (0)20
		// Without "+": the region's country code first, then national,
		// then international.
		{"12015550123", "US", e164(us)},
		{"15551234567", "US", e164("+15551234567")},
		{"2015550123", "US", e164(us)}, // not Egypt (+20), though valid there
		{"5551234567", "US", e164("+15551234567")},
		{"447400123456", "US", e164(gbM)},
		{"447400123456", "GB", e164(gbM)},
		{"07400123456", "GB", e164(gbM)},
		{"442079460958", "GB", e164(gb)},
		{"4915123456789", "DE", e164(deM)}, // not +49 4915123456789, valid too
		{"015123456789", "DE", e164(deM)},
		{"15123456789", "DE", e164(deM)}, // national significant number
		{"4930123456", "DE", e164(de)},
		{"33612345678", "FR", e164(fr)},
		{"0612345678", "FR", e164(fr)},
		{"33612345678", "US", e164(fr)},
		{"12015550123", "GB", e164(us)},
		// Call prefixes.
		{"0044 20 7946 0958", "US", e164(gb)},
		{"01144 20 7946 0958", "US", e164(gb)},
		{"00442079460958", "DE", e164(gb)},
		// Short codes.
		{"12345", "US", short("12345", "US")},
		{"123456", "gb", short("123456", "GB")},
		{"22222", "DE", short("22222", "DE")},
		{"123", "FR", short("123", "FR")},
		// Alphanumeric senders, canonical.
		{"ACME", "US", alpha("acme")},
		{"Acme", "GB", alpha("acme")},
		{"Google", "US", alpha("google")},
		{"  Acme  Bank ", "US", alpha("acme bank")},
		{"Acme\tBank", "US", alpha("acme bank")},
		{"ＡＣＭＥ", "US", alpha("acme")},
		{"a＠b", "US", alpha("a@b")},
		{"AT&T", "US", alpha("at&t")},
		{"O'Reilly", "US", alpha("o'reilly")},
		{"A/B:C<D>E\"F@G", "US", alpha(`a/b:c<d>e"f@g`)},
		{`back\slash`, "US", alpha(`back\slash`)},
		{`x\20y`, "US", alpha(`x\20y`)},
		{"Info-123", "DE", alpha("info-123")},
		{"+ACME", "US", alpha("+acme")},
		{"Café", "FR", alpha("café")},
		{"ΑΒΓ", "GR", alpha("αβγ")},
		{"x;phone-context=us", "US", alpha("x;phone-context=us")},
		{"tel:Acme", "US", alpha("tel:acme")},
		{"12345678901A", "US", alpha("12345678901a")},
		{strings.Repeat("A", 32), "US", alpha(strings.Repeat("a", 32))},
	}
	for _, tt := range tests {
		got, err := ParseProvider(tt.in, tt.region)
		if err != nil {
			t.Errorf("ParseProvider(%q, %q): %v", tt.in, tt.region, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseProvider(%q, %q) = %+v, want %+v", tt.in, tt.region, got, tt.want)
		}
		checkNumber(t, got)
	}
}

func TestParseProviderErrors(t *testing.T) {
	tests := []struct {
		in, region string
		want       string
	}{
		{"", "US", "empty sender"},
		{"  ", "US", "empty sender"},
		{"12", "US", "too short for a short code"},
		{"+999", "US", "not a phone number"},
		// Read nationally, +358 0000000 is written +358000000, which reads
		// back as +358 0 0000 and is written +35800000: not stable, refused.
		{"0000000", "AX", "not a phone number"},
		{"10000000000000", "ID", "not a phone number"}, // +6210000000000000: 16 digits
		{"+1 201 555 012", "US", "not a phone number"},
		{"999999999999", "US", "not a phone number"},
		{"1234567890123456789012", "US", "not a phone number"},
		{"+ACME", "XX", "not a known region"},
		{"ACME", "", "not a known region"},
		{"💩", "US", "not a phone number, short code or alphanumeric sender"},
		{"#123", "US", "not a phone number, short code or alphanumeric sender"},
		{"\xffACME", "US", "not a phone number, short code or alphanumeric sender"},
		{"ACME\x00", "US", "control characters"},
		{"Acme™", "US", "cannot hold"},
		{"شركة", "US", "cannot hold"}, // Bidi Rule: right-to-left then ";phone-context=alpha"
		{strings.Repeat("A", 33), "US", "too long"},
		{strings.Repeat("A", 1000), "US", "too long"},
	}
	for _, tt := range tests {
		got, err := ParseProvider(tt.in, tt.region)
		if err == nil {
			t.Errorf("ParseProvider(%q, %q) = %+v, want error", tt.in, tt.region, got)
			continue
		}
		if !isNumbersError(err) || !strings.Contains(errText(err), tt.want) {
			t.Errorf("ParseProvider(%q, %q) error %q, want *Error containing %q", tt.in, tt.region, err, tt.want)
		}
	}
}

// The example in every region's error message is a valid number that Parse
// reads in both forms.
func TestExampleAllRegions(t *testing.T) {
	for r := range phonenumbers.GetSupportedRegions() {
		intl, national := example(r)
		for _, in := range []string{intl, national} {
			if in == "" {
				continue
			}
			if n, err := Parse(in, r); err != nil || n.E164 != intl {
				t.Errorf("%s: example %q: Parse = %+v, %v; want %s", r, in, n, err, intl)
			}
		}
	}
}

func TestValidRegion(t *testing.T) {
	for _, r := range []string{"US", "GB", "DE", "FR", "us", "gB", "FO", "AC", "TA"} {
		if !ValidRegion(r) {
			t.Errorf("ValidRegion(%q) = false", r)
		}
	}
	for _, r := range []string{"", "U", "USA", "XX", "ZZ", "001", "UK", "U1", "\xffU", " US"} {
		if ValidRegion(r) {
			t.Errorf("ValidRegion(%q) = true", r)
		}
	}
}

func TestString(t *testing.T) {
	for _, tt := range []struct {
		n    Number
		want string
	}{
		{e164(us), "+12015550123"},
		{short("12345", "US"), "12345"},
		{alpha("acme bank"), "acme bank"},
		{Number{}, ""},
	} {
		if got := tt.n.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.n, got, tt.want)
		}
	}
}

package numbers

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Number is one SMS address. Exactly one of E164, Short and Alpha is set in
// a Number that this package returns.
type Number struct {
	E164   string // "+15551234567", or "" when the address is not a phone number
	Short  string // the digits of a short code, e.g. "12345"
	Alpha  string // an alphanumeric sender, canonical (lower case), e.g. "acme"
	Region string // ISO 3166 alpha-2 region of a short code, upper case, e.g. "US"
}

// Error is a number or address that cannot be used. Text is fit to show the
// user and says what was expected.
type Error struct {
	Text string
}

func (e *Error) Error() string { return e.Text }

func errorf(format string, args ...any) *Error {
	return &Error{Text: fmt.Sprintf(format, args...)}
}

// Limits on what is read.
const (
	minShort   = 3  // shortest short code
	maxShort   = 6  // longest short code
	maxE164    = 15 // digits of an E.164 number (ITU-T E.164 §6)
	maxDigits  = 20 // call prefix (4) + E.164 (15) + a stray trunk digit
	maxAlpha   = 32 // runes of an alphanumeric sender (GSM allows 11)
	maxInput   = 256
	quoteRunes = 40 // of the user's input repeated in an error
)

// String is the number as a provider wants it in a "to" or "from" field: the
// E.164 number with its "+", the short code's digits or the alphanumeric
// sender. It is "" for the zero Number.
func (n Number) String() string {
	switch {
	case n.E164 != "":
		return n.E164
	case n.Short != "":
		return n.Short
	}
	return n.Alpha
}

// ValidRegion reports whether region is a two-letter ISO 3166 region code
// that phonenumbers has metadata for. Case does not matter.
func ValidRegion(region string) bool {
	_, ok := normRegion(region)
	return ok
}

func normRegion(region string) (string, bool) {
	if len(region) != 2 {
		return "", false
	}
	for i := 0; i < 2; i++ {
		c := region[i] | 0x20
		if c < 'a' || c > 'z' {
			return "", false
		}
	}
	r := strings.ToUpper(region)
	return r, phonenumbers.GetSupportedRegions()[r]
}

func regionError(region string) *Error {
	return errorf("%s is not a known region: expected a two-letter country code such as US, GB or DE", quote(region))
}

// Parse reads a phone number as a user types it, in the national format of
// region or in international format, or a short code. region is an ISO
// 3166 alpha-2 code ("US", "GB", "DE"). Errors are *Error.
func Parse(typed, region string) (Number, error) {
	reg, ok := normRegion(region)
	if !ok {
		return Number{}, regionError(region)
	}
	plus, d, why := tokenize(typed, true)
	if why != "" {
		return Number{}, expected(reg, "%s %s", quote(typed), why)
	}
	if !plus && len(d) <= maxShort {
		if len(d) < minShort {
			return Number{}, expected(reg, "%s is too short for a phone number or short code", quote(typed))
		}
		return Number{Short: d, Region: reg}, nil
	}

	var cands []*phonenumbers.PhoneNumber
	if plus {
		cands = appendParsed(cands, "+"+d, reg)
	} else {
		cands = callPrefixCandidates(d, reg)
		cands = appendParsed(cands, d, reg)
	}
	for _, c := range cands {
		if s, ok := stableE164(c, phonenumbers.IsValidNumber); ok {
			return Number{E164: s}, nil
		}
	}
	for _, c := range cands {
		if _, ok := stableE164(c, phonenumbers.IsPossibleNumber); ok {
			return Number{}, expected(reg, "%s is not a phone number in use", quote(typed))
		}
	}
	return Number{}, expected(reg, "%s is not a valid phone number", quote(typed))
}

// ParseProvider reads a sender (or recipient) as an SMS provider gives it:
// an E.164 number with or without its "+", a national number of region, a
// short code, or an alphanumeric sender. Numbers need only be possible, not
// known to be assigned. Errors are *Error.
//
// A number of seven or more digits without "+" or call prefix is read, in
// this order, as the international number when it starts with region's
// country code and is valid that way ("4915123456789" in DE), as a national
// number of region ("07400123456" in GB, "2015550123" in US), or as an
// international number without its "+" ("447400123456" in US); valid
// readings are preferred to merely possible ones.
func ParseProvider(s, region string) (Number, error) {
	reg, ok := normRegion(region)
	if !ok {
		return Number{}, regionError(region)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return Number{}, errorf("empty sender: expected an E.164 number, a short code or an alphanumeric sender")
	}
	plus, d, why := tokenize(s, false)
	if why != "" {
		if !utf8.ValidString(s) || len(s) > maxInput || !strings.ContainsFunc(s, unicode.IsLetter) {
			return Number{}, errorf("sender %s is not a phone number, short code or alphanumeric sender: %s", quote(s), why)
		}
		a, err := canonicalAlpha(s)
		if err != nil {
			return Number{}, err
		}
		return Number{Alpha: a}, nil
	}
	if !plus && len(d) <= maxShort {
		if len(d) < minShort {
			return Number{}, errorf("sender %s is too short for a short code (%d to %d digits)", quote(s), minShort, maxShort)
		}
		return Number{Short: d, Region: reg}, nil
	}

	var tiers [][]*phonenumbers.PhoneNumber
	if plus {
		tiers = append(tiers, appendParsed(nil, "+"+d, reg))
	} else {
		if c := callPrefixCandidates(d, reg); len(c) > 0 {
			tiers = append(tiers, c)
		}
		intl := appendParsed(nil, "+"+d, reg)
		if cc := phonenumbers.GetCountryCodeForRegion(reg); cc != 0 && strings.HasPrefix(d, strconv.Itoa(cc)) {
			tiers = append(tiers, intl)
		}
		tiers = append(tiers, appendParsed(nil, d, reg), intl)
	}
	for _, test := range []func(*phonenumbers.PhoneNumber) bool{phonenumbers.IsValidNumber, phonenumbers.IsPossibleNumber} {
		for _, tier := range tiers {
			for _, c := range tier {
				if s, ok := stableE164(c, test); ok {
					return Number{E164: s}, nil
				}
			}
		}
	}
	return Number{}, errorf("sender %s is not a phone number: expected an E.164 number such as +12015550123", quote(s))
}

// callPrefixCandidates reads d as an international number after a call
// prefix: the region's own as the library knows it, then "00" anywhere and
// "011" in NANP regions, which the library misses outside regions that use
// them. It returns nothing when d starts with no call prefix.
func callPrefixCandidates(d, reg string) []*phonenumbers.PhoneNumber {
	var cands []*phonenumbers.PhoneNumber
	if n, err := phonenumbers.ParseAndKeepRawInput(d, reg); err == nil &&
		n.GetCountryCodeSource() == phonenumbers.PhoneNumber_FROM_NUMBER_WITH_IDD {
		cands = append(cands, n)
	}
	switch {
	case phonenumbers.IsNANPACountry(reg) && strings.HasPrefix(d, "011"):
		cands = appendParsed(cands, "+"+d[3:], reg)
	case strings.HasPrefix(d, "00"):
		cands = appendParsed(cands, "+"+d[2:], reg)
	}
	return cands
}

// appendParsed appends what the library makes of s, when it makes anything.
func appendParsed(cands []*phonenumbers.PhoneNumber, s, reg string) []*phonenumbers.PhoneNumber {
	n, err := phonenumbers.Parse(s, reg)
	if err != nil || n.GetCountryCode() == 0 {
		return cands
	}
	return append(cands, n)
}

// stableE164 is n in E.164 when that has at most 15 digits, n passes test,
// and so does what the library reads back from the E.164 form, unchanged.
// The library is not idempotent for every input: read nationally in AX,
// "0000000" is +358 000000, written "+358000000", which reads back as
// +358 0 0000 and is written "+35800000", another number. Such numbers are
// refused, so that a Number's E164 always reads back as itself (and
// FromLocalPart accepts it). The library also calls some numbers of more
// than 15 digits possible; E.164 does not.
func stableE164(n *phonenumbers.PhoneNumber, test func(*phonenumbers.PhoneNumber) bool) (string, bool) {
	if !test(n) {
		return "", false
	}
	s := format(n)
	if len(s) > 1+maxE164 {
		return "", false
	}
	back, err := phonenumbers.Parse(s, "ZZ")
	if err != nil || format(back) != s || !test(back) {
		return "", false
	}
	return s, true
}

func format(n *phonenumbers.PhoneNumber) string {
	return phonenumbers.Format(n, phonenumbers.E164)
}

// expected builds the error for a typed number, ending with an example of
// the international and national formats in reg.
func expected(reg, format string, args ...any) *Error {
	intl, national := example(reg)
	if national == "" {
		return errorf("%s: expected a phone number like %s", fmt.Sprintf(format, args...), intl)
	}
	return errorf("%s: expected a phone number like %s (or %s in %s)", fmt.Sprintf(format, args...), intl, national, reg)
}

// example is the library's example number for reg, in E.164 and in national
// format with digits only: a mobile number (these are texts) unless its
// national format does not read back, as in Argentina. national is "" where
// numbers are so short that they must be typed with their country code (see
// Parse).
func example(reg string) (intl, national string) {
	intl = "+12015550123"
	for _, typ := range []phonenumbers.PhoneNumberType{phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE, phonenumbers.FIXED_LINE} {
		ex := phonenumbers.GetExampleNumberForType(reg, typ)
		if ex == nil || !phonenumbers.IsValidNumber(ex) {
			continue
		}
		national = strings.Map(func(r rune) rune {
			if '0' <= r && r <= '9' {
				return r
			}
			return -1
		}, phonenumbers.Format(ex, phonenumbers.NATIONAL))
		if intl == "+12015550123" {
			intl = format(ex)
		}
		if back, err := phonenumbers.Parse(national, reg); err == nil && format(back) == format(ex) && len(national) > maxShort {
			return format(ex), national
		}
	}
	return intl, ""
}

// tokenize reads a number written with separators: an optional "tel:" (when
// tel is set), an optional "+" before the first digit, digits of any script and, between
// them, white space, dashes, dots, slashes and parentheses. It returns the
// ASCII digits, or why s is not such a number.
func tokenize(s string, tel bool) (plus bool, digits string, why string) {
	if len(s) > maxInput {
		return false, "", "is too long for a phone number"
	}
	s = strings.TrimSpace(s)
	if tel && len(s) >= 4 && strings.EqualFold(s[:4], "tel:") {
		s = s[4:]
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '+' || r == '＋':
			if plus || b.Len() > 0 {
				return false, "", `has a "+" that is not at the start`
			}
			plus = true
		case '0' <= r && r <= '9':
			b.WriteRune(r)
		case unicode.Is(unicode.Nd, r):
			v, ok := digitValue(r)
			if !ok {
				return false, "", "has a character that is not part of a phone number"
			}
			b.WriteByte('0' + v)
		case unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) || strings.ContainsRune(".()/", r):
		case unicode.IsLetter(r):
			return false, "", "has letters"
		default:
			return false, "", "has a character that is not part of a phone number"
		}
		if b.Len() > maxDigits {
			return false, "", "is too long for a phone number"
		}
	}
	if b.Len() == 0 {
		return false, "", "has no digits"
	}
	return plus, b.String(), ""
}

// digitValue is the value of a decimal digit of any script. Unicode encodes
// every such digit in runs of ten, zero first, so the offset from the start
// of its range in unicode.Nd, modulo ten, is its value.
func digitValue(r rune) (byte, bool) {
	for _, rg := range unicode.Nd.R16 {
		if rg.Stride == 1 && rune(rg.Lo) <= r && r <= rune(rg.Hi) {
			return byte((r - rune(rg.Lo)) % 10), true
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if rg.Stride == 1 && rune(rg.Lo) <= r && r <= rune(rg.Hi) {
			return byte((r - rune(rg.Lo)) % 10), true
		}
	}
	return 0, false
}

// quote repeats the user's input in an error, shortened.
func quote(s string) string {
	if utf8.RuneCountInString(s) > quoteRunes {
		r := []rune(s)
		s = string(r[:quoteRunes]) + "…"
	}
	return strconv.Quote(s)
}

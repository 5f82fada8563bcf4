package numbers

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"mellium.im/xmpp/jid"
)

// contextSep introduces the context of a local part that is not an E.164
// number: a lower-case region for a short code, alphaContext for an
// alphanumeric sender.
const (
	contextSep   = ";phone-context="
	alphaContext = "alpha"
	alphaSuffix  = contextSep + alphaContext
)

// checkDomain is any valid domain: local parts are checked by building a JID
// with it.
const checkDomain = "sms.invalid"

// LocalPart is the JID local part of n: "+15551234567",
// "12345;phone-context=us" or "acme;phone-context=alpha". It is "" for the
// zero Number.
func (n Number) LocalPart() string {
	switch {
	case n.E164 != "":
		return n.E164
	case n.Short != "":
		return n.Short + contextSep + strings.ToLower(n.Region)
	case n.Alpha != "":
		return escape(n.Alpha) + alphaSuffix
	}
	return ""
}

// FromLocalPart is the Number whose LocalPart is lp. It refuses every lp
// that LocalPart does not write for a Number that Parse or ParseProvider can
// return. Errors are *Error.
func FromLocalPart(lp string) (Number, error) {
	n, ok := fromLocalPart(lp)
	if !ok || n.LocalPart() != lp {
		return Number{}, errorf("%s is not an SMS address: expected a phone number like +12015550123, a short code like 12345;phone-context=us or a sender like acme;phone-context=alpha", quote(lp))
	}
	return n, nil
}

func fromLocalPart(lp string) (Number, bool) {
	i := strings.LastIndex(lp, contextSep)
	if i < 0 {
		d, ok := strings.CutPrefix(lp, "+")
		if !ok || d == "" || len(d) > maxE164 || !allDigits(d) {
			return Number{}, false
		}
		pn, err := phonenumbers.Parse(lp, "ZZ")
		if err != nil || !phonenumbers.IsPossibleNumber(pn) {
			return Number{}, false
		}
		return Number{E164: format(pn)}, true
	}
	head, ctx := lp[:i], lp[i+len(contextSep):]
	if ctx == alphaContext {
		a, err := canonicalAlpha(unescape(head))
		if err != nil {
			return Number{}, false
		}
		return Number{Alpha: a}, true
	}
	reg, ok := normRegion(ctx)
	if !ok || len(head) < minShort || len(head) > maxShort || !allDigits(head) {
		return Number{}, false
	}
	return Number{Short: head, Region: reg}, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// canonicalAlpha is the canonical form of an alphanumeric sender: full-width
// ASCII narrowed, runs of white space made one space, then mapped as PRECIS
// UsernameCaseMapped maps a JID local part (lower case, narrow width, NFC).
// That mapping is left to mellium.im/xmpp/jid, so that the local part is by
// construction what a JID holds; as it could in principle make characters
// that need escaping, it is repeated until nothing changes.
func canonicalAlpha(s string) (string, error) {
	bad := func(why string) (string, error) {
		return "", errorf("sender %s %s: expected an alphanumeric sender such as ACME", quote(s), why)
	}
	if !utf8.ValidString(s) {
		return bad("is not valid UTF-8")
	}
	if len(s) > maxInput {
		return bad("is too long")
	}
	a := s
	for range 4 {
		a = strings.Join(strings.FieldsFunc(strings.Map(narrow, a), unicode.IsSpace), " ")
		if strings.ContainsFunc(a, unicode.IsControl) {
			return bad("has control characters")
		}
		if a == "" {
			return bad("is empty")
		}
		lp := escape(a) + alphaSuffix
		j, err := jid.New(lp, checkDomain, "")
		if err != nil {
			return bad("has characters an XMPP address cannot hold")
		}
		got := j.Localpart()
		if got == lp {
			if !strings.ContainsFunc(a, unicode.IsLetter) {
				return bad("has no letters")
			}
			if utf8.RuneCountInString(a) > maxAlpha {
				return bad("is too long")
			}
			return a, nil
		}
		head, ok := strings.CutSuffix(got, alphaSuffix)
		if !ok {
			return bad("has characters an XMPP address cannot hold")
		}
		a = unescape(head)
	}
	return bad("has characters an XMPP address cannot hold")
}

// narrow maps the full-width forms of ASCII to ASCII, as PRECIS width
// mapping would: done first so that the full-width forms of the characters
// that need escaping are escaped rather than refused.
func narrow(r rune) rune {
	if 0xff01 <= r && r <= 0xff5e {
		return r - 0xff01 + '!'
	}
	return r
}

// escapable are the ten characters XEP-0106 writes as a backslash and two
// hex digits. All are ASCII, so scanning bytes is safe in UTF-8.
const escapable = " \"&'/:<>@\\"

// escape writes s with XEP-0106 escapes, including every backslash (the XEP
// escapes a backslash only before something that reads as an escape; doing
// it always gives each string exactly one escaped form, which is why
// mellium.im/xmpp/jid.Escape, which follows the XEP, is not used).
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(escapable, c) >= 0 {
			b.WriteByte('\\')
			b.WriteString(hex2(c))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}

// unescape undoes escape, reading from left to right; a backslash that does
// not start one of the ten escapes is kept. FromLocalPart only accepts local
// parts that escape writes back exactly, so leniency here admits nothing.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+2 < len(s) {
			if c, ok := unhex(s[i+1 : i+3]); ok && strings.IndexByte(escapable, c) >= 0 {
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unhex(s string) (byte, bool) {
	var v byte
	for i := 0; i < 2; i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | (c - '0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}

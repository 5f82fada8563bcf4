package relay

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/ferry-xmpp/ferry/bridges/email/mailaddr"
	"golang.org/x/net/idna"
)

// maxPathAddress is the longest address in a MAIL or RCPT path: the
// RFC 5321 path limit of 256 octets minus the angle brackets.
const maxPathAddress = 254

var errBadAddress = errors.New("malformed address")

// normalizeAddress validates and normalises an address as go-smtp passes it
// to Mail and Rcpt, with mailaddr's rules.
func normalizeAddress(raw string) (string, error) {
	lp, err := mailaddr.LocalPart(requote(raw))
	if err != nil {
		return "", err
	}
	return mailaddr.Address(lp)
}

// normalizeSender normalises a non-null MAIL FROM address. Addresses that
// mailaddr accepts are normalised by it; others that are still plausible
// (local part over 64 bytes, domain literal, characters PRECIS refuses) are
// lower-cased, so that legitimate mail is not bounced for a limitation of
// the JID mapping. Control characters and invalid UTF-8 are always refused.
func normalizeSender(raw string) (string, error) {
	if a, err := normalizeAddress(raw); err == nil {
		return a, nil
	}
	addr := requote(raw)
	if len(addr) > maxPathAddress || !utf8.ValidString(addr) {
		return "", errBadAddress
	}
	for _, r := range addr {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return "", errBadAddress
		}
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", errBadAddress
	}
	local, domain := addr[:at], addr[at+1:]
	if !validLocalPart(local) {
		return "", errBadAddress
	}
	if strings.HasPrefix(domain, "[") {
		if !validDomainLiteral(domain) {
			return "", errBadAddress
		}
		return strings.ToLower(local) + "@" + strings.ToLower(domain), nil
	}
	d, err := idna.Lookup.ToASCII(domain)
	if err != nil || d == "" || strings.Contains(d, "..") || strings.HasSuffix(d, ".") {
		return "", errBadAddress
	}
	return strings.ToLower(local) + "@" + strings.ToLower(d), nil
}

// requote undoes go-smtp's decoding of a quoted local part: go-smtp passes
// <"a b"@x> as `a b@x`, which is not an addr-spec. A local part that is not
// a dot-atom is quoted again, escaping '"' and '\'.
func requote(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr
	}
	local, domain := addr[:at], addr[at+1:]
	if local == "" || mailaddr.IsDotAtom(local) {
		return addr
	}
	var b strings.Builder
	b.Grow(len(addr) + 4)
	b.WriteByte('"')
	for i := 0; i < len(local); i++ {
		if local[i] == '"' || local[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(local[i])
	}
	b.WriteString(`"@`)
	b.WriteString(domain)
	return b.String()
}

// validLocalPart reports whether s, as produced by requote, is a dot-atom
// or a single quoted string.
func validLocalPart(s string) bool {
	if mailaddr.IsDotAtom(s) {
		return true
	}
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		switch s[i] {
		case '\\':
			i++
			if i == len(s)-1 {
				return false
			}
		case '"':
			return false
		}
	}
	return true
}

// validDomainLiteral reports whether s is [dtext...], as in RFC 5321
// address literals.
func validDomainLiteral(s string) bool {
	if len(s) < 3 || s[0] != '[' || s[len(s)-1] != ']' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '[' || c == ']' || c == '\\' {
			return false
		}
	}
	return true
}

// normalizeDomain normalises a configured relay domain as mailaddr
// normalises the domain of an address, so that the two compare equal.
func normalizeDomain(d string) (string, error) {
	if d == "" || strings.ContainsAny(d, "@\"\\") {
		return "", errBadAddress
	}
	a, err := normalizeAddress("postmaster@" + d)
	if err != nil {
		return "", err
	}
	return domainOf(a), nil
}

// domainOf returns the part of a normalised address after the last '@'.
func domainOf(addr string) string {
	return addr[strings.LastIndexByte(addr, '@')+1:]
}

// senderAllowed reports whether the envelope sender from ("" for <>) may
// mail an address with the allow-list senders.
func senderAllowed(from string, senders []string) bool {
	if len(senders) == 0 {
		return true
	}
	if from == "" {
		return false
	}
	domain := domainOf(from)
	for _, s := range senders {
		if d, ok := strings.CutPrefix(s, "@"); ok {
			if d != "" && strings.EqualFold(d, domain) {
				return true
			}
			continue
		}
		if strings.EqualFold(s, from) {
			return true
		}
	}
	return false
}

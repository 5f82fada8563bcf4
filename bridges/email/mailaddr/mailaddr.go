// Package mailaddr maps email addresses to JID local parts and back.
//
// The email bridge shows each correspondent as a JID whose local part is the
// whole, normalised email address escaped with XEP-0106 (JID Escaping):
// alice@example.net becomes alice\40example.net@mail.gw.
//
// # Normalisation
//
// LocalPart accepts a bare RFC 5322 addr-spec only and normalises it before
// escaping:
//
//   - The local part is lower-cased. Email local parts are case-sensitive in
//     theory but practically never in fact, and a JID local part is case-mapped
//     by PRECIS (UsernameCaseMapped) anyway, so two addresses that differ only
//     in case could never be told apart as JIDs.
//   - A quoted local part is decoded and re-written in its shortest form:
//     unquoted when it is a valid dot-atom ("alice"@x.org → alice@x.org),
//     otherwise quoted with a backslash only before '"' and '\'.
//   - The domain is converted with IDNA 2008 / UTS #46 lookup rules to
//     lower-case A-labels (bücher.example → xn--bcher-kva.example).
//
// # Rejected input
//
//   - Anything but a bare addr-spec: display names, angle brackets,
//     comments, surrounding white space, group syntax.
//   - Control characters anywhere (CR, LF, NUL, TAB, DEL, ...), including
//     inside quoted local parts: they are a header-injection risk and PRECIS
//     forbids them in a JID local part.
//   - Invalid UTF-8.
//   - A missing or empty domain, and domain literals such as [192.0.2.1] or
//     [IPv6:...]: they expose raw IP addresses, are refused by most mail
//     servers, and cannot be IDNA-normalised. Likewise a domain whose last
//     label is all digits (a bare IPv4 address such as 192.0.2.1).
//   - Domains that are not valid host names under IDNA lookup rules
//     (STD3: letters, digits and hyphens only), have empty labels (including
//     a trailing dot), labels over 63 bytes, or exceed 253 bytes.
//   - Local parts, quoted or not, that cannot be carried in a JID: after
//     lower-casing and escaping, the result must be accepted by PRECIS
//     UsernameCaseMapped and must not be changed by it (so, for example,
//     non-NFC text, symbols such as emoji, and characters whose PRECIS case
//     mapping differs from Go's lower-casing are rejected, not altered).
//   - Normalised local parts longer than 64 bytes (RFC 5321 §4.5.3.1.1) and
//     addresses longer than 254 bytes, before or after normalisation
//     (RFC 5321 path limit minus the angle brackets).
//
// # Escaping
//
// All ten XEP-0106 characters (space " & ' / : < > @ \) are escaped as a
// backslash and two lower-case hex digits. Every backslash is escaped as \5c,
// not only those the XEP requires, so each address has exactly one local
// part. Address accepts the hex digits in either case but otherwise only
// what LocalPart produces.
//
// mellium.im/xmpp/jid.Escape and jid.Unescape are deliberately not used: in
// mellium.im/xmpp v0.22.0 they lose bytes and can panic.
package mailaddr

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"mellium.im/xmpp/jid"
)

const (
	// MaxAddressLen is the longest address, in bytes, that is accepted.
	MaxAddressLen = 254
	// MaxLocalLen is the longest normalised local part (before the @), in
	// bytes, that is accepted.
	MaxLocalLen  = 64
	maxDomainLen = 253
	maxLabelLen  = 63

	// checkDomain is only used to validate local parts with jid.New.
	checkDomain = "mail.gw"
)

var (
	// ErrInvalidAddress is wrapped by every error LocalPart returns.
	ErrInvalidAddress = errors.New("not a valid email address")
	// ErrInvalidLocalpart is wrapped by every error Address returns.
	ErrInvalidLocalpart = errors.New("not the address of an email contact on this gateway")
)

func addrErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidAddress}, args...)...)
}

// LocalPart normalises the bare addr-spec addr (see the package
// documentation) and returns it XEP-0106-escaped for use as a JID local
// part. The result is a valid JID local part that PRECIS leaves unchanged.
func LocalPart(addr string) (string, error) {
	norm, err := normalize(addr)
	if err != nil {
		return "", err
	}
	// Normalisation must be idempotent, or Address could not invert us.
	if again, err := normalize(norm); err != nil || again != norm {
		return "", addrErr("%q does not normalise stably", addr)
	}
	lp := escape(norm)
	j, err := jid.New(lp, checkDomain, "")
	if err != nil {
		return "", addrErr("%q is not a valid JID local part: %v", lp, err)
	}
	if j.Localpart() != lp {
		return "", addrErr("%q is changed by PRECIS (to %q)", lp, j.Localpart())
	}
	return lp, nil
}

// Address is the inverse of LocalPart: it unescapes localpart and returns the
// normalised email address. Escape sequences may use upper- or lower-case
// hex digits; anything else LocalPart would not have produced is an error.
func Address(localpart string) (string, error) {
	if localpart == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidLocalpart)
	}
	if len(localpart) > 3*MaxAddressLen {
		return "", fmt.Errorf("%w: too long", ErrInvalidLocalpart)
	}
	canon := lowerHexEscapes(localpart)
	addr := unescape(canon)
	lp, err := LocalPart(addr)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrInvalidLocalpart, localpart, err)
	}
	if lp != canon {
		return "", fmt.Errorf("%w: %q is not canonical (want %q)", ErrInvalidLocalpart, localpart, lp)
	}
	return addr, nil
}

// Valid reports whether LocalPart accepts addr.
func Valid(addr string) bool {
	_, err := LocalPart(addr)
	return err == nil
}

// normalize checks that addr is a bare addr-spec and returns its normalised
// form.
func normalize(addr string) (string, error) {
	switch {
	case addr == "":
		return "", addrErr("empty")
	case len(addr) > MaxAddressLen:
		return "", addrErr("longer than %d bytes", MaxAddressLen)
	case !utf8.ValidString(addr):
		return "", addrErr("invalid UTF-8")
	}
	for _, r := range addr {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return "", addrErr("control character %U", r)
		}
	}

	// The domain can contain no @ (domain literals are refused), so the last
	// @ separates the two halves.
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "", addrErr("%q has no @", addr)
	}
	rawLocal, rawDomain := addr[:at], addr[at+1:]
	if rawDomain == "" {
		return "", addrErr("%q has no domain", addr)
	}
	if rawDomain[0] == '[' {
		return "", addrErr("%q: domain literals are not supported", addr)
	}
	if err := checkLocalShape(rawLocal); err != nil {
		return "", addrErr("%q: %v", addr, err)
	}

	// The shape checks above leave net/mail nothing to skip (no display
	// name, comments, angle brackets or white space outside quotes); it does
	// the detailed addr-spec validation and decodes quoted local parts.
	parsed, err := mail.ParseAddress(addr)
	if err != nil {
		return "", addrErr("%q: %v", addr, err)
	}
	if parsed.Name != "" {
		return "", addrErr("%q: display names are not accepted", addr)
	}
	pat := strings.LastIndexByte(parsed.Address, '@')
	if pat < 0 || parsed.Address[pat+1:] != rawDomain {
		return "", addrErr("%q: not a bare addr-spec", addr)
	}

	local := quoteLocal(strings.ToLower(parsed.Address[:pat]))
	if len(local) > MaxLocalLen {
		return "", addrErr("%q: local part longer than %d bytes", addr, MaxLocalLen)
	}
	domain, err := normalizeDomain(rawDomain)
	if err != nil {
		return "", addrErr("%q: %v", addr, err)
	}
	norm := local + "@" + domain
	if len(norm) > MaxAddressLen {
		return "", addrErr("%q: normalised address longer than %d bytes", addr, MaxAddressLen)
	}
	return norm, nil
}

// checkLocalShape ensures that s, the local part as written, is a single
// quoted-string or contains only atext and dots, so that net/mail cannot
// read part of it as a display name, comment or route.
func checkLocalShape(s string) error {
	if s == "" {
		return errors.New("empty local part")
	}
	if s[0] != '"' {
		for _, r := range s {
			if r != '.' && !isAtext(r) {
				return fmt.Errorf("character %q not allowed in an unquoted local part", r)
			}
		}
		return nil
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // quoted-pair; net/mail checks what follows
		case '"':
			if i != len(s)-1 {
				return errors.New("text after the quoted local part")
			}
			return nil
		}
	}
	return errors.New("unterminated quoted local part")
}

// isAtext reports whether r is RFC 5322 atext, extended to non-ASCII
// characters by RFC 6532.
func isAtext(r rune) bool {
	if r >= utf8.RuneSelf {
		return true
	}
	if r <= ' ' || r == 0x7f {
		return false
	}
	return !strings.ContainsRune(`()<>[]:;@\,."`, r)
}

// IsDotAtom reports whether s is an RFC 5322 dot-atom (RFC 6532 allows
// non-ASCII): a local part that can be written unquoted.
func IsDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if r != '.' && !isAtext(r) {
			return false
		}
	}
	return true
}

// quoteLocal writes the decoded local part s in its shortest form.
func quoteLocal(s string) string {
	if IsDotAtom(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// normalizeDomain converts d to lower-case A-labels and checks that the
// result is a plausible host name.
func normalizeDomain(d string) (string, error) {
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("bad domain %q: %v", d, err)
	}
	if len(a) > maxDomainLen {
		return "", fmt.Errorf("domain longer than %d bytes", maxDomainLen)
	}
	labels := strings.Split(a, ".")
	for _, l := range labels {
		if l == "" {
			return "", fmt.Errorf("domain %q has an empty label", d)
		}
		if len(l) > maxLabelLen {
			return "", fmt.Errorf("domain label longer than %d bytes", maxLabelLen)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return "", fmt.Errorf("domain %q: character %q not allowed", d, c)
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", fmt.Errorf("domain %q: numeric top-level label (IP addresses are not supported)", d)
	}
	return a, nil
}

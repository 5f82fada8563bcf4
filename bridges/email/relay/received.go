package relay

import (
	"net"
	"strings"
	"time"
	"unicode/utf8"
)

// maxHeloLen bounds the client's HELO name in the Received header.
const maxHeloLen = 255

// received returns the Received header (RFC 5321 section 4.4) we prepend to
// a message, ending in CRLF:
//
//	Received: from client.example ([192.0.2.1])
//		by relay.example.org with ESMTP id 0123456789abcdef
//		for <alerts.k3x9@relay.example.org>; Mon, 2 Jan 2006 15:04:05 -0700
//
// The "for" clause is only written for a single recipient, so that
// recipients do not learn of each other. Client-supplied text (the HELO
// name) is reduced to characters that cannot break the header.
func (ss *session) received(tx *transaction, rcpts []Recipient, now time.Time) string {
	proto := "ESMTP"
	if tx.utf8 {
		proto = "UTF8SMTP" // RFC 6531 section 3.7.3
	}
	var b strings.Builder
	b.WriteString("Received: from ")
	b.WriteString(sanitizeHelo(tx.helo))
	b.WriteString(" (")
	b.WriteString(addressLiteral(ss.remote))
	b.WriteString(")\r\n\tby ")
	b.WriteString(ss.srv.cfg.Hostname)
	b.WriteString(" with ")
	b.WriteString(proto)
	b.WriteString(" id ")
	b.WriteString(tx.id)
	if len(rcpts) == 1 && (tx.utf8 || isASCII(rcpts[0].Address)) && headerSafe(rcpts[0].Address) {
		b.WriteString("\r\n\tfor <")
		b.WriteString(rcpts[0].Address)
		b.WriteString(">")
	}
	b.WriteString("; ")
	b.WriteString(now.Format(time.RFC1123Z))
	b.WriteString("\r\n")
	return b.String()
}

// sanitizeHelo keeps the characters of a host name or address literal and
// replaces any other with '_'.
func sanitizeHelo(h string) string {
	if h == "" {
		return "unknown"
	}
	if len(h) > maxHeloLen {
		h = h[:maxHeloLen]
	}
	var b strings.Builder
	b.Grow(len(h))
	for i := 0; i < len(h); i++ {
		c := h[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte(".-_:[]", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// addressLiteral writes an IP address as an RFC 5321 address literal;
// anything else (a non-IP net.Addr) is sanitised like a HELO name.
func addressLiteral(ip string) string {
	a := net.ParseIP(ip)
	switch {
	case a == nil:
		return sanitizeHelo(ip)
	case a.To4() != nil:
		return "[" + a.String() + "]"
	default:
		return "[IPv6:" + a.String() + "]"
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// headerSafe reports whether s can be written in a header as is: the
// Directory's Address is normally what mailaddr produced, but it is not
// ours to trust.
func headerSafe(s string) bool {
	if len(s) > maxPathAddress || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '<' || r == '>' {
			return false
		}
	}
	return true
}

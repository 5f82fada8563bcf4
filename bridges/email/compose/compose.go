package compose

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"mime/quotedprintable"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/ferry-xmpp/ferry/bridges/email/mailaddr"
)

const (
	// maxSubjectRunes is the longest subject, in runes, that Build writes;
	// longer ones are cut on a rune boundary.
	maxSubjectRunes = 200
	// maxNameRunes is the longest display name, in runes, that Build writes;
	// longer ones are cut on a rune boundary.
	maxNameRunes = 200
	// MaxMsgIDLen is the longest message id, in bytes, that Build accepts,
	// so that an In-Reply-To or References line always fits in 998 octets.
	MaxMsgIDLen = 900

	maxLineLen = 998 // RFC 5322 §2.1.1, without the CRLF
	foldLen    = 78  // preferred header line length, without the CRLF
	// maxPlainWord is the longest ASCII word written as is in a subject or
	// display name; longer ones are encoded (and so split) instead.
	maxPlainWord = 68
	// ewChunk is how many bytes of text one encoded-word carries:
	// "=?utf-8?b?" + 56 base64 characters + "?=" is 68 characters.
	ewChunk = 42
	// sevenBitLine is the longest body line sent without encoding.
	sevenBitLine = 76

	dateLayout = "Mon, 02 Jan 2006 15:04:05 -0700"
	// fallbackIDRight is used by NewMessageID when domain is unusable.
	fallbackIDRight = "ferry.invalid"
)

// ErrInvalid is wrapped by every error Build returns.
var ErrInvalid = errors.New("compose: invalid mail")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Address is a mailbox: an optional display name and an addr-spec.
type Address struct {
	// Name is free text; Build sanitises and, if needed, encodes it.
	Name string
	// Addr must satisfy mailaddr.Valid.
	Addr string
}

// Mail is an outgoing single-part plain-text mail.
type Mail struct {
	From    Address
	To      []Address // at least one
	Subject string
	Date    time.Time // zero means time.Now()
	// MessageID is required, without angle brackets; see NewMessageID.
	MessageID string
	// InReplyTo is optional, without angle brackets.
	InReplyTo string
	// References is optional, without angle brackets, oldest first.
	References []string
	// Body is UTF-8 text with "\n" or "\r\n" line ends.
	Body string
	// Signature is optional; it is appended after a "-- " separator line.
	Signature string
	// AutoSubmitted is the optional value of an Auto-Submitted header
	// (RFC 3834), such as "auto-replied"; "" means no header.
	AutoSubmitted string
}

// NewMessageID derives a globally unique msg-id (without angle brackets)
// from an XMPP stanza id and the sender's bare JID. The same (stanzaID, jid)
// always gives the same id, so a retried send keeps its Message-ID: the
// id-left is 32 hex digits of a SHA-256 over both, the id-right is domain
// (the sender address's domain) in IDNA A-label form. An empty stanzaID
// gives a random id-left. A domain that cannot be converted is replaced by
// "ferry.invalid".
//
// The result is only as unique as the stanza id: callers should pass an id
// that the sending client keeps unique per message (such as a XEP-0359
// origin-id).
func NewMessageID(stanzaID, jid, domain string) string {
	var left [16]byte
	if stanzaID == "" {
		// crypto/rand.Read never fails (it crashes the program instead).
		_, _ = rand.Read(left[:])
	} else {
		h := sha256.New()
		writeField(h, "ferry message-id v1")
		writeField(h, stanzaID)
		writeField(h, jid)
		copy(left[:], h.Sum(nil))
	}
	return hex.EncodeToString(left[:]) + "@" + idRight(domain)
}

// writeField writes s length-prefixed, so that the hash input is
// unambiguous.
func writeField(h hash.Hash, s string) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
	h.Write([]byte(s))
}

func idRight(domain string) string {
	d, err := idna.Lookup.ToASCII(strings.TrimSuffix(domain, "."))
	if err != nil || d == "" || !validIDPart(d) {
		return fallbackIDRight
	}
	return d
}

// ReplySubject returns "Re: " + subject unless subject already starts with
// "Re:" in any case (leading spaces and tabs are ignored).
func ReplySubject(subject string) string {
	t := strings.TrimLeft(subject, " \t")
	if len(t) >= 3 && strings.EqualFold(t[:3], "re:") {
		return subject
	}
	return "Re: " + subject
}

// Build renders m as an RFC 5322 message with CRLF line ends. See the
// package documentation for what it guarantees. Errors wrap ErrInvalid.
func Build(m Mail) ([]byte, error) {
	from, err := addressTokens(m.From)
	if err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if len(m.To) == 0 {
		return nil, invalid("no recipient")
	}
	var to []string
	for i, a := range m.To {
		t, err := addressTokens(a)
		if err != nil {
			return nil, fmt.Errorf("to[%d]: %w", i, err)
		}
		if i < len(m.To)-1 {
			t[len(t)-1] += ","
		}
		to = append(to, t...)
	}
	if !ValidMsgID(m.MessageID) {
		return nil, invalid("bad Message-ID %q", m.MessageID)
	}
	if m.InReplyTo != "" && !ValidMsgID(m.InReplyTo) {
		return nil, invalid("bad In-Reply-To %q", m.InReplyTo)
	}
	refs := make([]string, 0, len(m.References))
	for _, id := range m.References {
		if !ValidMsgID(id) {
			return nil, invalid("bad References id %q", id)
		}
		refs = append(refs, "<"+id+">")
	}
	if m.AutoSubmitted != "" && !validToken(m.AutoSubmitted) {
		return nil, invalid("bad Auto-Submitted value %q", m.AutoSubmitted)
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	if y := date.Year(); y < 1900 || y > 9999 {
		return nil, invalid("date %v out of range", date)
	}

	cte, body := encodeBody(bodyText(m.Body, m.Signature))

	var b bytes.Buffer
	b.Grow(1024 + len(body))
	field(&b, "Date", strings.Fields(date.Format(dateLayout)))
	field(&b, "From", from)
	field(&b, "To", to)
	field(&b, "Subject", textTokens(sanitizeSubject(m.Subject)))
	field(&b, "Message-ID", []string{"<" + m.MessageID + ">"})
	if m.InReplyTo != "" {
		field(&b, "In-Reply-To", []string{"<" + m.InReplyTo + ">"})
	}
	if len(refs) > 0 {
		field(&b, "References", refs)
	}
	field(&b, "MIME-Version", []string{"1.0"})
	field(&b, "Content-Type", []string{"text/plain;", "charset=utf-8"})
	field(&b, "Content-Transfer-Encoding", []string{cte})
	if m.AutoSubmitted != "" {
		field(&b, "Auto-Submitted", []string{m.AutoSubmitted})
	}
	// Every token is short by construction; this is a last line of defence.
	for line := range bytes.SplitSeq(b.Bytes(), []byte("\r\n")) {
		if len(line) > maxLineLen {
			return nil, invalid("header line longer than %d octets", maxLineLen)
		}
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes(), nil
}

// field writes a header field whose value is tokens joined by single
// spaces, folding before a token when the line would grow past foldLen.
// The first token always stays on the field name's line.
func field(b *bytes.Buffer, name string, tokens []string) {
	b.WriteString(name)
	b.WriteByte(':')
	n := len(name) + 1
	for i, t := range tokens {
		if i > 0 && n+1+len(t) > foldLen {
			b.WriteString("\r\n")
			n = 0
		}
		b.WriteByte(' ')
		b.WriteString(t)
		n += 1 + len(t)
	}
	b.WriteString("\r\n")
}

// sanitizeSubject returns the subject text that Build writes: see
// sanitize, cut to maxSubjectRunes.
func sanitizeSubject(s string) string { return sanitize(s, maxSubjectRunes) }

// sanitizeName returns the display name text that Build writes: see
// sanitize, cut to maxNameRunes.
func sanitizeName(s string) string { return sanitize(s, maxNameRunes) }

// sanitize makes s safe for a header: invalid UTF-8 becomes U+FFFD; control
// characters, spaces and the Unicode line and paragraph separators become a
// single space per run; the ends are trimmed; the result is cut to at most
// maxRunes runes.
func sanitize(s string, maxRunes int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	space := false
	n := 0
	for _, r := range s {
		if isBlank(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			if n+1 >= maxRunes {
				break
			}
			b.WriteByte(' ')
			n++
		}
		space = false
		if n >= maxRunes {
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func isBlank(r rune) bool {
	return r == ' ' || unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}

// textTokens returns the words of the sanitised text s for an
// unstructured header field.
func textTokens(s string) []string {
	if words, ok := plainWords(s); ok {
		return words
	}
	return encodeWords(s)
}

// plainWords splits s into space-separated words if it can be written as
// is: printable ASCII only, nothing that looks like an encoded-word, no
// word longer than maxPlainWord.
func plainWords(s string) ([]string, bool) {
	if strings.Contains(s, "=?") {
		return nil, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return nil, false
		}
	}
	words := strings.Fields(s)
	for _, w := range words {
		if len(w) > maxPlainWord {
			return nil, false
		}
	}
	return words, true
}

// encodeWords encodes s as RFC 2047 B encoded-words of at most ewChunk
// bytes of text each, split on rune boundaries. Decoders join adjacent
// encoded-words without the white space between them.
func encodeWords(s string) []string {
	var words []string
	for len(s) > 0 {
		n := len(s)
		if n > ewChunk {
			n = ewChunk
			for n > 0 && !utf8.RuneStart(s[n]) {
				n--
			}
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return words
}

// phraseTokens returns the display name tokens for the sanitised name.
func phraseTokens(name string) []string {
	words, ok := plainWords(name)
	if !ok {
		return encodeWords(name)
	}
	atoms := true
	for _, w := range words {
		for i := 0; i < len(w); i++ {
			if !isAtext(w[i]) {
				atoms = false
			}
		}
	}
	if atoms {
		return words
	}
	q := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
	if len(q) <= maxPlainWord {
		return []string{q}
	}
	return encodeWords(name)
}

// isAtext reports whether the printable ASCII c is RFC 5322 atext.
func isAtext(c byte) bool {
	return c > ' ' && c < 0x7f && !strings.ContainsRune(`()<>[]:;@\,."`, rune(c))
}

// addressTokens validates a and returns its tokens: the display name, if
// any, and the address, in angle brackets if there is a name.
func addressTokens(a Address) ([]string, error) {
	if !mailaddr.Valid(a.Addr) {
		return nil, invalid("bad address %q", a.Addr)
	}
	at := strings.LastIndexByte(a.Addr, '@')
	domain, err := idna.Lookup.ToASCII(a.Addr[at+1:])
	if err != nil {
		return nil, invalid("bad address %q: %v", a.Addr, err)
	}
	spec := a.Addr[:at] + "@" + domain
	name := sanitizeName(a.Name)
	if name == "" {
		return []string{spec}, nil
	}
	return append(phraseTokens(name), "<"+spec+">"), nil
}

// ValidMsgID reports whether id (without angle brackets) is a msg-id that
// Build accepts: id-left "@" id-right, each non-empty printable ASCII
// without white space and without any of <>()[]\,;:"@, at most MaxMsgIDLen
// bytes in all.
func ValidMsgID(id string) bool {
	if len(id) > MaxMsgIDLen {
		return false
	}
	left, right, ok := strings.Cut(id, "@")
	return ok && left != "" && right != "" && validIDPart(left) && validIDPart(right)
}

func validIDPart(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`<>()[]\,;:"@`, c) >= 0 {
			return false
		}
	}
	return true
}

// validToken reports whether s is a plausible Auto-Submitted value: a
// keyword of ASCII letters, digits and hyphens (RFC 3834 §5), at most 64
// bytes. Parameters are not supported.
func validToken(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return s != ""
}

// bodyText returns the text that Build sends for body and signature, before
// transfer encoding: both normalised by normalizeText, the signature (if
// not empty) after a "-- " line. A signature that already starts with that
// line does not get a second one.
func bodyText(body, signature string) string {
	t := normalizeText(body)
	s := normalizeText(signature)
	if s == "" {
		return t
	}
	if !strings.HasPrefix(s, "-- \r\n") {
		s = "-- \r\n" + s
	}
	return t + s
}

// normalizeText replaces invalid UTF-8 by U+FFFD, drops NUL, turns every
// line end ("\r\n", "\n" or a lone "\r") into CRLF and ends non-empty text
// with a line end.
func normalizeText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	if s == "" {
		return ""
	}
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// encodeBody returns the Content-Transfer-Encoding and the encoded text.
func encodeBody(text string) (string, []byte) {
	if sevenBit(text) {
		return "7bit", []byte(text)
	}
	var b bytes.Buffer
	b.Grow(len(text) + len(text)/8)
	w := quotedprintable.NewWriter(&b)
	// Writes to a bytes.Buffer cannot fail.
	_, _ = w.Write([]byte(text))
	_ = w.Close()
	return "quoted-printable", b.Bytes()
}

// sevenBit reports whether the normalised text can be sent unencoded:
// printable ASCII and tabs only, lines of at most sevenBitLine octets, no
// trailing white space (which transports may strip) except in the
// signature separator "-- ".
func sevenBit(text string) bool {
	for line := range strings.SplitSeq(text, "\r\n") {
		if len(line) > sevenBitLine {
			return false
		}
		for i := 0; i < len(line); i++ {
			if c := line[i]; (c < ' ' || c > '~') && c != '\t' {
				return false
			}
		}
		if line != "-- " && (strings.HasSuffix(line, " ") || strings.HasSuffix(line, "\t")) {
			return false
		}
	}
	return true
}

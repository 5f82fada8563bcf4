package mailparse

import (
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	message "github.com/emersion/go-message"

	"github.com/ferry-xmpp/ferry/bridges/email/mailaddr"
)

// maxIDLen bounds a message id (RFC 5322 lines are at most 998 bytes).
const maxIDLen = 998

// wordDecoder decodes RFC 2047 encoded words in any charset go-message
// knows. A word in an unknown charset keeps its bytes (invalid UTF-8 is
// replaced later) instead of failing the whole field.
var wordDecoder = &mime.WordDecoder{CharsetReader: func(cs string, r io.Reader) (io.Reader, error) {
	cs = strings.ToLower(cs)
	if latin1Aliases[cs] {
		cs = "windows-1252"
	}
	if message.CharsetReader != nil {
		if d, err := message.CharsetReader(cs, r); err == nil && d != nil {
			return d, nil
		}
	}
	return r, nil
}}

// decodeWords decodes RFC 2047 encoded words; malformed words are kept as
// written.
func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// normAddr normalises an address as the bridge's JIDs do (see mailaddr). An
// address mailaddr refuses (a domain literal, say) is returned lower-cased
// with white space and control characters removed, for the caller to judge.
func normAddr(a string) string {
	if lp, err := mailaddr.LocalPart(addrSpec(a)); err == nil {
		if n, err := mailaddr.Address(lp); err == nil {
			return n
		}
	}
	return strings.Join(strings.Fields(cleanLine(strings.ToLower(a))), "")
}

// addrSpec writes an address as net/mail returns it (local part decoded)
// back as an addr-spec, quoting the local part when it needs it.
func addrSpec(a string) string {
	s := (&mail.Address{Address: a}).String()
	return strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
}

// parseMailbox returns the first mailbox of a From-like field: its address
// (not yet normalised) and decoded display name.
func parseMailbox(v string) (addr, name string) {
	list := parseAddrList(v)
	if len(list) == 0 {
		return "", ""
	}
	return list[0].Address, list[0].Name
}

var addrParser = mail.AddressParser{WordDecoder: wordDecoder}

// parseAddrList parses an address list, falling back to a loose reading of
// each comma-separated item when net/mail refuses the list, since one
// malformed entry (a missing quote, an unclosed bracket) is common and must
// not lose the others.
func parseAddrList(v string) []*mail.Address {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	if list, err := addrParser.ParseList(v); err == nil {
		return list
	}
	var list []*mail.Address
	for _, item := range splitAddrList(v) {
		if a, err := addrParser.Parse(item); err == nil {
			list = append(list, a)
		} else if a := looseMailbox(item); a != nil {
			list = append(list, a)
		}
	}
	return list
}

// splitAddrList splits at commas outside quotes, angle brackets and
// comments.
func splitAddrList(v string) []string {
	var items []string
	depth, inQuote, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '<' || c == '(':
			depth++
		case c == '>' || c == ')':
			depth = max(depth-1, 0)
		case c == ',' && depth == 0:
			items = append(items, v[start:i])
			start = i + 1
		}
	}
	return append(items, v[start:])
}

// looseMailbox reads "Name <addr" or a bare word with an @ in it.
func looseMailbox(s string) *mail.Address {
	if lt := strings.LastIndexByte(s, '<'); lt >= 0 {
		addr, _, _ := strings.Cut(s[lt+1:], ">")
		// An unclosed bracket runs on: the address ends at a space or comma.
		if f := strings.FieldsFunc(addr, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }); len(f) > 0 {
			addr = f[0]
		}
		if !strings.Contains(addr, "@") {
			return nil
		}
		name := strings.Trim(strings.TrimSpace(s[:lt]), `"' `)
		return &mail.Address{Name: decodeWords(name), Address: addr}
	}
	for f := range strings.FieldsSeq(s) {
		if strings.Contains(f, "@") {
			return &mail.Address{Address: strings.Trim(f, `"'()<>,;:`)}
		}
	}
	return nil
}

// maxAddrs bounds the addresses kept per field: normalising costs, and a
// chat has no use for thousands.
const maxAddrs = 1000

// addrList returns the normalised addresses of all fields called name.
func addrList(h header, name string) []string {
	var out []string
	for _, v := range h.values(name) {
		for _, a := range parseAddrList(v) {
			if len(out) >= maxAddrs {
				return out
			}
			if n := normAddr(a.Address); n != "" {
				out = append(out, n)
			}
		}
	}
	return out
}

// msgIDs extracts message ids from In-Reply-To, References or Message-ID,
// without their angle brackets. Text outside brackets is a comment or an old
// "message of ..." phrase and is ignored, unless there are no brackets at
// all, when words containing an @ are taken as ids.
func msgIDs(v string) []string {
	var ids []string
	if !strings.Contains(v, "<") {
		for f := range strings.FieldsSeq(v) {
			if strings.Contains(f, "@") {
				ids = appendID(ids, strings.Trim(f, `,;"'()`))
			}
		}
		return ids
	}
	for {
		_, rest, ok := strings.Cut(v, "<")
		if !ok {
			return ids
		}
		id, after, ok := strings.Cut(rest, ">")
		if !ok {
			return ids
		}
		ids = appendID(ids, id)
		v = after
	}
}

// appendID keeps id if it can be shown and used as an XMPP thread id.
func appendID(ids []string, id string) []string {
	id = strings.Join(strings.Fields(id), "") // folding inside an id
	if id == "" || len(id) > maxIDLen || !utf8.ValidString(id) || strings.ContainsAny(id, "<>") {
		return ids
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f || r == 0xFFFE || r == 0xFFFF {
			return ids
		}
	}
	return append(ids, id)
}

func firstID(v string) string {
	if ids := msgIDs(v); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// parseDate returns the zero time when the Date field is absent or
// unreadable.
func parseDate(v string) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	t, err := mail.ParseDate(v)
	if err != nil {
		return time.Time{}
	}
	return t
}

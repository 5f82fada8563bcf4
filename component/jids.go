package component

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"mellium.im/xmpp/jid"
)

// JIDs of puppets, rooms and occupants are built on the message path, so
// parts that are already in their canonical form (plain ASCII, as nearly
// every IRC nick and channel is) skip PRECIS, which would return them
// unchanged at a hundred times the cost. Everything else goes through
// mellium's jid package.

// canonicalLocal reports whether s is a localpart that PRECIS
// (UsernameCaseMapped) and RFC 7622 leave unchanged: printable ASCII,
// no upper case, none of the characters a localpart may not hold.
func canonicalLocal(s string) bool {
	if len(s) == 0 || len(s) > 1023 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || c >= 'A' && c <= 'Z' || strings.IndexByte(`"&'/:<>@`, c) >= 0 {
			return false
		}
	}
	return true
}

// canonicalResource reports whether s is a resourcepart that PRECIS
// (OpaqueString) leaves unchanged: printable ASCII and spaces.
func canonicalResource(s string) bool {
	if len(s) == 0 || len(s) > 1023 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// puppet returns the JID of a legacy peer given its local part, or ""
// when the local part cannot be one.
func (t *Transport) puppet(local string) string {
	if canonicalLocal(local) {
		return local + "@" + t.domain
	}
	j, err := jid.New(local, t.domain, "")
	if err != nil {
		return ""
	}
	return j.String()
}

// roomJID returns room@domain/nick; a nick that cannot be a resourcepart
// is escaped (occupantResource), so an occupant never speaks as the bare
// room.
func (u *user) roomJID(local, nick string) string { return u.t.occupantJID(local, nick) }

// occupantJID is roomJID for callers outside the actor.
func (t *Transport) occupantJID(local, nick string) string {
	room := t.puppet(local)
	if nick == "" || room == "" {
		return room
	}
	return room + "/" + occupantResource(nick)
}

// occupantResource maps a legacy nick to a valid resourcepart: the nick
// itself (in PRECIS's canonical form) when it is one, else the nick with
// every byte that stands in the way written as \xx (hex), which is
// stable and tells nicks apart.
func occupantResource(nick string) string {
	if canonicalResource(nick) {
		return nick
	}
	if r, err := jid.New("x", "x", nick); err == nil {
		return r.Resourcepart() // its canonical form (NFC, widths mapped)
	}
	var b strings.Builder
	for i := 0; i < len(nick); {
		r, size := utf8.DecodeRuneInString(nick[i:])
		switch {
		case r == '\\':
			b.WriteString(`\5c`)
		case r == utf8.RuneError && size == 1, r < 0x20, r == 0x7f, !resourceRuneOK(r):
			for _, c := range []byte(nick[i : i+size]) {
				fmt.Fprintf(&b, `\%02x`, c)
			}
		default:
			b.WriteString(nick[i : i+size])
		}
		i += size
	}
	if r, err := jid.New("x", "x", b.String()); err == nil {
		return r.Resourcepart()
	}
	// Whatever PRECIS still refuses (an odd combination of marks): hex of
	// the whole nick, stable all the same.
	return fmt.Sprintf(`\%x`, nick)
}

// resourceRuneOK is whether PRECIS accepts r on its own in a resourcepart.
func resourceRuneOK(r rune) bool {
	j, err := jid.New("x", "x", string(r))
	return err == nil && j.Resourcepart() == string(r)
}

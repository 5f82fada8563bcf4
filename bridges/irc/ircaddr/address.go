// Package ircaddr maps IRC names to XMPP addresses and back, using the same
// JID shapes as biboumi so rosters and bookmarks carry over between the two
// gateways.
//
// With the gateway served at irc.gw:
//
//	irc.gw                       the gateway itself
//	irc.example.org@irc.gw       an IRC server
//	#chan%irc.example.org@irc.gw a channel (a MUC room)
//	nick%irc.example.org@irc.gw  a user
//	#chan%irc.example.org@irc.gw/Nick  a channel occupant
//
// An operator who serves a single network sets Mapper.FixedServer; the
// server half then disappears (#chan@irc.gw, nick@irc.gw) and there is no
// server JID.
//
// Local parts are lower-cased: JID local parts compare case-insensitively
// (PRECIS UsernameCaseMapped) and so must the addresses built from them. IRC's
// own CASEMAPPING is the IRC session's business, not this package's. Occupant
// resources keep the nick's case, as MUC clients display them.
//
// Characters a JID local part cannot hold are written with the ten XEP-0106
// escapes. LocalPart writes every backslash as \5c (XEP-0106 would leave one
// alone unless an escape-like sequence follows), so each IRC name has exactly
// one local part; Parse also reads the XEP's shorter form, taking a backslash
// that starts none of the ten sequences literally.
package ircaddr

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"mellium.im/xmpp/jid"
)

// Kind says which IRC entity an Address names.
type Kind int

// Address kinds. The zero Kind is Gateway so that the zero Address is the
// gateway's own JID, the one with an empty local part.
const (
	Gateway Kind = iota
	Server
	Channel
	User
)

func (k Kind) String() string {
	switch k {
	case Gateway:
		return "gateway"
	case Server:
		return "server"
	case Channel:
		return "channel"
	case User:
		return "user"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// DefaultChanTypes is the CHANTYPES value assumed when a server does not
// advertise one (RFC 1459 channels start with '#' or '&').
const DefaultChanTypes = "#&"

// Address is an IRC entity as the gateway addresses it. Server and Target are
// plain IRC text, never escaped; Parse returns them lower-cased.
type Address struct {
	Kind   Kind
	Server string // IRC server host name or IP; empty for Gateway
	Target string // channel or nick as on IRC; empty for Gateway and Server
}

// Mapper turns Addresses into JIDs at Domain and back.
type Mapper struct {
	Domain string // the gateway's domain, e.g. irc.gw
	// FixedServer, when set, is the only IRC server the gateway serves: local
	// parts are then a bare channel or nick, '%' has no special meaning, and
	// no JID names the server itself.
	FixedServer string
}

// Errors returned (wrapped, with the offending text) by this package. A
// component typically answers all of them with jid-malformed or
// item-not-found.
var (
	ErrEmptyTarget     = errors.New("the address names no channel or nick")
	ErrEmptyServer     = errors.New("the address names no IRC server (write #channel%irc.example.net or nick%irc.example.net)")
	ErrInvalidServer   = errors.New("the IRC server is not a host name or IP address")
	ErrInvalidTarget   = errors.New("the channel or nick has a character IRC does not allow")
	ErrInvalidAddress  = errors.New("the address is not a channel, a nick or an IRC server")
	ErrUnrepresentable = errors.New("this IRC name cannot be written as an XMPP address")
)

// IsChannel reports whether target is a channel name on a server whose
// ISUPPORT CHANTYPES is chantypes; "" means DefaultChanTypes. A server that
// has no channels at all can be described with "\x00", which no valid target
// starts with.
func IsChannel(target, chantypes string) bool {
	if chantypes == "" {
		chantypes = DefaultChanTypes
	}
	r, n := utf8.DecodeRuneInString(target)
	return n > 0 && strings.ContainsRune(chantypes, r)
}

// Parse reads the local part of a JID at the gateway's domain, as it appears
// in the JID (escaped), and says which IRC entity it names. chantypes is the
// server's ISUPPORT CHANTYPES ("" for DefaultChanTypes) and decides between
// Channel and User.
//
// In normal mode the local part splits at its first '%' into target and
// server; without a '%' it is a server name. Every Address Parse returns is
// accepted by LocalPart, and LocalPart's result parses back to it.
func (m Mapper) Parse(localpart, chantypes string) (Address, error) {
	if localpart == "" {
		return Address{Kind: Gateway}, nil
	}
	if !utf8.ValidString(localpart) {
		return Address{}, fmt.Errorf("%w: %q is not valid UTF-8", ErrInvalidTarget, localpart)
	}
	lp := strings.ToLower(localpart)

	if m.FixedServer != "" {
		server := strings.ToLower(m.FixedServer)
		if err := checkServer(server); err != nil {
			return Address{}, err
		}
		return target(server, unescape(lp), chantypes, true)
	}

	rawTarget, rawServer, found := strings.Cut(lp, "%")
	if !found {
		server := unescape(lp)
		if err := checkServer(server); err != nil {
			return Address{}, err
		}
		return Address{Kind: Server, Server: server}, nil
	}
	if rawTarget == "" {
		return Address{}, fmt.Errorf("%w in %q", ErrEmptyTarget, localpart)
	}
	server := unescape(rawServer)
	if err := checkServer(server); err != nil {
		return Address{}, err
	}
	return target(server, unescape(rawTarget), chantypes, false)
}

// target classifies and checks an unescaped, lower-cased target.
func target(server, name, chantypes string, fixed bool) (Address, error) {
	a := Address{Kind: User, Server: server, Target: name}
	if IsChannel(name, chantypes) {
		a.Kind = Channel
	}
	if err := checkTarget(a.Kind, name, fixed); err != nil {
		return Address{}, err
	}
	return a, nil
}

// LocalPart is the inverse of Parse: the escaped local part naming a, with
// Server and Target lower-cased. It cannot see the server's CHANTYPES, so a
// hand-built Address must use the Kind that IsChannel gives for its Target,
// or Parse will classify it differently; Addresses from Parse and FromPrompt
// always do.
func (m Mapper) LocalPart(a Address) (string, error) {
	switch a.Kind {
	case Gateway:
		if a.Server != "" || a.Target != "" {
			return "", fmt.Errorf("%w: gateway address with server %q, target %q", ErrInvalidAddress, a.Server, a.Target)
		}
		return "", nil
	case Server:
		if m.FixedServer != "" {
			return "", fmt.Errorf("%w: no server JID in fixed-server mode", ErrInvalidAddress)
		}
		if a.Target != "" {
			return "", fmt.Errorf("%w: server address with target %q", ErrInvalidAddress, a.Target)
		}
		server := strings.ToLower(a.Server)
		if err := checkServer(server); err != nil {
			return "", err
		}
		return escape(server), nil
	case Channel, User:
	default:
		return "", fmt.Errorf("%w: unknown kind %v", ErrInvalidAddress, a.Kind)
	}

	if !utf8.ValidString(a.Server) || !utf8.ValidString(a.Target) {
		return "", fmt.Errorf("%w: invalid UTF-8", ErrInvalidTarget)
	}
	server, name := strings.ToLower(a.Server), strings.ToLower(a.Target)
	if err := checkServer(server); err != nil {
		return "", err
	}
	fixed := m.FixedServer != ""
	if fixed && server != strings.ToLower(m.FixedServer) {
		return "", fmt.Errorf("%w: server %q is not the fixed server %q", ErrInvalidAddress, a.Server, m.FixedServer)
	}
	if err := checkTarget(a.Kind, name, fixed); err != nil {
		return "", err
	}
	if fixed {
		return escape(name), nil
	}
	return escape(name) + "%" + escape(server), nil
}

// JID is the bare JID naming a at m.Domain.
//
// The server applies PRECIS to every local part it routes (width mapping,
// NFC, Unicode lower-casing that differs from strings.ToLower in corners such
// as final sigma). If that changes our local part, stanzas to the JID would
// come back as a different name, so JID refuses with ErrUnrepresentable
// instead of handing out an alias.
func (m Mapper) JID(a Address) (jid.JID, error) {
	lp, err := m.LocalPart(a)
	if err != nil {
		return jid.JID{}, err
	}
	domain, err := jid.New("", m.Domain, "")
	if err != nil {
		return jid.JID{}, fmt.Errorf("the gateway domain %q is not a valid XMPP domain: %w", m.Domain, err)
	}
	j, err := domain.WithLocal(lp)
	if err != nil {
		return jid.JID{}, fmt.Errorf("%w: %q: %v", ErrUnrepresentable, lp, err)
	}
	if j.Localpart() != lp {
		return jid.JID{}, fmt.Errorf("%w: %q would become %q", ErrUnrepresentable, lp, j.Localpart())
	}
	return j, nil
}

// Occupant is the MUC occupant JID of nick in channel: the room's bare JID
// with the nick, unescaped and in its IRC case, as resource. A nick that
// PRECIS OpaqueString would alter is refused, since a private message to the
// altered resource could not be mapped back to the IRC nick.
func (m Mapper) Occupant(channel Address, nick string) (jid.JID, error) {
	if channel.Kind != Channel {
		return jid.JID{}, fmt.Errorf("%w: occupant of a %v", ErrInvalidAddress, channel.Kind)
	}
	if !utf8.ValidString(nick) {
		return jid.JID{}, fmt.Errorf("%w: invalid UTF-8 in nick", ErrInvalidTarget)
	}
	// The resource is not split at '%', so it may hold one even in normal mode.
	if err := checkTarget(User, nick, true); err != nil {
		return jid.JID{}, err
	}
	room, err := m.JID(channel)
	if err != nil {
		return jid.JID{}, err
	}
	occ, err := room.WithResource(nick)
	if err != nil {
		return jid.JID{}, fmt.Errorf("%w: nick %q: %v", ErrUnrepresentable, nick, err)
	}
	if occ.Resourcepart() != nick {
		return jid.JID{}, fmt.Errorf("%w: the nick %q would become %q", ErrUnrepresentable, nick, occ.Resourcepart())
	}
	return occ, nil
}

// FromPrompt turns what a user typed in a XEP-0100 gateway prompt into an
// Address; LocalPart of the result is the prompt's answer.
//
// The prompt is a raw IRC name, not an escaped local part (typing `foo\5c`
// means a nick with a backslash, '5' and 'c'), with surrounding spaces
// ignored. Accepted forms:
//
//	#chan or nick         on defaultServer (on FixedServer in fixed mode)
//	#chan%irc.example.org on the named server (normal mode only: in fixed
//	                      mode '%' is part of the name, as in Parse)
//
// "nick@server" is deliberately not a form: '@' is allowed in nicks here, and
// a pasted JID would otherwise be mistaken for one. Whether the name is a
// channel is decided by chantypes, as in Parse.
func (m Mapper) FromPrompt(prompt, defaultServer, chantypes string) (Address, error) {
	p := strings.TrimSpace(prompt)
	if p == "" {
		return Address{}, ErrEmptyTarget
	}
	name, server := p, defaultServer
	if m.FixedServer != "" {
		server = m.FixedServer
	} else if t, s, found := strings.Cut(p, "%"); found {
		name, server = t, s
	}
	if name == "" {
		return Address{}, fmt.Errorf("%w in %q", ErrEmptyTarget, prompt)
	}
	if server == "" {
		return Address{}, fmt.Errorf("%w for %q", ErrEmptyServer, prompt)
	}
	if !utf8.ValidString(name) || !utf8.ValidString(server) {
		return Address{}, fmt.Errorf("%w: invalid UTF-8", ErrInvalidTarget)
	}
	name, server = strings.ToLower(name), strings.ToLower(server)
	a := Address{Kind: User, Server: server, Target: name}
	if IsChannel(name, chantypes) {
		a.Kind = Channel
	}
	if _, err := m.LocalPart(a); err != nil {
		return Address{}, err
	}
	return a, nil
}

// checkTarget rejects names that would break an IRC command line or that
// this mapping cannot carry. It is deliberately looser than RFC 2812's nick
// grammar: servers differ, and they reject bad nicks themselves.
func checkTarget(k Kind, name string, fixed bool) error {
	if name == "" {
		return ErrEmptyTarget
	}
	// A leading ':' would start the trailing parameter of an IRC message.
	if name[0] == ':' {
		return fmt.Errorf("%w: %q starts with ':'", ErrInvalidTarget, name)
	}
	// Space and comma separate parameters and list items; NUL, CR and LF end
	// the line. RFC 2812 §1.3 also forbids BEL (^G) in channel names.
	bad := " ,\x00\r\n"
	if k == Channel {
		bad += "\a"
	}
	if i := strings.IndexAny(name, bad); i >= 0 {
		return fmt.Errorf("%w: %q in %q", ErrInvalidTarget, name[i], name)
	}
	// In normal mode Parse splits at the first '%', so a name holding one
	// would come back as a different target and server.
	if !fixed && strings.IndexByte(name, '%') >= 0 {
		return fmt.Errorf("%w: %q holds '%%'", ErrUnrepresentable, name)
	}
	return nil
}

// checkServer accepts an IP address without zone, or an ASCII host name of
// letters, digits and inner hyphens (RFC 1123) without a trailing dot, so
// that each server has one spelling and thus one JID. Internationalised names
// must be given as A-labels (xn--…).
func checkServer(s string) error {
	if s == "" {
		return ErrEmptyServer
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		if ip.Zone() != "" {
			return fmt.Errorf("%w: %q has a zone", ErrInvalidServer, s)
		}
		return nil
	}
	if len(s) > 253 {
		return fmt.Errorf("%w: %q is too long", ErrInvalidServer, s)
	}
	for label := range strings.SplitSeq(s, ".") {
		if !validLabel(label) {
			return fmt.Errorf("%w: %q", ErrInvalidServer, s)
		}
	}
	return nil
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

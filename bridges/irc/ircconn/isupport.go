package ircconn

import (
	"maps"
	"strconv"
	"strings"
)

// ISupport is the parsed RPL_ISUPPORT (005) state. Fields hold the defaults
// below until the server says otherwise; raw has every token as sent
// (unescaped, "" for tokens without value). A value is never changed once
// made (apply works on a clone), so copies share raw safely: a connection
// and its user's network state hold one map between them.
type ISupport struct {
	raw map[string]string

	ChanTypes   string // CHANTYPES, default "#&"
	PrefixModes string // PREFIX modes, default "ov"
	Prefixes    string // PREFIX symbols in the same order, default "@+"
	CaseMapping string // CASEMAPPING, default "rfc1459"
	Network     string // NETWORK, "" when not advertised
	NickLen     int    // NICKLEN, 0 when not advertised
	ChannelLen  int    // CHANNELLEN, 0 when not advertised
	TopicLen    int    // TOPICLEN, 0 when not advertised
}

// DefaultISupport is what a server that sends no 005 is assumed to support.
func DefaultISupport() ISupport {
	return ISupport{
		raw:         map[string]string{},
		ChanTypes:   "#&",
		PrefixModes: "ov",
		Prefixes:    "@+",
		CaseMapping: "rfc1459",
	}
}

// Tokens returns a copy of every advertised token and its value.
func (is ISupport) Tokens() map[string]string { return maps.Clone(is.raw) }

// Get returns a raw token's value and whether the server advertised it.
func (is ISupport) Get(token string) (string, bool) {
	v, ok := is.raw[strings.ToUpper(token)]
	return v, ok
}

// IsChannel reports whether name is a channel name under CHANTYPES.
func (is ISupport) IsChannel(name string) bool {
	return name != "" && strings.IndexByte(is.ChanTypes, name[0]) >= 0
}

// ModeForPrefix maps a membership prefix symbol ('@') to its mode ('o').
func (is ISupport) ModeForPrefix(prefix byte) (byte, bool) {
	if i := strings.IndexByte(is.Prefixes, prefix); i >= 0 && i < len(is.PrefixModes) {
		return is.PrefixModes[i], true
	}
	return 0, false
}

// PrefixForMode maps a membership mode ('o') to its prefix symbol ('@').
func (is ISupport) PrefixForMode(mode byte) (byte, bool) {
	if i := strings.IndexByte(is.PrefixModes, mode); i >= 0 && i < len(is.Prefixes) {
		return is.Prefixes[i], true
	}
	return 0, false
}

// Casefold folds a nick or channel name under CASEMAPPING, for comparing
// names. Unknown mappings (and rfc7613/precis, approximated) fold ASCII and
// Unicode letters to lower case.
func (is ISupport) Casefold(name string) string {
	switch strings.ToLower(is.CaseMapping) {
	case "ascii":
		return asciiLower(name, false, false)
	case "strict-rfc1459":
		return asciiLower(name, true, false)
	case "", "rfc1459":
		return asciiLower(name, true, true)
	default:
		return strings.ToLower(name)
	}
}

func asciiLower(s string, brackets, tilde bool) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case brackets && c >= '[' && c <= ']':
			b[i] = c + '{' - '['
		case tilde && c == '^':
			b[i] = '~'
		}
	}
	return string(b)
}

func (is ISupport) clone() ISupport {
	is.raw = maps.Clone(is.raw)
	return is
}

// apply folds the tokens of one 005 line (its parameters between the nick
// and the trailing text) into is, which must be a private copy.
func (is *ISupport) apply(tokens []string) {
	for _, tok := range tokens {
		if tok == "" {
			continue
		}
		if tok[0] == '-' {
			key := strings.ToUpper(tok[1:])
			delete(is.raw, key)
			is.set(key, "", false)
			continue
		}
		key, value, _ := strings.Cut(tok, "=")
		key = strings.ToUpper(key)
		value = unescapeISupport(value)
		is.raw[key] = value
		is.set(key, value, true)
	}
}

func (is *ISupport) set(key, value string, present bool) {
	def := DefaultISupport()
	switch key {
	case "CHANTYPES":
		// "CHANTYPES=" (no value) means the server has no channels.
		is.ChanTypes = value
		if !present {
			is.ChanTypes = def.ChanTypes
		}
	case "PREFIX":
		is.PrefixModes, is.Prefixes = def.PrefixModes, def.Prefixes
		if present {
			is.PrefixModes, is.Prefixes = "", ""
			if modes, prefixes, ok := strings.Cut(strings.TrimPrefix(value, "("), ")"); ok && len(modes) == len(prefixes) {
				is.PrefixModes, is.Prefixes = modes, prefixes
			}
		}
	case "CASEMAPPING":
		is.CaseMapping = strings.ToLower(value)
		if !present || value == "" {
			is.CaseMapping = def.CaseMapping
		}
	case "NETWORK":
		is.Network = value
	case "NICKLEN":
		is.NickLen = atoi(value)
	case "MAXNICKLEN": // some servers (bahamut) advertise only this
		if _, ok := is.raw["NICKLEN"]; !ok {
			is.NickLen = atoi(value)
		}
	case "CHANNELLEN":
		is.ChannelLen = atoi(value)
	case "TOPICLEN":
		is.TopicLen = atoi(value)
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// unescapeISupport decodes the \xHH escapes of ISUPPORT values.
func unescapeISupport(v string) string {
	if !strings.Contains(v, `\x`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+3 < len(v) && v[i+1] == 'x' {
			if n, err := strconv.ParseUint(v[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// same reports whether is and other say the same.
func (is ISupport) same(other ISupport) bool {
	return is.ChanTypes == other.ChanTypes && is.PrefixModes == other.PrefixModes && is.Prefixes == other.Prefixes &&
		is.CaseMapping == other.CaseMapping && is.Network == other.Network && is.NickLen == other.NickLen &&
		is.ChannelLen == other.ChannelLen && is.TopicLen == other.TopicLen && maps.Equal(is.raw, other.raw)
}

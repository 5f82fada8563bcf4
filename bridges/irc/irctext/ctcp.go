package irctext

import "strings"

// CTCP recognises a CTCP message, "\x01CMD args\x01", in the text of a
// PRIVMSG or NOTICE, returning the command in upper case (CTCP commands are
// case-insensitive in practice, and callers then only compare against
// "ACTION", "VERSION" …) and its arguments verbatim.
//
// The closing \x01 is optional because several clients omit it and the
// modern CTCP draft allows that. A text with another \x01 inside, or with an
// empty or control-character-laden command, is not treated as CTCP: the
// deprecated multi-CTCP forms are a known source of reflection tricks, and a
// gateway gains nothing by honouring them.
func CTCP(text string) (cmd, args string, ok bool) {
	inner, found := strings.CutPrefix(text, "\x01")
	if !found {
		return "", "", false
	}
	inner = strings.TrimSuffix(inner, "\x01")
	if strings.IndexByte(inner, '\x01') >= 0 {
		return "", "", false
	}
	cmd, args, _ = strings.Cut(inner, " ")
	if cmd == "" {
		return "", "", false
	}
	for i := 0; i < len(cmd); i++ {
		if c := cmd[i]; c < 0x21 || c > 0x7e {
			return "", "", false
		}
	}
	return strings.ToUpper(cmd), args, true
}

package ircconn

import "strings"

// capNotify is requested whenever it is offered: CAP LS 302 implies it,
// but a server that lists it expects it requested before it sends CAP
// NEW and DEL, which keep Caps true as capabilities come and go.
const capNotify = "cap-notify"

// capToken is one entry of a CAP LS, ACK, NEW or DEL list: a name, the
// value after "=" (LS 302: "sasl=PLAIN,EXTERNAL"), and the "-" that
// marks a capability being disabled in an ACK.
type capToken struct {
	name, value string
	disable     bool
}

// parseCaps splits a capability list. Names are lower-cased; the
// modifiers of the old 3.1 draft ("~", "=") are dropped; an empty name
// is skipped. Nothing in it is ever sent back as is: Ferry only requests
// names from its own list.
func parseCaps(list string) []capToken {
	var caps []capToken
	for _, tok := range strings.Fields(list) {
		var t capToken
		if strings.HasPrefix(tok, "-") {
			t.disable, tok = true, tok[1:]
		}
		tok = strings.TrimLeft(tok, "~=")
		name, value, _ := strings.Cut(tok, "=")
		if name == "" {
			continue
		}
		t.name, t.value = strings.ToLower(name), value
		caps = append(caps, t)
	}
	return caps
}

// wants reports whether the capability name is requested when offered:
// cap-notify, and what the caller handles (Config.Caps). sasl is asked
// for separately, only when Config.SASL is set.
func (cfg *Config) wants(name string) bool { return wantsCap(cfg.Caps, name) }

// wantsCap reports whether a capability is among those asked for, or is
// cap-notify, which Ferry always asks for.
func wantsCap(caps []string, name string) bool {
	return name == capNotify || containsFold(caps, name)
}

// CapValue is the value the server listed with an acknowledged
// capability in CAP LS 302 ("max-bytes=4096,max-lines=100" for
// draft/multiline), or "" for none.
func (c *Conn) CapValue(name string) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.caps.Has(name) {
		return ""
	}
	v, _ := c.capVals.Get(name)
	return v
}

// setCapValue records an acknowledged capability's value; the caller
// holds c.mu.
func (c *Conn) setCapValue(name, value string) {
	if value == "" {
		return
	}
	c.capVals.Set(name, value)
}

// HasCap reports whether the server acknowledged the capability name (and
// has not withdrawn it since with CAP DEL).
func (c *Conn) HasCap(name string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.caps.Has(name)
}

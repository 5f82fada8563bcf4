package ircconn

import (
	"fmt"
	"net"
	"strings"
)

// WebIRC is the IRCv3 WEBIRC command a trusted gateway sends before
// registering: the network shows Hostname and IP for the user instead of
// the gateway's own address, and checks Password to trust them.
type WebIRC struct {
	Password string
	// Gateway names the gateway software (ngIRCd takes it as the user
	// name).
	Gateway  string
	Hostname string
	IP       string
}

// check refuses what would not fit the command's middle parameters.
func (w *WebIRC) check() error {
	if w == nil {
		return nil
	}
	for _, p := range []struct{ name, value string }{{"password", w.Password}, {"gateway", w.Gateway}, {"hostname", w.Hostname}, {"IP", w.IP}} {
		if p.value == "" || p.value[0] == ':' || strings.ContainsAny(p.value, " \r\n\x00") {
			return fmt.Errorf("WEBIRC %s must be one word", p.name)
		}
	}
	if net.ParseIP(w.IP) == nil {
		return fmt.Errorf("WEBIRC IP %q is not an IP address", w.IP)
	}
	return nil
}

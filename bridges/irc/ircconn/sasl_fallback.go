package ircconn

import (
	"strings"

	"github.com/ergochat/irc-go/ircutils"
)

// A password login tries SCRAM-SHA-256 first where the server offers it
// (chooseMech). Some services cannot check SCRAM for every account (one
// whose password was stored before they spoke SCRAM has no SCRAM
// credentials) and refuse it with 904 although the password is right: a
// server that also offers PLAIN then gets the same login once more with
// PLAIN. It tells a listener nothing new: whoever could fake that 904 on
// the way could as well have struck SCRAM from the server's list. A
// SCRAM exchange Ferry itself broke off (the server could not prove it
// knows the password) is never retried: that server may be an impostor.
// A user who insisted on SCRAM (Config.SASL SCRAM-SHA-256) gets no PLAIN.

// plainAfterSCRAM restarts SASL with PLAIN after the server refused
// SCRAM-SHA-256 (904), once, where the configuration and the server's
// list allow it; it reports whether it did.
func (r *registration) plainAfterSCRAM() (bool, error) {
	if r.phase != capWaitSASL || r.triedPlain || r.mech == nil || r.mech.name() != SASLScram ||
		r.cfg.SASL != SASLPlain || !containsFold(strings.Split(r.offered["sasl"], ","), SASLPlain) {
		return false, nil
	}
	r.triedPlain = true
	r.mech = &plain{user: r.cfg.SASLUser, pass: r.cfg.SASLPass}
	r.saslIn = ircutils.NewSASLBuffer(maxSASLChallenge)
	return true, r.write("AUTHENTICATE", SASLPlain)
}

package ircconn

import (
	"crypto/rand"
	"errors"
	"strings"
)

// saslMech is one side of a SASL exchange: next answers each challenge
// from the server (the first is empty) until the server says it is done.
type saslMech interface {
	name() string
	next(challenge []byte) (response []byte, err error)
	// done reports whether the exchange may end now; a mechanism that
	// authenticates the server refuses a success it has not verified.
	done() bool
}

// plain sends the account and password in one message (RFC 4616).
type plain struct {
	user, pass string
	sent       bool
}

func (p *plain) name() string { return SASLPlain }

func (p *plain) next([]byte) ([]byte, error) {
	if p.sent {
		return nil, errors.New("the server asked for more than PLAIN has")
	}
	p.sent = true
	// authzid (empty: the account itself) NUL authcid NUL password
	return []byte("\x00" + p.user + "\x00" + p.pass), nil
}

func (p *plain) done() bool { return p.sent }

// external lets the TLS client certificate speak (RFC 4422 appendix A).
type external struct{ sent bool }

func (e *external) name() string { return SASLExternal }

func (e *external) next([]byte) ([]byte, error) {
	if e.sent {
		return nil, errors.New("the server asked for more than EXTERNAL has")
	}
	e.sent = true
	return nil, nil
}

func (e *external) done() bool { return e.sent }

// chooseMech picks the mechanism for cfg among what the server offers
// (offered is the sasl capability's value, "" when the server did not
// list them). A password goes with SCRAM-SHA-256 whenever the server
// offers it, so it never crosses the wire; PLAIN only when it does not.
func chooseMech(cfg *Config, offered string) (saslMech, error) {
	mechs := strings.Split(offered, ",")
	has := func(m string) bool { return offered == "" || containsFold(mechs, m) }
	switch cfg.SASL {
	case SASLExternal:
		if has(SASLExternal) {
			return &external{}, nil
		}
	case SASLPlain, SASLScram:
		if offered != "" && containsFold(mechs, SASLScram) || cfg.SASL == SASLScram && offered == "" {
			return newSCRAM(cfg.SASLUser, cfg.SASLPass, rand.Reader)
		}
		if cfg.SASL == SASLPlain && has(SASLPlain) {
			return &plain{user: cfg.SASLUser, pass: cfg.SASLPass}, nil
		}
	}
	return nil, errNotOffered
}

var errNotOffered = errors.New("mechanism not offered")

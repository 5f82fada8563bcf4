package email

import (
	"errors"
	"fmt"
	"net"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/email/imapwatch"
	"github.com/ferry-xmpp/ferry/bridges/email/submit"
	"github.com/ferry-xmpp/ferry/internal/netguard"
)

// unreachableText is all a user learns when Ferry cannot or may not reach
// a server they named: whether the name does not resolve, the address is
// refused by the operator's policy, nothing listens on the port, the
// connection times out, or something that is not a mail server answers.
// Different texts would let users map hosts and ports through the
// gateway; the operator's log has the cause.
const unreachableText = "cannot be reached from this gateway (check its name, port and security)"

// unreachable is the registration error for a server that was not
// reached, one text for every cause.
func unreachable(name string, e endpoint, cause error) *bridges.Error {
	return &bridges.Error{Condition: bridges.RemoteServerNotFnd,
		Text: fmt.Sprintf("%s server %s %s", name, e.addr(), unreachableText), Cause: cause}
}

// isUnreachable tells failures to reach a server from what a server said.
func isUnreachable(err error) bool {
	var ie *imapwatch.Error
	var se *submit.Error
	var refused *netguard.Refused
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &ie):
		return ie.Unreachable
	case errors.As(err, &se):
		return se.Unreachable
	}
	return errors.As(err, &refused) || errors.As(err, &dnsErr)
}

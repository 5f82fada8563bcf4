package bridges

import (
	"fmt"

	"github.com/ferry-xmpp/ferry/internal/ratelimit"
)

// Condition is an XMPP stanza error condition (RFC 6120 §8.3.3).
type Condition string

// Conditions bridges use most.
const (
	BadRequest           Condition = "bad-request"
	Conflict             Condition = "conflict"
	Forbidden            Condition = "forbidden"
	ItemNotFound         Condition = "item-not-found"
	JIDMalformed         Condition = "jid-malformed"
	NotAcceptable        Condition = "not-acceptable"
	NotAllowed           Condition = "not-allowed"
	NotAuthorized        Condition = "not-authorized"
	PolicyViolation      Condition = "policy-violation"
	RemoteServerNotFnd   Condition = "remote-server-not-found"
	RemoteServerTmout    Condition = "remote-server-timeout"
	ServiceUnavailable   Condition = "service-unavailable"
	InternalServer       Condition = "internal-server-error"
	RecipientUnavailable Condition = "recipient-unavailable"
	ResourceConstraint   Condition = "resource-constraint"
)

// Error carries a user-safe text (it becomes the stanza error text) apart
// from the internal cause, which is only logged for the operator.
type Error struct {
	Condition Condition
	Text      string
	Cause     error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Condition, e.Text, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Condition, e.Text)
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf builds an *Error with a formatted user text.
func Errorf(c Condition, format string, args ...any) *Error {
	return &Error{Condition: c, Text: fmt.Sprintf(format, args...)}
}

// TryAgain is a refusal that passes with time (a rate limit): condition
// resource-constraint, which XMPP sends with type wait, and a text ending
// "try again in N s".
func TryAgain(text string, d *ratelimit.Denied) *Error {
	return &Error{Condition: ResourceConstraint, Text: fmt.Sprintf("%s; try again in %d s.", text, d.Seconds()), Cause: d}
}

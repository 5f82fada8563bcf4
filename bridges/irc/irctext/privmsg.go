package irctext

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ergochat/irc-go/ircmsg"
)

// Errors returned by Privmsgs; test with errors.Is.
var (
	// ErrBadCommand: the command is not a plain word of ASCII letters, so it
	// could smuggle parameters (a space) or break the line.
	ErrBadCommand = errors.New("irctext: invalid IRC command")
	// ErrBadTarget: the target cannot be a single middle parameter.
	ErrBadTarget = errors.New("irctext: invalid IRC target")
	// ErrNoRoom: target and prefix are so long that no text fits in a line.
	ErrNoRoom = errors.New("irctext: no room for text in an IRC line")
)

// Privmsgs turns an XMPP body into the IRC lines (without CR LF) that carry
// it to target: command is PRIVMSG or NOTICE, prefix is our nick!user@host as
// far as we know it ("" for unknown, see Budget), and action wraps every line
// as CTCP ACTION, the IRC form of /me. Every line of a multi-line /me is an
// ACTION so that continuation lines are still attributed as the action.
//
// The body goes through Lines and each line through Split with the budget
// for the relayed form, so no server truncates anything and each XMPP line
// starts a new IRC line. A body with nothing visible yields no lines.
//
// Serialization goes only through irc-go's strict serializer, with the
// truncation length set to what the relayed line may use: if our arithmetic
// were ever wrong the serializer would report ErrorBodyTooLong and we return
// an error rather than send a line the server would cut.
func Privmsgs(command, target, prefix, body string, action bool) ([]string, error) {
	if err := checkCommand(command); err != nil {
		return nil, err
	}
	if err := checkTarget(target); err != nil {
		return nil, err
	}
	command = strings.ToUpper(command)

	budget := Budget(command, target, prefix)
	if action {
		budget = ActionBudget(command, target, prefix)
	}
	if budget < utf8.UTFMax { // Split could not stay within less
		return nil, fmt.Errorf("%w: %d bytes left for %q", ErrNoRoom, budget, target)
	}
	prefixLen := len(prefix)
	if prefixLen == 0 {
		prefixLen = WorstCasePrefix
	}
	// What the serialized line (CR LF included) may use once the server has
	// prepended ":prefix ".
	limit := MaxLine - (1 + prefixLen + 1)

	var out []string
	for _, line := range Lines(body) {
		for _, chunk := range Split(line, budget) {
			if action {
				chunk = "\x01ACTION " + chunk + "\x01"
			}
			msg := ircmsg.MakeMessage(nil, "", command, target, chunk)
			b, err := msg.LineBytesStrict(true, limit)
			if err != nil {
				return nil, fmt.Errorf("irctext: serializing %s to %q: %w", command, target, err)
			}
			out = append(out, string(b[:len(b)-2])) // drop CR LF
		}
	}
	return out, nil
}

// checkCommand accepts only ASCII letters: the serializer writes the command
// verbatim, so anything else could add parameters or break the line.
func checkCommand(command string) error {
	if command == "" {
		return fmt.Errorf("%w: empty", ErrBadCommand)
	}
	for i := 0; i < len(command); i++ {
		c := command[i] | 0x20 // ASCII lower-case
		if c < 'a' || c > 'z' {
			return fmt.Errorf("%w: %q", ErrBadCommand, command)
		}
	}
	return nil
}

// checkTarget rejects targets that are not one safe middle parameter: space
// would split it, a leading ':' would make it the trailing parameter, CR, LF
// and NUL end or corrupt the line, and a comma makes many servers deliver to
// a list of targets. Other control characters never occur in nicks or
// channel names and are rejected for good measure.
func checkTarget(target string) error {
	if target == "" {
		return fmt.Errorf("%w: empty", ErrBadTarget)
	}
	if target[0] == ':' {
		return fmt.Errorf("%w: starts with ':': %q", ErrBadTarget, target)
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c == ',' || c == 0x7f {
			return fmt.Errorf("%w: %q", ErrBadTarget, target)
		}
	}
	return nil
}

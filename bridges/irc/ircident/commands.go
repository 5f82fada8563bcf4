package ircident

import (
	"fmt"
	"strings"

	"github.com/ergochat/irc-go/ircmsg"
)

// Commands splits a user's commands after connecting (separated by ';')
// into raw lines, each of which must parse as the connection will parse
// it (irc-go's strict parser, as ircconn.Conn.SendRaw does) and fit one
// IRC line.
func Commands(s string) ([]string, error) {
	var out []string
	for _, cmd := range strings.Split(s, ";") {
		cmd = strings.TrimSpace(cmd)
		if cmd == "" {
			continue
		}
		if hasLineBreak(cmd) {
			return nil, &Problem{Field: Command, Reason: "it contains CR, LF or NUL"}
		}
		if len(cmd) > maxLine {
			return nil, &Problem{Field: Command, Reason: fmt.Sprintf("%.20q… is longer than an IRC line", cmd)}
		}
		if _, err := ircmsg.ParseLineStrict(cmd, true, 0); err != nil {
			return nil, &Problem{Field: Command, Reason: fmt.Sprintf("%q is not an IRC command", cmd)}
		}
		out = append(out, cmd)
	}
	return out, nil
}

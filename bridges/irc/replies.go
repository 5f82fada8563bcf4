package irc

import (
	"strings"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges"
)

// IRCv3 standard replies: FAIL, WARN and NOTE <command> <code>
// [<context>...] :<description>. A FAIL of a message the user sent is an
// error on that message, a FAIL of a join a refused join; everything else
// is shown from the server with its description.

// replyConditions maps the codes that say what the user lacks.
var replyConditions = map[string]bridges.Condition{
	"ACCOUNT_REQUIRED":  bridges.Forbidden,
	"NEED_REGISTRATION": bridges.Forbidden,
	"INVALID_TARGET":    bridges.ItemNotFound,
	"TARGET_NOT_FOUND":  bridges.ItemNotFound,
}

func (n *network) onStandardReply(m ircmsg.Message) {
	if len(m.Params) < 3 {
		return // not a standard reply: nothing to say
	}
	command, code, text := strings.ToUpper(m.Params[0]), m.Params[1], m.Params[len(m.Params)-1]
	context := m.Params[2 : len(m.Params)-1]
	if m.Command == "FAIL" && len(context) > 0 {
		cond, ok := replyConditions[code]
		if !ok {
			cond = bridges.NotAcceptable
		}
		switch command {
		case "PRIVMSG", "NOTICE":
			if n.refuse(context[0], cond, text) {
				return
			}
		case "JOIN":
			if n.joining(context[0]) {
				n.joinFailed(context[0], cond, text)
				return
			}
		}
	}
	label := map[string]string{"FAIL": "Failed", "WARN": "Warning", "NOTE": "Note"}[m.Command]
	if command != "*" {
		label += " (" + command + ")"
	}
	n.emitNotice(label + ": " + text)
}

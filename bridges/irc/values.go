package irc

import (
	"errors"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircident"
)

// checkValues refuses, at registration, registration values no IRC server
// can ever accept, with the rules the connection applies before dialling
// (ircident): the identity as dialConfig will send it (user name and real
// name default to the nick, the SASL account too), and the commands
// after connecting as SendRaw will parse them.
func checkValues(v map[string]string, nick string) error {
	id := ircident.Identity{Nick: nick, User: nonEmpty(v["username"], nick), Realname: nonEmpty(v["realname"], nick),
		Password: v["server_password"], SASLUser: nonEmpty(v["sasl_user"], nick), SASLPass: v["sasl_password"]}
	err := id.Check()
	if err == nil {
		_, err = ircident.Commands(v["on_connect"])
	}
	var p *ircident.Problem
	if errors.As(err, &p) {
		return &bridges.Error{Condition: bridges.NotAcceptable, Text: "Your " + string(p.Field) + " cannot be used on IRC: " + p.Reason + ".", Cause: err}
	}
	return err
}

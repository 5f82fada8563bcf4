package main

import (
	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc"
	"github.com/ferry-xmpp/ferry/bridges/sms"
)

// knownBridges maps a [[transport]] kind to its bridge. The email bridge
// registers here when it lands.
var knownBridges = map[string]bridges.Factory{
	irc.Kind: irc.Factory,
	sms.Kind: sms.Factory,
}

package main

import (
	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc"
)

// knownBridges maps a [[transport]] kind to its bridge. The email and SMS
// bridges register here as they land.
var knownBridges = map[string]bridges.Factory{
	irc.Kind: irc.Factory,
}

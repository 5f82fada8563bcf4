package main

import (
	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/email"
	"github.com/ferry-xmpp/ferry/bridges/irc"
	"github.com/ferry-xmpp/ferry/bridges/sms"
)

// knownBridges maps a [[transport]] kind to its bridge.
var knownBridges = map[string]bridges.Factory{
	email.Kind: email.Factory,
	irc.Kind:   irc.Factory,
	sms.Kind:   sms.Factory,
}

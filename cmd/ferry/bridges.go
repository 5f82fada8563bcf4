package main

import "github.com/ferry-xmpp/ferry/bridges"

// knownBridges maps a [[transport]] kind to its bridge. The IRC, email and
// SMS bridges register here as they land.
var knownBridges = map[string]bridges.Factory{}

//go:build demo

package main

import "github.com/ferry-xmpp/ferry/internal/testbridge"

// The demo build (go build -tags demo) adds the echo bridge so a newcomer
// can try registration and chat before any real network is configured.
// Production builds never contain it.
func init() {
	knownBridges[testbridge.Kind] = testbridge.NewNetwork().Factory()
}

// Package sms is the SMS bridge: a user chats with +12015550123@sms.gw and
// the phone gets a text, through the operator's SMS gateway or provider.
package sms

import "github.com/ferry-xmpp/ferry/bridges/sms/gateway"

// Aliases keep the bridge's code short; the types live in gateway.
type (
	Provider  = gateway.Provider
	Outbound  = gateway.Outbound
	SendError = gateway.SendError
	Inbound   = gateway.Inbound
	Report    = gateway.Report
)

// Delivery states, re-exported from gateway.
const (
	Accepted  = gateway.Accepted
	Delivered = gateway.Delivered
	Failed    = gateway.Failed
)

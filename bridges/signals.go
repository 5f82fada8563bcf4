package bridges

import (
	"context"
	"time"
)

// ChatState is what someone is doing in a conversation: XEP-0085 chat
// states, as far as networks can carry them (IRCv3 +typing).
type ChatState string

// The chat states networks carry. XEP-0085's inactive and gone are not
// typing either: the core maps them to Active.
const (
	Composing ChatState = "composing" // typing now
	Paused    ChatState = "paused"    // stopped typing, the text not sent
	Active    ChatState = "active"    // not typing (the text sent or cleared)
)

// Conversation is where a chat state or a reaction goes, or comes from.
// Peer is a puppet local part: a person, or a room. Nick is an occupant
// of that room: sending, it makes the conversation a private one with
// them; received, it is who typed or reacted in the room.
type Conversation struct{ Peer, Nick string }

// Signaller is implemented by sessions of networks that carry typing
// notifications and reactions. Typing is best effort: where the network
// cannot carry it (an IRC server without message-tags) SendChatState
// drops it and returns nil. The core limits how often it calls
// SendChatState (one Composing per conversation every few seconds).
type Signaller interface {
	SendChatState(ctx context.Context, c Conversation, s ChatState) error
	// React makes reactions the user's whole set of reactions to the
	// message id (a legacy id as Message.ReplyTo holds it); an empty set
	// takes them all back. An id the network cannot name is refused with
	// item-not-found, a network without reactions with
	// feature-not-implemented.
	React(ctx context.Context, c Conversation, id string, reactions []string) error
}

// SignalEvents reports other people's typing and reactions; every Events
// sink implements it.
type SignalEvents interface {
	// ChatState reports someone's typing state: c.Peer is the person, or
	// the room with c.Nick typing in it.
	ChatState(c Conversation, s ChatState)
	// Reactions reports the whole set of reactions c has made to the
	// message id (a legacy id, as Message.ID holds it); empty, they took
	// them all back.
	Reactions(c Conversation, id string, reactions []string)
}

// ReadMarker is implemented by sessions of networks that keep where the
// user has read up to, shared by all their clients (IRCv3
// draft/read-marker). A network that keeps none drops the mark (nil).
type ReadMarker interface {
	// MarkRead says the user has read c (a room or a person) up to the
	// message sent at.
	MarkRead(ctx context.Context, c Conversation, at time.Time) error
}

// ReadEvents reports where the user has read up to, as the network says
// (another of their clients read further, or on joining a room); every
// Events sink implements it.
type ReadEvents interface {
	// MarkedRead says the user has read c.Peer (a room or a person) up to
	// the message sent at; lastID is the legacy id of the newest message
	// from that person at or before then, when the network knows it ("").
	MarkedRead(c Conversation, at time.Time, lastID string)
}

package bridges

import (
	"context"
	"time"
)

// Occupant is someone in a group chat, with XEP-0045 role and affiliation
// already mapped from the network's own ranks.
type Occupant struct {
	Nick        string
	Role        string // moderator, participant, visitor
	Affiliation string // owner, admin, member, none
	// Peer is the occupant's puppet local part for private chats and
	// non-anonymous rooms ("" when the network hides it).
	Peer string
	// Away is the occupant's away message: not empty, they are shown
	// away with it (XMPP <show>away</show> and <status/>).
	Away string
	// About says who the occupant is beyond their nick, as the network
	// knows it (IRC: real name, services account); shown in the
	// presence's status text. "" when nothing is known.
	About string
}

// LeaveKind says why someone left a room.
type LeaveKind int

// Ways to leave a room.
const (
	Parted LeaveKind = iota
	Quit
	Kicked
	Banned
	LinkLost // our own connection dropped (XEP-0045 status 332)
)

// RoomAddresser is implemented by bridges of networks with group chats:
// it tells a room's local part from a peer's without a session (IRC: by
// the channel prefix), so stanzas are routed before anything connects.
type RoomAddresser interface {
	IsRoom(local string) bool
}

// Rooms is implemented by sessions of networks with group chats. Results
// arrive through RoomEvents, which every Events sink also implements.
// The methods may wait on the network; Ferry calls them off the user's
// actor, in order.
type Rooms interface {
	// JoinRoom asks to join room (a puppet local part) under nick.
	JoinRoom(ctx context.Context, room, nick, password string) error
	// LeaveRoom leaves once the user's last resource has left.
	LeaveRoom(ctx context.Context, room, status string) error
	// SendRoom sends a group chat message. The core reflects it to the
	// user's resources once this returns nil, unless the session is a
	// RoomEchoer.
	SendRoom(ctx context.Context, room string, m Message) error
	// SetSubject changes the room's topic.
	SetSubject(ctx context.Context, room, subject string) error
	// ChangeNick changes the user's nick (in every room of that network).
	ChangeNick(ctx context.Context, room, nick string) error
}

// RoomRestorer is implemented by sessions that can put the user back in
// a room they were in before Ferry restarted and fetch what was said
// while Ferry was away (IRC: CHATHISTORY). since and lastID are the
// newest message of the room's history (zero and "" when it has none).
// What was missed arrives as RoomMessage with Message.Replayed set before
// the lines said after the rejoin; when the network cannot send it, the
// session reports RoomGap instead.
type RoomRestorer interface {
	RestoreRoom(ctx context.Context, room, nick string, since time.Time, lastID string) error
}

// RoomLister is implemented by sessions that can list the rooms of a
// network (IRC: LIST), for disco#items on the network's address.
type RoomLister interface {
	// ListRooms lists the rooms of the network whose local part is
	// network (sorted by Local); complete is false when the list was cut
	// short at the bridge's bound.
	ListRooms(ctx context.Context, network string) (rooms []RoomItem, complete bool, err error)
}

// RoomItem is a room as a network lists it.
type RoomItem struct {
	Local string // the room's local part
	Name  string // its name, with how many are in it and its topic
}

// RoomEchoer is implemented by sessions that report every room message
// the user sent back themselves, as RoomEvents.RoomMessage from the
// user's own nick with Message.EchoOf set, once the network has taken it
// (IRC: the server's own echo where it has echo-message, else as soon as
// the lines are queued). The core then shows that as the reflection, once,
// and does not reflect the message itself.
type RoomEchoer interface {
	EchoesRoomMessages()
}

// Moderation is implemented by sessions whose rooms have moderators.
type Moderation interface {
	// Moderate applies an XEP-0045 admin change to nick: role "none" kicks,
	// affiliation "outcast" bans, roles and affiliations map to modes.
	Moderate(ctx context.Context, room, nick, role, affiliation, reason string) error
}

// RoomEvents reports what happens in rooms.
type RoomEvents interface {
	// RoomJoined completes a join: everyone present, ourselves (with the
	// nick the network gave us) and the topic ("" when none).
	RoomJoined(room string, self Occupant, occupants []Occupant, subject, subjectBy string)
	// RoomJoinFailed reports a refused join with a condition and the
	// network's text (bad key, invite only, banned, full, nick in use).
	RoomJoinFailed(room string, cond Condition, text string)
	// OccupantPresence reports someone arriving or their rank changing.
	OccupantPresence(room string, o Occupant)
	// OccupantLeft reports someone leaving; self is true for ourselves.
	OccupantLeft(room, nick string, kind LeaveKind, actor, reason string, self bool)
	// NickChanged reports a nick change in a room.
	NickChanged(room, oldNick, newNick string, self bool)
	// RoomMessage delivers a group chat message from an occupant.
	RoomMessage(room, nick string, m Message)
	// RoomSubject reports a topic change.
	RoomSubject(room, nick, subject string)
	// RoomInvite reports an invitation to a room.
	RoomInvite(room, from, reason string)
	// RoomGap reports that what was said in the room between from and to
	// (from zero: before to) may be missing: the connection was down and
	// the network cannot send it again.
	RoomGap(room string, from, to time.Time)
}

// Inviter is implemented by sessions that can invite someone to a room
// (an XEP-0045 mediated invitation sent to the room).
type Inviter interface {
	Invite(ctx context.Context, room, peer, reason string) error
}

package testbridge

import (
	"context"
	"strings"

	"github.com/ferry-xmpp/ferry/bridges"
)

// The echo network's group chats: any local part starting with '#' is a
// room with one occupant, "echobot", who repeats what is said. "#banned"
// refuses joins; the nick "taken" is changed to "taken_" by the network.
// A join to a room starting with "#slow" reaches the network but is not
// answered: the test reports the join itself through Events, as a network
// would later.

const botNick = "echobot"

var bot = bridges.Occupant{Nick: botNick, Role: "moderator", Affiliation: "owner", Peer: botNick}

func (s *Session) roomEvents() bridges.RoomEvents {
	re, _ := s.sink.(bridges.RoomEvents)
	return re
}

// Events is the session's room events, for a test to report what the
// network did.
func (s *Session) Events() bridges.RoomEvents { return s.roomEvents() }

// IsRoom implements bridges.RoomAddresser.
func (b *Bridge) IsRoom(local string) bool { return strings.HasPrefix(local, "#") }

// JoinRoom implements bridges.Rooms.
func (s *Session) JoinRoom(_ context.Context, room, nick, _ string) error {
	s.mu.Lock()
	s.Joins++
	if s.nicks == nil {
		s.nicks = map[string]string{}
	}
	if nick == "taken" {
		nick = "taken_"
	}
	s.nicks[room] = nick
	s.mu.Unlock()
	if strings.HasPrefix(room, "#slow") {
		return nil
	}
	if room == "#banned" {
		s.roomEvents().RoomJoinFailed(room, bridges.Forbidden, "Cannot join channel (+b) - you are banned")
		return nil
	}
	self := bridges.Occupant{Nick: nick, Role: "participant", Affiliation: "none", Peer: nick}
	s.roomEvents().RoomJoined(room, self, []bridges.Occupant{bot, self}, "Echo room", botNick)
	return nil
}

// LeaveRoom implements bridges.Rooms.
func (s *Session) LeaveRoom(_ context.Context, room, _ string) error {
	s.mu.Lock()
	s.Leaves++
	delete(s.nicks, room)
	s.mu.Unlock()
	return nil
}

// SendRoom implements bridges.Rooms: echobot answers.
func (s *Session) SendRoom(_ context.Context, room string, m bridges.Message) error {
	s.mu.Lock()
	s.sent = append(s.sent, m)
	s.mu.Unlock()
	s.roomEvents().RoomMessage(room, botNick, bridges.Message{Body: "echo: " + m.Body, Action: m.Action})
	return nil
}

// SetSubject implements bridges.Rooms.
func (s *Session) SetSubject(_ context.Context, room, subject string) error {
	s.mu.Lock()
	nick := s.nicks[room]
	s.mu.Unlock()
	s.roomEvents().RoomSubject(room, nick, subject)
	return nil
}

// ChangeNick implements bridges.Rooms.
func (s *Session) ChangeNick(_ context.Context, room, nick string) error {
	s.mu.Lock()
	old := s.nicks[room]
	s.nicks[room] = nick
	s.mu.Unlock()
	s.roomEvents().NickChanged(room, old, nick, true)
	return nil
}

// Moderate implements bridges.Moderation: only kicks of echobot work.
func (s *Session) Moderate(_ context.Context, room, nick, role, _, reason string) error {
	if nick != botNick || role != "none" {
		return bridges.Errorf(bridges.NotAllowed, "You're not channel operator")
	}
	s.mu.Lock()
	me := s.nicks[room]
	s.mu.Unlock()
	s.roomEvents().OccupantLeft(room, botNick, bridges.Kicked, me, reason, false)
	return nil
}

package component

import (
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/smallmap"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// RoomEvents: the sink posts each event to the user's actor, which owns
// the room state.

func (s *sink) room(name string, fn func(u *user, r *room)) {
	s.post(func(u *user) {
		if u.sessGen != s.gen {
			return
		}
		if r := u.rooms[name]; r != nil {
			fn(u, r)
		}
	})
}

func (s *sink) RoomJoined(name string, self bridges.Occupant, occupants []bridges.Occupant, subject, subjectBy string) {
	s.room(name, func(u *user, r *room) {
		r.joined, r.nick, r.self = true, self.Nick, self
		r.rejoining = false
		u.roomsChanged = true
		if u.recordHistoryIn(name) {
			u.t.archive.member(u.jid, name, true)
		}
		r.subject, r.subjectBy = subject, subjectBy
		r.occupants = smallmap.Map[bridges.Occupant]{}
		r.occupants.SetEach(func(yield func(string, bridges.Occupant) bool) {
			for _, o := range occupants {
				if o.Nick != self.Nick && !yield(o.Nick, o) {
					return
				}
			}
		})
		for full := range r.resources.All() {
			u.replayRoom(r, full)
		}
		u.formerGone(r)
		u.joinedRead(r)
	})
}

func (s *sink) RoomJoinFailed(name string, cond bridges.Condition, text string) {
	s.post(func(u *user) {
		if u.sessGen == s.gen {
			u.roomJoinFailed(name, cond, text)
		}
	})
}

func (s *sink) OccupantPresence(name string, o bridges.Occupant) {
	s.room(name, func(u *user, r *room) {
		if o.Nick == r.nick {
			r.self = o
			u.broadcast(r, func(full string) *xmlnode.Node { return u.selfPresence(r, full, "", []string{"110"}) })
			return
		}
		r.occupants.Set(o.Nick, o)
		if r.joined {
			u.broadcast(r, func(full string) *xmlnode.Node { return u.occupantPresence(r, o, full, "") })
		}
	})
}

// leaveCodes are the XEP-0045 status codes for each way of leaving.
var leaveCodes = map[bridges.LeaveKind]string{bridges.Kicked: "307", bridges.Banned: "301", bridges.LinkLost: "332"}

func (s *sink) OccupantLeft(name, nick string, kind bridges.LeaveKind, actor, reason string, self bool) {
	s.room(name, func(u *user, r *room) {
		build := func(o bridges.Occupant, full string, codes []string) *xmlnode.Node {
			var p *xmlnode.Node
			if self {
				p = u.selfPresence(r, full, "unavailable", codes)
			} else {
				o.Role = "none"
				if kind == bridges.Banned {
					o.Affiliation = "outcast"
				}
				p = u.occupantPresence(r, o, full, "unavailable")
				x := p.Child(nsMUCUser, "x")
				for _, c := range codes {
					x.Add(xmlnode.New(nsMUCUser, "status").SetAttr("code", c))
				}
			}
			item := p.Child(nsMUCUser, "x").Child(nsMUCUser, "item")
			if actor != "" {
				item.Add(xmlnode.New(nsMUCUser, "actor").SetAttr("nick", actor))
			}
			if reason != "" {
				item.Add(xmlnode.Elem(nsMUCUser, "reason", reason))
				p.Add(xmlnode.Elem("", "status", reason))
			}
			return p
		}
		var codes []string
		if self {
			codes = append(codes, "110")
		}
		if c, ok := leaveCodes[kind]; ok {
			codes = append(codes, c)
		}
		o, _ := r.occupants.Get(nick)
		o.Nick = nick
		u.broadcast(r, func(full string) *xmlnode.Node { return build(o, full, codes) })
		u.roomsChanged = u.roomsChanged || self
		if self && kind != bridges.LinkLost {
			u.t.archive.member(u.jid, name, false)
		}
		switch {
		case self && kind == bridges.LinkLost:
			// The network rejoins on reconnect: keep the resources so the
			// replay reaches them (and clients that rejoin meanwhile wait),
			// and their membership, as what was missed is fetched again.
			r.joined, r.requested = false, nonEmpty(r.nick, r.requested)
			r.rejoining = true
			r.occupants = smallmap.Map[bridges.Occupant]{}
		case self:
			delete(u.rooms, name)
		default:
			r.occupants.Delete(nick)
		}
	})
}

func (s *sink) NickChanged(name, oldNick, newNick string, self bool) {
	s.room(name, func(u *user, r *room) {
		o, _ := r.occupants.Get(oldNick)
		if self {
			o = r.self
		}
		o.Nick = newNick
		codes := []string{"303"}
		if self {
			codes = append(codes, "110")
		}
		u.broadcast(r, func(full string) *xmlnode.Node {
			old := o
			old.Nick = oldNick
			var p *xmlnode.Node
			if self {
				p = u.selfPresence(r, full, "unavailable", codes)
			} else {
				p = u.occupantPresence(r, old, full, "unavailable")
				for _, c := range codes {
					p.Child(nsMUCUser, "x").Add(xmlnode.New(nsMUCUser, "status").SetAttr("code", c))
				}
			}
			p.Child(nsMUCUser, "x").Child(nsMUCUser, "item").SetAttr("nick", newNick)
			return p
		})
		if self {
			r.nick, r.self = newNick, o
			u.broadcast(r, func(full string) *xmlnode.Node { return u.selfPresence(r, full, "", []string{"110"}) })
			return
		}
		r.occupants.Delete(oldNick)
		r.occupants.Set(newNick, o)
		u.broadcast(r, func(full string) *xmlnode.Node { return u.occupantPresence(r, o, full, "") })
	})
}

// RoomMessage queues the message for every resource in the room. When the
// user's actor is idle, every event the session reported before has been
// handled and the published rooms are current, so the message is queued
// on the session's goroutine (see views.go): waiting for room in the
// user's lane is then the back-pressure that stops the session reading
// its network. Otherwise it goes through the actor, behind the join,
// part or nick change it must follow.
//
// The message is archived once per room: the first session to report it
// stores it, the others get its id (archiver.heard).
func (s *sink) RoomMessage(name, nick string, m bridges.Message) {
	if s.t.stoppingAt.Load() {
		// Nobody's rooms are shown any more: left out of the archive
		// too, the line is fetched again after the restart (seats.go).
		return
	}
	body := inboundBody(m)
	id, _ := s.t.archive.heard(s.gen, name, nick, body, m.ID, m.Time)
	rm := roomMessage{from: s.t.occupantJID(name, nick), room: s.t.puppet(name),
		body: body, id: id, at: s.t.delayedSince(m.Time), domain: s.t.domain, replyTo: m.ReplyTo}
	if m.Replayed { // missed while Ferry was away: always with its time
		rm.at = m.Time
	}
	if m.EchoOf != "" { // the reflection of the user's own message: their id and origin-id
		rm.sid, rm.id, rm.origin = rm.id, m.EchoOf, m.OriginID
	}
	if !s.inbox.Idle() {
		s.room(name, func(u *user, r *room) {
			u.broadcast(r, rm.to)
		})
		return
	}
	for _, full := range s.views.joined(s.gen, name) {
		s.t.sendTo(s.user, rm.to(full))
	}
}

// roomMessage is a message from an occupant, ready to address.
type roomMessage struct {
	from, room, body, id, domain string
	sid, origin                  string // an echo's stanza-id (else id) and origin-id
	replyTo                      string // the stanza-id of the message it answers (XEP-0461)
	at                           time.Time
}

// to builds the stanza for one joined resource, in one go: this is the
// busiest stanza Ferry makes.
func (rm roomMessage) to(full string) *xmlnode.Node {
	msg := &xmlnode.Node{Local: "message",
		Attrs: []xmlnode.Attr{{Name: "type", Value: "groupchat"}, {Name: "id", Value: rm.id},
			{Name: "from", Value: rm.from}, {Name: "to", Value: full}},
		Children: make([]*xmlnode.Node, 2, 4)}
	msg.Children[0], msg.Children[1] = xmlnode.Elem("", "body", rm.body), stanzaIDElem(rm.room, nonEmpty(rm.sid, rm.id))
	if !rm.at.IsZero() {
		msg.Add(delayElem(rm.domain, rm.at))
	}
	if rm.origin != "" {
		msg.Add(xmlnode.New(nsStanzaID, "origin-id").SetAttr("id", rm.origin))
	}
	if rm.replyTo != "" {
		msg.Add(xmlnode.New(nsReply, "reply").SetAttr("id", rm.replyTo))
	}
	return msg
}

func (s *sink) RoomSubject(name, nick, subject string) {
	s.t.archive.heardSubject(s.gen, name, nick, subject)
	s.room(name, func(u *user, r *room) {
		r.subject, r.subjectBy = subject, nick
		u.broadcast(r, func(full string) *xmlnode.Node {
			return xmlnode.New("", "message").SetAttr("type", "groupchat").SetAttr("id", newID()).
				SetAttr("from", u.roomJID(name, nick)).SetAttr("to", full).
				Add(xmlnode.Elem("", "subject", subject))
		})
	})
}

func (s *sink) RoomInvite(name, from, reason string) {
	inv := xmlnode.New(nsMUCUser, "invite").SetAttr("from", s.t.puppet(from))
	if reason != "" {
		inv.Add(xmlnode.Elem(nsMUCUser, "reason", reason))
	}
	msg := xmlnode.New("", "message").SetAttr("id", newID()).
		SetAttr("from", s.t.puppet(name)).SetAttr("to", s.user).
		Add(xmlnode.New(nsMUCUser, "x").Add(inv))
	s.t.sendTo(s.user, msg)
}

// inboundBody renders a legacy message, mapping actions to "/me".
func inboundBody(m bridges.Message) string {
	if m.Action {
		return "/me " + m.Body
	}
	return m.Body
}

package component

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/smallmap"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"mellium.im/xmpp/jid"
)

// MUC emulation: a legacy group chat appears as an XEP-0045 room. The
// user's actor keeps one room state per joined room, shared by all the
// user's resources, so a second resource joining gets the same replay
// without new legacy traffic.

const (
	nsMUC      = "http://jabber.org/protocol/muc"
	nsMUCUser  = "http://jabber.org/protocol/muc#user"
	nsMUCAdmin = "http://jabber.org/protocol/muc#admin"
	nsMUCOwner = "http://jabber.org/protocol/muc#owner"
)

type room struct {
	local     string
	nick      string                         // our nick as the network knows it
	requested string                         // the nick the first resource asked for
	joined    bool                           // the network confirmed the join
	resources smallmap.Map[string]           // full JID -> nick it asked for
	occupants smallmap.Map[bridges.Occupant] // the others, by nick
	self      bridges.Occupant
	subject   string
	subjectBy string
	history   map[string]historyRequest // full JID -> its <history/>, until sent
	// rejoining: Ferry is joining the room again for the resources that
	// were in it, after a restart (seats.go) or a lost connection, until
	// the network confirms; their membership of its history goes on.
	rejoining bool
	former    []string  // restored: the others' nicks when Ferry stopped (seats.go)
	readAt    time.Time // the network's read mark, until the join completes (readmarker.go)
	readID    string    // the read mark last shown
}

// inArchive says the user's membership of the room's history is open.
func (r *room) inArchive() bool { return r.joined || r.rejoining }

// seated reports whether the resource full is in the room with a nick.
func (r *room) seated(full string) bool {
	nick, _ := r.resources.Get(full)
	return nick != ""
}

// dropResource forgets a resource that left, with the history it asked
// for if the join had not completed.
func (r *room) dropResource(full string) {
	r.resources.Delete(full)
	r.forgetHistory(full)
}

// occupantByResource finds an occupant by the resourcepart clients use
// for them (the nick, or its escaped form: occupantResource); an unknown
// one comes back with the resourcepart as its nick.
func (r *room) occupantByResource(res string) bridges.Occupant {
	if o, ok := r.occupants.Get(res); ok {
		return o
	}
	for _, o := range r.occupants.All() {
		if occupantResource(o.Nick) == res {
			return o
		}
	}
	return bridges.Occupant{Nick: res}
}

// isRoom asks the bridge whether a local part names a room.
func (t *Transport) isRoom(local string) bool {
	ra, ok := t.bridge.(bridges.RoomAddresser)
	return ok && local != "" && ra.IsRoom(local)
}

// roomOp queues room work on the session; without group chats on this
// network it fails with feature-not-implemented.
func (u *user) roomOp(n *xmlnode.Node, what string, run func(context.Context, bridges.Rooms) error, done func(*user, error)) {
	u.sessionOp(n, what, func(ctx context.Context, s bridges.Session) error {
		rooms, ok := s.(bridges.Rooms)
		if !ok {
			return bridges.Errorf("feature-not-implemented", "this network has no group chats")
		}
		return run(ctx, rooms)
	}, done)
}

// roomPresence handles joins, nick changes and leaves.
func (u *user) roomPresence(n *xmlnode.Node, from, to jid.JID) {
	typ := n.Attr("type")
	if typ == "error" {
		return
	}
	if typ == "unavailable" {
		u.leaveRoom(n, to.Localpart(), from.String(), n.ChildText("", "status"))
		return
	}
	if typ != "" {
		return // subscriptions to rooms are meaningless
	}
	if !u.t.isRoom(to.Localpart()) {
		u.send(ErrorReply(n, "", "service-unavailable", "this gateway has no group chat at that address"))
		return
	}
	nick := to.Resourcepart()
	if nick == "" {
		u.send(ErrorReply(n, Modify, "jid-malformed", "join with a nickname: room@gateway/nick"))
		return
	}
	if !u.needSession(n) {
		return
	}
	local := to.Localpart()
	r := u.rooms[local]
	if r == nil {
		r = &room{local: local}
		u.rooms[local] = r
	}
	full := from.String()
	u.roomsChanged = true
	if prev, in := r.resources.Get(full); in && r.joined && prev != nick && nick != r.nick {
		r.resources.Set(full, nick)
		u.roomOp(n, "change nick", func(ctx context.Context, rooms bridges.Rooms) error {
			return rooms.ChangeNick(ctx, local, nick)
		}, func(u *user, err error) {
			if err != nil {
				cond, text := u.t.userError(err, "nick change failed")
				u.send(ErrorReply(n, "", string(cond), text))
			}
		})
		return
	}
	r.resources.Set(full, nick)
	if n.Child(nsMUC, "x") != nil { // a join, not a status change: history too
		if r.history == nil {
			r.history = map[string]historyRequest{}
		}
		r.history[full] = parseHistory(n, u.t.now())
	}
	if r.joined {
		u.replayRoom(r, full)
		return
	}
	if r.requested != "" {
		return // a join is in flight; this resource gets the replay with it
	}
	r.requested = nick
	password := ""
	if x := n.Child(nsMUC, "x"); x != nil {
		password = x.ChildText(nsMUC, "password")
	}
	u.roomOp(n, "join", func(ctx context.Context, rooms bridges.Rooms) error {
		return rooms.JoinRoom(ctx, local, nick, password)
	}, func(u *user, err error) {
		if err != nil {
			cond, text := u.t.userError(err, "could not join")
			u.roomJoinFailed(local, cond, text)
		}
	})
}

// leaveRoom takes one resource out of a room. The last one parts the
// network room first and is confirmed once the network was told, so the
// confirmation means the user is gone from it.
func (u *user) leaveRoom(n *xmlnode.Node, local, full, status string) {
	r := u.rooms[local]
	if r == nil {
		return
	}
	if !r.resources.Has(full) {
		return
	}
	bye := u.selfPresence(r, full, "unavailable", nil)
	u.roomsChanged = true
	if r.resources.Len() > 1 {
		r.dropResource(full)
		u.send(bye)
		return
	}
	if r.joined && u.persistentRoom(local) {
		// configure: persistent keeps the user on the network's room.
		r.dropResource(full)
		u.send(bye)
		return
	}
	delete(u.rooms, local)
	if r.inArchive() {
		u.t.archive.member(u.jid, local, false)
	}
	if !r.joined && r.requested == "" {
		u.send(bye) // nothing reached the network
		u.maybeCloseIdle()
		return
	}
	u.roomOp(n, "leave", func(ctx context.Context, rooms bridges.Rooms) error {
		return rooms.LeaveRoom(ctx, local, status)
	}, func(u *user, err error) {
		if err != nil && !errors.Is(err, errNoSession) {
			u.t.log.Warn("leaving room", "user", u.jid, "room", local, "error", err)
		}
		u.send(bye)
		u.maybeCloseIdle()
	})
}

// replayRoom sends one resource the occupants, its own presence (status
// codes 110, 100 and 210 when the network changed its nick) and the subject,
// in the order clients rely on.
func (u *user) replayRoom(r *room, full string) {
	for _, o := range r.occupants.All() { // sorted by nick
		u.send(u.occupantPresence(r, o, full, ""))
	}
	codes := []string{"110", "100"}
	if asked, _ := r.resources.Get(full); r.nick != asked {
		codes = append(codes, "210")
	}
	u.send(u.selfPresence(r, full, "", codes))
	u.sendHistory(r, full)
	subj := xmlnode.New("", "message").SetAttr("type", "groupchat").SetAttr("id", newID()).
		SetAttr("from", u.roomJID(r.local, r.subjectBy)).SetAttr("to", full).
		Add(xmlnode.Elem("", "subject", r.subject))
	u.send(subj)
}

func mucItem(o bridges.Occupant, puppet string) *xmlnode.Node {
	item := xmlnode.New(nsMUCUser, "item").
		SetAttr("affiliation", nonEmpty(o.Affiliation, "none")).
		SetAttr("role", nonEmpty(o.Role, "participant"))
	if puppet != "" {
		item.SetAttr("jid", puppet)
	}
	return item
}

// occupantPresence is another occupant's presence as one resource sees it.
func (u *user) occupantPresence(r *room, o bridges.Occupant, full, typ string) *xmlnode.Node {
	puppet := ""
	if o.Peer != "" {
		puppet = u.t.puppet(o.Peer)
	}
	p := presence(u.roomJID(r.local, o.Nick), full, typ)
	if typ == "" {
		if o.Away != "" {
			p.Add(xmlnode.Elem("", "show", "away"))
		}
		if status := occupantStatus(o); status != "" {
			p.Add(xmlnode.Elem("", "status", status))
		}
	}
	return p.Add(xmlnode.New(nsMUCUser, "x").Add(mucItem(o, puppet)))
}

// occupantStatus is an occupant's status text: their away text, then who
// they are (Occupant.About), e.g. "lunch · Bob Smith · account bob".
func occupantStatus(o bridges.Occupant) string {
	switch {
	case o.About == "":
		return o.Away
	case o.Away == "":
		return o.About
	}
	return o.Away + " · " + o.About
}

// selfPresence is the user's own occupant presence with status codes.
func (u *user) selfPresence(r *room, full, typ string, codes []string) *xmlnode.Node {
	nick := r.nick
	if nick == "" {
		nick, _ = r.resources.Get(full)
	}
	self := r.self
	if typ == "unavailable" {
		self.Role = "none"
	}
	x := xmlnode.New(nsMUCUser, "x").Add(mucItem(self, full))
	for _, c := range codes {
		x.Add(xmlnode.New(nsMUCUser, "status").SetAttr("code", c))
	}
	if typ == "unavailable" && len(codes) == 0 {
		x.Add(xmlnode.New(nsMUCUser, "status").SetAttr("code", "110"))
	}
	return presence(u.roomJID(r.local, nick), full, typ).Add(x)
}

// broadcast sends a stanza built per resource to every joined resource.
func (u *user) broadcast(r *room, build func(full string) *xmlnode.Node) {
	for full := range r.resources.All() {
		u.send(build(full))
	}
}

// roomMessage sends a user's group chat message and reflects it to every
// joined resource with the client's id, as XEP-0045 requires, once the
// network took it.
func (u *user) roomMessage(n *xmlnode.Node, from, to jid.JID, body string) {
	r := u.rooms[to.Localpart()]
	if r == nil || !r.joined || !r.seated(from.String()) {
		u.send(ErrorReply(n, "", "not-acceptable", "join the room first"))
		return
	}
	local := r.local
	if inv := n.Child(nsMUCUser, "x").Child(nsMUCUser, "invite"); inv != nil {
		u.roomInvite(n, local, inv)
		return
	}
	subject := n.Child("", "subject")
	if body == "" && subject != nil {
		text := subject.Text
		u.roomOp(n, "set subject", func(ctx context.Context, rooms bridges.Rooms) error {
			return rooms.SetSubject(ctx, local, text)
		}, func(u *user, err error) {
			if err != nil {
				cond, text := u.t.userError(err, "could not change the subject")
				u.send(ErrorReply(n, "", string(cond), text))
			}
		})
		return
	}
	m := outboundMessage(n, body)
	m.Peer, m.Sender = local, from.String() // a refusal goes back to the resource that sent it
	echoes := false                         // written by the op, read after it
	u.roomOp(n, "send to room", func(ctx context.Context, rooms bridges.Rooms) error {
		_, echoes = rooms.(bridges.RoomEchoer)
		return rooms.SendRoom(ctx, local, m)
	}, func(u *user, err error) {
		if err != nil {
			cond, text := u.t.userError(err, "message not delivered")
			u.send(ErrorReply(n, "", string(cond), text))
			return
		}
		if !echoes { // a RoomEchoer reports the reflection itself
			u.reflect(local, n, body)
		}
	})
}

// reflect shows a sent room message to every resource joined, with the
// client's id and origin-id, so clients mark it sent.
func (u *user) reflect(local string, n *xmlnode.Node, body string) {
	r := u.rooms[local]
	if r == nil {
		return
	}
	// The user's own line is archived like any other: other users'
	// sessions hearing it get the same id.
	sid, _ := u.t.archive.said(u.sessGen, local, r.nick, body)
	oid := n.Child(nsStanzaID, "origin-id")
	from := u.roomJID(r.local, r.nick)
	u.broadcast(r, func(full string) *xmlnode.Node {
		out := xmlnode.New("", "message").SetAttr("type", "groupchat").SetAttr("id", n.Attr("id")).
			SetAttr("from", from).SetAttr("to", full).
			Add(xmlnode.Elem("", "body", body), u.stanzaID(r.local, sid))
		if oid != nil {
			out.Add(oid.Copy())
		}
		return out
	})
}

// outboundMessage turns a stanza into a bridge message, mapping "/me".
func outboundMessage(n *xmlnode.Node, body string) bridges.Message {
	m := bridges.Message{ID: n.Attr("id"), Body: body, OriginID: n.Child(nsStanzaID, "origin-id").Attr("id"),
		Subject: n.ChildText("", "subject"), Thread: n.ChildText("", "thread"),
		WantsReceipt: n.Child(nsReceipts, "request") != nil}
	for _, x := range n.ChildrenNamed(nsOOB, "x") {
		if url := x.TrimmedText(); url != "" {
			m.MediaURLs = append(m.MediaURLs, url)
		} else if url := x.ChildText(nsOOB, "url"); url != "" {
			m.MediaURLs = append(m.MediaURLs, strings.TrimSpace(url))
		}
	}
	if m.ReplyTo, m.Body = replyOf(n, body); m.ReplyTo != "" {
		m.Fallback = body // XEP-0461: the body with the client's quote
	}
	if len(m.Body) > 4 && m.Body[:4] == "/me " {
		m.Action, m.Body = true, m.Body[4:]
	}
	return m
}

// roomsGone tells every joined resource that the connection is gone
// (status 332) and forgets the rooms.
func (u *user) roomsGone() {
	u.roomsChanged = u.roomsChanged || len(u.rooms) > 0
	for local, r := range u.rooms {
		if r.inArchive() {
			u.t.archive.member(u.jid, local, false)
		}
		for full := range r.resources.All() {
			p := u.selfPresence(r, full, "unavailable", []string{"110", "332"})
			u.send(p)
		}
		delete(u.rooms, local)
	}
}

func (u *user) roomJoinFailed(local string, cond bridges.Condition, text string) {
	r := u.rooms[local]
	if r == nil {
		return
	}
	for full, nick := range r.resources.All() {
		p := presence(u.roomJID(local, nick), full, "")
		u.send(ErrorReply(p.SetAttr("from", full).SetAttr("to", u.roomJID(local, nick)), "", string(cond), text))
	}
	if !r.joined {
		if r.rejoining {
			u.t.archive.member(u.jid, local, false)
		}
		delete(u.rooms, local)
		u.roomsChanged = true
	}
}

// registerImplicitly registers a user who starts using the network
// without registering, when the bridge and operator allow it; false means
// they may not. The stanza's own work is queued after the registration
// and skipped if it fails, which is reported on the stanza.
func (u *user) registerImplicitly(n *xmlnode.Node) bool {
	ir, ok := u.t.bridge.(bridges.ImplicitRegistrar)
	if !ok {
		return false
	}
	hint := ""
	if to, err := jid.Parse(n.Attr("to")); err == nil {
		hint = to.Resourcepart()
	}
	values, ok := ir.ImplicitRegistration(u.jid, hint)
	if !ok {
		return false
	}
	u.register(values, func(u *user, err error) {
		if err == nil {
			return
		}
		cond, text := u.t.userError(err, "implicit registration failed")
		u.t.log.Info("implicit registration refused", "user", u.jid, "reason", text)
		u.send(ErrorReply(n, "", string(cond), "could not register you: "+text))
	})
	return u.registering || u.acct != nil
}

// stanzaID is the room's XEP-0359 id for a message, the same for every
// resource, so clients can deduplicate and reference it.
func (u *user) stanzaID(room, id string) *xmlnode.Node { return stanzaIDElem(u.t.puppet(room), id) }

// stanzaIDElem is an XEP-0359 stanza-id given by the room's bare JID.
func stanzaIDElem(roomJID, id string) *xmlnode.Node {
	return xmlnode.New(nsStanzaID, "stanza-id").SetAttr("id", id).SetAttr("by", roomJID)
}

// roomInvite forwards a mediated invitation to the network.
func (u *user) roomInvite(n *xmlnode.Node, local string, inv *xmlnode.Node) {
	to, err := jid.Parse(inv.Attr("to"))
	if err != nil || to.Domainpart() != u.t.domain || to.Localpart() == "" {
		u.send(ErrorReply(n, "", "jid-malformed", "invite a contact of this gateway"))
		return
	}
	peer, reason := to.Localpart(), inv.ChildText(nsMUCUser, "reason")
	u.sessionOp(n, "invite", func(ctx context.Context, s bridges.Session) error {
		inviter, ok := s.(bridges.Inviter)
		if !ok {
			return bridges.Errorf("feature-not-implemented", "this network has no invitations")
		}
		return inviter.Invite(ctx, local, peer, reason)
	}, func(u *user, err error) {
		if err != nil {
			cond, text := u.t.userError(err, "invitation failed")
			u.send(ErrorReply(n, "", string(cond), text))
		}
	})
}

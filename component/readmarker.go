package component

import (
	"context"
	"errors"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
)

// Displayed markers (XEP-0333) and the network's read marks
// (bridges.ReadMarker): reading on one of the user's devices clears the
// unread messages on the others, XMPP and IRC alike. In a room, a
// displayed marker from the user's own occupant is what their XMPP
// clients take as "read here up to that stanza-id".

const nsMarkers = "urn:xmpp:chat-markers:0"

// markDisplayed passes a displayed marker from one of the user's clients
// on: to their other resources in a room at once (as a MUC reflects it),
// and to the network as the time of the message displayed. It never
// opens a session, and a marker for a message Ferry cannot date is
// dropped: a marker gets no error.
func (u *user) markDisplayed(n *xmlnode.Node, from, to jid.JID, id string) {
	c, ok := u.conversation(n, from, to)
	if !ok {
		return
	}
	inRoom := c.Nick == "" && u.t.isRoom(c.Peer)
	if r := u.rooms[c.Peer]; inRoom && r != nil {
		if r.readID == id {
			return // shown and marked already: a client repeating itself costs nothing
		}
		u.showRead(r, id)
	}
	if u.sess != sessOpen {
		return
	}
	owner := u.jid
	u.do(op{what: "read mark", run: func(ctx context.Context, lg *legacy) error {
		s, err := lg.session()
		if err != nil {
			return nil
		}
		rm, ok := s.(bridges.ReadMarker)
		if !ok {
			return nil
		}
		at, err := u.t.sentAt(ctx, owner, c.Peer, id, inRoom)
		if err != nil {
			return err
		}
		return rm.MarkRead(ctx, c, at)
	}, done: func(u *user, err error) {
		if err != nil {
			u.t.log.Debug("read mark not sent", "user", u.jid, "to", c.Peer, "id", id, "error", err)
		}
	}})
}

// sentAt is when the message id reached Ferry: a room's archive keeps it
// by stanza-id (the network's time where it gave one), a chat's id map
// by the id Ferry gave it.
func (t *Transport) sentAt(ctx context.Context, user, peer, id string, inRoom bool) (time.Time, error) {
	if !inRoom {
		m, err := t.store.MessageByXMPPID(ctx, t.domain, user, id)
		return m.CreatedAt, err
	}
	page, err := t.archive.query(ctx, registry.ArchiveQuery{Room: peer, JID: user, IDs: []string{id}, Max: 1})
	if err != nil {
		return time.Time{}, err
	}
	if len(page.Messages) == 0 {
		return time.Time{}, registry.ErrNotFound
	}
	return page.Messages[0].At, nil
}

// showRead shows every resource in the room that the user read up to the
// message id, as a displayed marker from their own occupant; the same
// mark is not shown twice.
func (u *user) showRead(r *room, id string) {
	if id == "" || id == r.readID || !r.joined {
		return
	}
	r.readID = id
	from := u.roomJID(r.local, r.nick)
	u.broadcast(r, func(full string) *xmlnode.Node {
		return xmlnode.New("", "message").SetAttr("type", "groupchat").SetAttr("id", newID()).
			SetAttr("from", from).SetAttr("to", full).
			Add(xmlnode.New(nsMarkers, "displayed").SetAttr("id", id), xmlnode.New(nsHints, "no-store"))
	})
}

// MarkedRead shows the network's read mark on the user's clients. In a
// room: the newest message they may read up to that time, to the
// resources in it; a mark that comes before the join completes (IRC
// sends it with the JOIN) waits for the history the join replays. In a
// chat: a displayed marker of the message lastID, as the user's own
// (an XEP-0280 "sent" carbon, where the server granted the XEP-0356
// message permission; without it, or for a message Ferry never
// delivered, nothing is shown).
func (s *sink) MarkedRead(c bridges.Conversation, at time.Time, lastID string) {
	if !s.t.isRoom(c.Peer) {
		s.chatRead(c.Peer, lastID)
		return
	}
	s.room(c.Peer, func(u *user, r *room) {
		if !r.joined {
			r.readAt = at
			return
		}
		u.showReadAt(r, at)
	})
}

// showReadAt shows the mark of the newest message up to at.
func (u *user) showReadAt(r *room, at time.Time) {
	if at.IsZero() {
		return
	}
	ctx, cancel := context.WithTimeout(u.t.ctx, readTimeout)
	defer cancel()
	page, err := u.t.archive.query(ctx, registry.ArchiveQuery{Room: r.local, JID: u.jid, End: at, Max: 1, Last: true, NoSubjects: true})
	if err != nil {
		if !errors.Is(err, registry.ErrNoAccess) {
			u.t.log.Warn("reading the room's read mark", "user", u.jid, "room", r.local, "error", err)
		}
		return
	}
	if len(page.Messages) == 1 {
		u.showRead(r, page.Messages[0].ID)
	}
}

// joinedRead shows a read mark that came with the join, once the join's
// history is out.
func (u *user) joinedRead(r *room) {
	at := r.readAt
	r.readAt = time.Time{}
	u.showReadAt(r, at)
}

// chatRead shows the user's clients that they read the chat with peer up
// to the message lastID.
func (s *sink) chatRead(peer, lastID string) {
	puppet := s.t.puppet(peer)
	g, ok := s.t.grantFor(s.user)
	if lastID == "" || puppet == "" || !ok || g.message != "outgoing" {
		return
	}
	ctx, cancel := context.WithTimeout(s.t.ctx, storeTimeout)
	defer cancel()
	m, err := s.t.store.MessageByLegacyID(ctx, s.t.domain, s.user, lastID)
	if err != nil {
		s.t.log.Debug("a read mark of a message Ferry never delivered", "user", s.user, "peer", peer, "error", err)
		return
	}
	user, err := jid.Parse(s.user)
	if err != nil {
		return
	}
	inner := xmlnode.New(nsClient, "message").SetAttr("from", s.user).SetAttr("to", puppet).
		SetAttr("type", "chat").SetAttr("id", newID()).
		Add(xmlnode.New(nsMarkers, "displayed").SetAttr("id", m.XMPPID))
	s.t.sendTo(s.user, sentCarbon(s.t.domain, user.Domainpart(), g.ns, s.user, inner))
}

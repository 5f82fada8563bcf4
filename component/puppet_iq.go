package component

import (
	"context"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"mellium.im/xmpp/jid"
)

// puppetIQ serves IQs addressed to a puppet, a room or a room occupant.
func (u *user) puppetIQ(n, q *xmlnode.Node, from, to jid.JID, get, set bool) {
	local := to.Localpart()
	isRoom := u.t.isRoom(local)
	peer := local
	if r := u.rooms[local]; r != nil && to.Resourcepart() != "" {
		peer = r.occupantByResource(to.Resourcepart()).Peer
	}
	occupant := to.Resourcepart() != "" && isRoom
	ownNick := occupant && u.rooms[local] != nil && to.Resourcepart() == occupantResource(u.rooms[local].nick)
	switch {
	case get && q.Space == nsPing && (ownNick || occupant && peer == ""):
		u.selfPing(n, from, to) // XEP-0410
	case get && q.Space == nsPing && peer != "" && !u.t.isRoom(peer):
		u.query(n, func(ctx context.Context, queries bridges.Queries) (*xmlnode.Node, error) {
			return nil, queries.Ping(ctx, peer)
		}, func() *xmlnode.Node { return Result(n) })
	case get && q.Space == nsPing:
		u.send(Result(n))
	case get && q.Space == nsVersion && peer != "" && !u.t.isRoom(peer):
		u.query(n, func(ctx context.Context, queries bridges.Queries) (*xmlnode.Node, error) {
			name, version, os, err := queries.Version(ctx, peer)
			if err != nil {
				return nil, err
			}
			q := xmlnode.New(nsVersion, "query").Add(xmlnode.Elem(nsVersion, "name", name), xmlnode.Elem(nsVersion, "version", version))
			if os != "" {
				q.Add(xmlnode.Elem(nsVersion, "os", os))
			}
			return q, nil
		}, func() *xmlnode.Node { return ErrorReply(n, "", "service-unavailable", "") })
	case get && q.Space == nsDiscoInfo:
		info := xmlnode.New(nsDiscoInfo, "query").Add(
			xmlnode.New(nsDiscoInfo, "identity").SetAttr("category", "client").SetAttr("type", "pc"),
			xmlnode.New(nsDiscoInfo, "feature").SetAttr("var", nsDiscoInfo),
			xmlnode.New(nsDiscoInfo, "feature").SetAttr("var", nsPing))
		if u.t.desc.Receipts {
			info.Add(xmlnode.New(nsDiscoInfo, "feature").SetAttr("var", nsReceipts))
		}
		u.t.signalFeatures(info)
		u.send(Result(n, info))
	case set && q.Space == nsMAM && q.Local == "query" && isRoom && to.Resourcepart() == "":
		u.mamQuery(n, q, from.String(), local)
	case get && q.Space == nsMAM && q.Local == "query" && isRoom && to.Resourcepart() == "":
		u.send(Result(n, mamForm()))
	case get && q.Space == nsDiscoItem && !isRoom && to.Resourcepart() == "" && q.Attr("node") == "":
		u.listRooms(n, q, local) // a network's channels
	case set && q.Space == nsMUCAdmin:
		u.moderate(n, q, from, to)
	case set && q.Space == nsCommands && to.Resourcepart() == "":
		u.addressCommandIQ(n, q, from, local)
	case get && q.Space == nsDiscoItem && q.Attr("node") == nsCommands && to.Resourcepart() == "":
		u.send(Result(n, u.addressCommandItems(addressKey(local), to.String())))
	default:
		u.send(ErrorReply(n, "", "service-unavailable", ""))
	}
}

// query asks the legacy network on a goroutine of its own, so a slow peer
// holds up neither the actor nor the user's other work, and answers the
// IQ when it knows. Without a session that can ask, fallback answers.
func (u *user) query(n *xmlnode.Node, ask func(context.Context, bridges.Queries) (*xmlnode.Node, error), fallback func() *xmlnode.Node) {
	u.askSession(n, func(s bridges.Session) (func(context.Context) (*xmlnode.Node, error), bool) {
		queries, ok := s.(bridges.Queries)
		return func(ctx context.Context) (*xmlnode.Node, error) { return ask(ctx, queries) }, ok
	}, fallback)
}

// askSession is query for any question a session may answer: asker
// returns the question, or false when the session cannot answer it (the
// fallback answers then, as it does without a session).
func (u *user) askSession(n *xmlnode.Node, asker func(bridges.Session) (func(context.Context) (*xmlnode.Node, error), bool), fallback func() *xmlnode.Node) {
	if u.sess != sessOpen && u.sess != sessOpening {
		u.send(fallback())
		return
	}
	t, bare := u.t, u.jid
	u.sessionOp(n, "query", func(_ context.Context, s bridges.Session) error {
		ask, ok := asker(s)
		if !ok {
			t.sendTo(bare, fallback())
			return nil
		}
		t.sup.Go("query for "+bare, func() {
			ctx, cancel := context.WithTimeout(t.ctx, 20*time.Second)
			defer cancel()
			payload, err := ask(ctx)
			if err != nil {
				cond, text := t.userError(err, "no answer")
				if ctx.Err() != nil {
					cond, text = bridges.RemoteServerTmout, "no answer from the legacy network"
				}
				t.sendTo(bare, ErrorReply(n, "", string(cond), text))
				return
			}
			t.sendTo(bare, Result(n, payload))
		})
		return nil
	}, func(u *user, err error) {
		if err != nil {
			u.send(fallback())
		}
	})
}

// selfPing answers XEP-0410: a client pings its own occupant JID to learn
// whether it is still in the room.
func (u *user) selfPing(n *xmlnode.Node, from, to jid.JID) {
	if to.Resourcepart() == "" || !u.t.isRoom(to.Localpart()) {
		u.send(Result(n))
		return
	}
	r := u.rooms[to.Localpart()]
	if r != nil && r.inArchive() && r.seated(from.String()) { // joined, or being restored
		u.send(Result(n))
		return
	}
	u.send(ErrorReply(n, "", "not-acceptable", "you are not in this room"))
}

// roomInfo describes a room: category conference with the network's type
// (irc, as biboumi says), and the MUC features clients look for.
func (t *Transport) roomInfo(local string) *xmlnode.Node {
	q := xmlnode.New(nsDiscoInfo, "query").Add(
		xmlnode.New(nsDiscoInfo, "identity").SetAttr("category", "conference").
			SetAttr("type", nonEmpty(t.desc.IdentityType, "text")).SetAttr("name", local))
	for _, f := range []string{nsMUC, "muc_nonanonymous", "muc_open", "muc_public", "muc_unsecured", nsStanzaID, nsMAM, nsMAMExt, nsDiscoInfo, nsPing} {
		q.Add(xmlnode.New(nsDiscoInfo, "feature").SetAttr("var", f))
	}
	t.signalFeatures(q)
	return q
}

// moderate maps muc#admin role and affiliation changes (kick, voice, op,
// ban) to the network's moderation.
func (u *user) moderate(n, q *xmlnode.Node, from, to jid.JID) {
	if !u.needSession(n) {
		return
	}
	r := u.rooms[to.Localpart()]
	if r == nil || !r.joined || !r.seated(from.String()) {
		u.send(ErrorReply(n, "", "not-acceptable", "join the room first"))
		return
	}
	type change struct{ nick, role, affiliation, reason string }
	var changes []change
	for _, item := range q.ChildrenNamed(nsMUCAdmin, "item") {
		nick := item.Attr("nick")
		if nick == "" {
			u.send(ErrorReply(n, "", "bad-request", "name the occupant by nick"))
			return
		}
		changes = append(changes, change{r.occupantByResource(nick).Nick, item.Attr("role"), item.Attr("affiliation"), item.ChildText(nsMUCAdmin, "reason")})
	}
	local := r.local
	u.sessionOp(n, "moderate", func(ctx context.Context, s bridges.Session) error {
		mod, ok := s.(bridges.Moderation)
		if !ok {
			return bridges.Errorf("feature-not-implemented", "this network has no moderation")
		}
		for _, c := range changes {
			if err := mod.Moderate(ctx, local, c.nick, c.role, c.affiliation, c.reason); err != nil {
				return err
			}
		}
		return nil
	}, func(u *user, err error) {
		if err != nil {
			cond, text := u.t.userError(err, "moderation failed")
			u.send(ErrorReply(n, "", string(cond), text))
			return
		}
		u.send(Result(n))
	})
}

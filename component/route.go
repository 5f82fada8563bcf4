package component

import (
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"mellium.im/xmpp/jid"
)

// handle runs on the link's reader goroutine: it answers what is cheap and
// stateless at once and hands everything else to the sender's actor.
func (t *Transport) handle(n *xmlnode.Node) {
	defer t.sup.Recover("route "+n.Local+" from "+n.Attr("from"), nil)
	t.route(n)
}

func (t *Transport) route(n *xmlnode.Node) {
	if t.privilegeStanza(n) {
		return // XEP-0356: the server's grant, or the answer to a roster push
	}
	typ := n.Attr("type")
	if typ == "error" {
		t.bounced(n)
		return // errors are never answered (RFC 6120 §8.3.1)
	}
	if n.Local == "iq" && typ == "result" {
		return // a stray result
	}
	from, fromKnown, err := t.jids.parseKnown(n.Attr("from"))
	if err != nil || from.Localpart() == "" && from.Domainpart() == "" {
		t.reply(ErrorReply(n, "", "jid-malformed", "invalid sender address"))
		return
	}
	to, toKnown, err := t.jids.parseKnown(n.Attr("to"))
	if err != nil || to.Domainpart() != t.domain {
		t.reply(ErrorReply(n, "", "jid-malformed", "invalid recipient address"))
		return
	}
	if n.Local == "iq" && t.answerInline(n, to) {
		return
	}
	if t.stoppingAt.Load() {
		if n.Local != "presence" {
			t.reply(ErrorReply(n, Wait, "service-unavailable", "the gateway is restarting; try again in a moment"))
		}
		return
	}
	limit := stanzaLimit
	if n.Local == "presence" {
		limit = presenceLimit
	}
	bare := from.Bare().String()
	handle := func(u *user) { u.handle(n, from, to) }
	if !fromKnown || !toKnown {
		handle = func(u *user) { u.handle(n, from, to); u.rememberAddresses(n, from, to) }
	}
	if t.postNow(bare, handle, limit) {
		return
	}
	t.refusals.refused(t.log, bare, n.Local)
	if n.Local == "presence" {
		if typ == "" || typ == "unavailable" {
			t.reply(ErrorReply(n, Wait, "resource-constraint", "too many requests in flight; try again"))
		}
		return
	}
	t.reply(ErrorReply(n, Wait, "resource-constraint", "too many requests in flight; try again"))
}

// answerInline serves disco, version and ping for the transport itself.
func (t *Transport) answerInline(n *xmlnode.Node, to jid.JID) bool {
	q := n.FirstChild()
	if q == nil {
		t.reply(ErrorReply(n, "", "bad-request", "empty IQ"))
		return true
	}
	get := n.Attr("type") == "get"
	switch {
	case get && q.Space == nsDiscoInfo && q.Attr("node") == "" && to.Resourcepart() == "" && t.isRoom(to.Localpart()):
		// A room is a room to anyone, registered or not: clients ask
		// before joining and refuse anything else as "not a group chat".
		t.reply(Result(n, t.roomInfo(to.Localpart())))
	case to.Localpart() != "":
		return false // puppets, rooms and occupants need the user's state
	case q.Space == nsPing && q.Local == "ping":
		t.reply(Result(n))
	case get && q.Space == nsVersion:
		t.reply(Result(n, xmlnode.New(nsVersion, "query").Add(
			xmlnode.Elem(nsVersion, "name", "Ferry"),
			xmlnode.Elem(nsVersion, "version", t.version))))
	case get && q.Space == nsDiscoInfo && q.Attr("node") == "":
		t.reply(Result(n, t.discoInfo()))
	case get && q.Space == nsDiscoItem && q.Attr("node") == "":
		t.reply(Result(n, xmlnode.New(nsDiscoItem, "query")))
	default:
		return false
	}
	return true
}

// discoInfo describes the transport as a gateway so Gajim shows its page.
func (t *Transport) discoInfo() *xmlnode.Node {
	q := xmlnode.New(nsDiscoInfo, "query").Add(
		xmlnode.New(nsDiscoInfo, "identity").SetAttr("category", "gateway").
			SetAttr("type", t.desc.IdentityType).SetAttr("name", t.name))
	for _, f := range []string{nsDiscoInfo, nsDiscoItem, nsRegister, nsGateway, nsCommands, nsPing, nsVersion} {
		q.Add(xmlnode.New(nsDiscoInfo, "feature").SetAttr("var", f))
	}
	return q
}

// rememberAddresses keeps a stanza's parsed addresses for the next stanza
// of a user whose state the actor keeps (registered, or in a room); a
// stranger's are parsed again next time rather than kept.
func (u *user) rememberAddresses(n *xmlnode.Node, from, to jid.JID) {
	if u.acct == nil && len(u.rooms) == 0 {
		return
	}
	u.t.jids.remember(n.Attr("from"), from)
	u.t.jids.remember(n.Attr("to"), to)
}

package component

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// XEP-0356 (Privileged Entity). Right after the handshake a server that
// grants the transport permissions sends, once per virtual host,
//
//	<message from='example.org'><privilege xmlns='urn:xmpp:privilege:2'>
//	  <perm access='roster' type='both'/><perm access='message' type='outgoing'/>
//	</privilege></message>
//
// Prosody's mod_privilege uses namespace :2, ejabberd 23.01 the older :1;
// the stanzas Ferry sends with a permission are the same in both, in the
// namespace the server announced.
const (
	nsPrivilege1 = "urn:xmpp:privilege:1"
	nsPrivilege2 = "urn:xmpp:privilege:2"
	nsRoster     = "jabber:iq:roster"
	nsForward    = "urn:xmpp:forward:0"
	nsCarbons    = "urn:xmpp:carbons:2"
	nsClient     = "jabber:client"
)

// rosterIQPrefix marks the ids of roster pushes, so their answers are
// recognised (and an error logged) instead of being dropped as stray.
const rosterIQPrefix = "roster-"

// grant is what one virtual host of the server allows this transport.
type grant struct {
	ns      string // the privilege namespace the server used
	roster  string // none, get, set or both
	message string // none or outgoing
	session *stream1
}

func (g grant) rosterSet() bool { return g.roster == "set" || g.roster == "both" }
func (g grant) rosterGet() bool { return g.roster == "get" || g.roster == "both" }

// privileges tracks the permissions granted on the current component link,
// which puppets are already in which user's roster, and the roster pushes
// waiting for the server's answer.
type privileges struct {
	mu      sync.Mutex
	grants  map[string]grant           // by the users' host
	pushed  map[string]map[string]bool // user -> puppet JIDs pushed on this link
	waiting map[string]rosterChange    // by IQ id
}

// rosterChange is one roster push sent and not answered yet.
type rosterChange struct {
	user, item string
	remove     bool
}

// maxWaiting bounds the unanswered pushes remembered; past it the oldest
// answers are simply not matched (they only matter when they are errors).
const maxWaiting = 10000

func newPrivileges() *privileges {
	return &privileges{grants: map[string]grant{}, pushed: map[string]map[string]bool{}, waiting: map[string]rosterChange{}}
}

// grantFor returns the permissions for a user's host, provided they were
// granted on the link that is up now: a server restarted without them must
// not be sent privileged stanzas.
func (t *Transport) grantFor(userJID string) (grant, bool) {
	j, err := jid.Parse(userJID)
	if err != nil {
		return grant{}, false
	}
	p := t.priv
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.grants[j.Domainpart()]
	if !ok || g.session == nil || g.session != t.link.session.Load() {
		return grant{}, false
	}
	return g, true
}

// privilegeStanza handles what the server sends about privileges: the
// permission announcement and the answers to roster pushes. It reports
// whether n was one of those. It runs on the link's reader goroutine and
// never blocks.
func (t *Transport) privilegeStanza(n *xmlnode.Node) bool {
	if n.Local == "iq" && strings.HasPrefix(n.Attr("id"), rosterIQPrefix) {
		t.priv.mu.Lock()
		change, known := t.priv.waiting[n.Attr("id")]
		delete(t.priv.waiting, n.Attr("id"))
		t.priv.mu.Unlock()
		if n.Attr("type") == "error" && known {
			t.rosterPushFailed(n, change)
		}
		return n.Attr("type") == "result" || n.Attr("type") == "error"
	}
	if n.Local != "message" || n.Attr("type") == "error" {
		return false
	}
	priv := n.Child(nsPrivilege2, "privilege")
	if priv == nil {
		priv = n.Child(nsPrivilege1, "privilege")
	}
	if priv == nil {
		return false // every other message: no address to parse
	}
	from, err := t.jids.parse(n.Attr("from"))
	if err != nil || from.Localpart() != "" || from.Resourcepart() != "" {
		return false
	}
	if to, err := t.jids.parse(n.Attr("to")); err != nil || to.Domainpart() != t.domain {
		// ejabberd sends the grants of every component sharing the
		// listener's password over each of their connections.
		return true
	}
	g := grant{ns: priv.Space, roster: "none", message: "none", session: t.link.session.Load()}
	for _, perm := range priv.Children {
		if perm.Local != "perm" {
			continue
		}
		switch perm.Attr("access") {
		case "roster":
			g.roster = perm.Attr("type")
		case "message":
			g.message = perm.Attr("type")
		}
	}
	host := from.Domainpart()
	t.priv.mu.Lock()
	t.priv.grants[host] = g
	t.priv.pushed = map[string]map[string]bool{}
	t.priv.mu.Unlock()
	t.log.Info("XEP-0356 permissions granted", "host", host, "roster", g.roster, "message", g.message, "namespace", g.ns)
	return true
}

// rosterPushFailed handles a roster change the server refused although it
// granted roster access (ejabberd 23.01 does so for every change: its
// issue 3942, fixed in later releases). Roster access is then treated as
// not granted on this link, and this change falls back to the
// subscription handshake: the transport asks to be added, and a removal
// becomes "unsubscribed".
func (t *Transport) rosterPushFailed(n *xmlnode.Node, c rosterChange) {
	cond := ""
	if e := n.Child("", "error"); e != nil && e.FirstChild() != nil {
		cond = e.FirstChild().Local
	}
	if j, err := jid.Parse(c.user); err == nil {
		t.priv.mu.Lock()
		g, ok := t.priv.grants[j.Domainpart()]
		if ok && g.rosterSet() {
			g.roster = "none"
			t.priv.grants[j.Domainpart()] = g
			t.log.Warn("the XMPP server granted roster access (XEP-0356) but refuses roster changes; using subscription requests instead",
				"host", j.Domainpart(), "condition", cond)
		}
		delete(t.priv.pushed, c.user)
		t.priv.mu.Unlock()
	}
	switch {
	case c.remove:
		t.sendTo(c.user, presence(c.item, c.user, "unsubscribed"))
		if c.item == t.domain {
			t.sendTo(c.user, presence(c.item, c.user, "unsubscribe"))
		}
	case c.item == t.domain:
		t.sendTo(c.user, presence(c.item, c.user, "subscribe"))
	}
}

// ensureContact puts a puppet the user talks to into their roster, in a
// group named after the transport, when the server lets the transport
// manage rosters. Each puppet is pushed once per link; without the
// permission nothing happens and the user subscribes as with any contact.
func (t *Transport) ensureContact(user, puppet, name string) {
	if puppet == "" {
		return
	}
	g, ok := t.grantFor(user)
	if !ok || !g.rosterSet() {
		return
	}
	t.priv.mu.Lock()
	done := t.priv.pushed[user][puppet]
	if !done {
		if t.priv.pushed[user] == nil {
			t.priv.pushed[user] = map[string]bool{}
		}
		t.priv.pushed[user][puppet] = true
	}
	t.priv.mu.Unlock()
	if done {
		return
	}
	item := xmlnode.New(nsRoster, "item").SetAttr("jid", puppet).SetAttr("subscription", "both").SetAttr("name", name)
	item.Add(xmlnode.Elem(nsRoster, "group", t.name))
	t.pushRoster(rosterChange{user: user, item: puppet}, item)
}

// removeContacts takes the transport and every puppet out of a user's
// roster on unregister, when the server lets the transport manage rosters.
// With read access the roster itself says which items are the
// transport's; otherwise known lists the puppets to remove. It reports
// whether it could (false: no permission, use the presence handshake).
func (t *Transport) removeContacts(ctx context.Context, user string, known []string) bool {
	g, ok := t.grantFor(user)
	if !ok || !g.rosterSet() {
		return false
	}
	items := append([]string{t.domain}, known...)
	if g.rosterGet() {
		if listed, err := t.rosterItems(ctx, user); err == nil {
			items = listed
		} else {
			t.log.Warn("reading a roster (XEP-0356)", "user", user, "error", err)
		}
	}
	for _, j := range items {
		t.pushRoster(rosterChange{user: user, item: j, remove: true},
			xmlnode.New(nsRoster, "item").SetAttr("jid", j).SetAttr("subscription", "remove"))
	}
	t.priv.mu.Lock()
	delete(t.priv.pushed, user)
	t.priv.mu.Unlock()
	return true
}

// pushRoster sends one roster change and remembers it until answered.
func (t *Transport) pushRoster(c rosterChange, item *xmlnode.Node) {
	iq := rosterIQ(t.domain, c.user, "set", item)
	t.priv.mu.Lock()
	if len(t.priv.waiting) >= maxWaiting {
		t.priv.waiting = map[string]rosterChange{}
	}
	t.priv.waiting[iq.Attr("id")] = c
	t.priv.mu.Unlock()
	t.sendTo(c.user, iq)
}

// rosterItems lists the items of a user's roster that are this transport
// or its puppets.
func (t *Transport) rosterItems(ctx context.Context, user string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	iq := rosterIQ(t.domain, user, "get", nil)
	iq.SetAttr("id", newID()) // answered through Request, not privilegeStanza
	resp, err := t.link.Request(ctx, iq)
	if err != nil {
		return nil, err
	}
	if resp.Attr("type") != "result" {
		return nil, fmt.Errorf("roster get answered %s", resp.String())
	}
	var out []string
	for _, it := range resp.Child(nsRoster, "query").Children {
		j, err := jid.Parse(it.Attr("jid"))
		if err == nil && j.Domainpart() == t.domain {
			out = append(out, j.String())
		}
	}
	return out, nil
}

// rosterIQ is a roster get or set addressed to a user's bare JID.
func rosterIQ(from, user, typ string, item *xmlnode.Node) *xmlnode.Node {
	q := xmlnode.New(nsRoster, "query")
	if item != nil {
		q.Add(item)
	}
	return xmlnode.New("", "iq").SetAttr("type", typ).SetAttr("id", rosterIQPrefix+newID()).
		SetAttr("from", from).SetAttr("to", user).Add(q)
}

// sentCarbon is an XEP-0280 "sent" carbon of msg (a message from the
// user's bare JID to a puppet), addressed to the user and wrapped for the
// server to deliver on the user's behalf (XEP-0356 message permission).
// The user's clients show it in the chat with the puppet as their own.
func sentCarbon(transport, host, ns, user string, msg *xmlnode.Node) *xmlnode.Node {
	carbon := xmlnode.New(nsClient, "message").SetAttr("from", user).SetAttr("to", user).
		SetAttr("type", "chat").SetAttr("id", newID()).
		Add(xmlnode.New(nsCarbons, "sent").Add(xmlnode.New(nsForward, "forwarded").Add(msg)))
	return xmlnode.New("", "message").SetAttr("from", transport).SetAttr("to", host).SetAttr("id", newID()).
		Add(xmlnode.New(ns, "privilege").Add(xmlnode.New(nsForward, "forwarded").Add(carbon)))
}

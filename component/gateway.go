package component

import (
	"context"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"mellium.im/xmpp/jid"
)

// iqGateway serves XEP-0100 jabber:iq:gateway: the prompt, and mapping what
// a user typed to the puppet JID.
func (u *user) iqGateway(n, q *xmlnode.Node, get bool) {
	if get {
		u.send(Result(n, xmlnode.New(nsGateway, "query").Add(
			xmlnode.Elem(nsGateway, "desc", u.t.desc.GatewayDesc),
			xmlnode.Elem(nsGateway, "prompt", u.t.desc.GatewayPrompt))))
		return
	}
	typed := strings.TrimSpace(q.ChildText(nsGateway, "prompt"))
	if typed == "" {
		u.send(ErrorReply(n, "", "bad-request", "empty prompt"))
		return
	}
	ctx, cancel := context.WithTimeout(u.t.ctx, 10*time.Second)
	defer cancel()
	local, err := u.t.bridge.MapPrompt(ctx, typed)
	if err != nil {
		cond, text := u.t.userError(err, "cannot map that address")
		u.send(ErrorReply(n, "", string(cond), text))
		return
	}
	j, err := jid.New(local, u.t.domain, "")
	if err != nil {
		u.send(ErrorReply(n, "", "jid-malformed", "that address cannot be written as a JID"))
		return
	}
	u.send(Result(n, xmlnode.New(nsGateway, "query").Add(
		xmlnode.Elem(nsGateway, "jid", j.String()),
		xmlnode.Elem(nsGateway, "prompt", j.String()))))
}

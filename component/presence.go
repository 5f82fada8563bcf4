package component

import (
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"mellium.im/xmpp/jid"
)

// handlePresence covers subscriptions (the transport and puppets join the
// roster like contacts), the user's availability (which drives sessions
// under the presence policy) and probes.
func (u *user) handlePresence(n *xmlnode.Node, from, to jid.JID) {
	typ := n.Attr("type")
	toTransport := to.Localpart() == ""
	if to.Resourcepart() != "" || n.Child(nsMUC, "x") != nil || u.rooms[to.Localpart()] != nil {
		if !toTransport {
			u.roomPresence(n, from, to)
			return
		}
	}
	switch typ {
	case "subscribe":
		if u.acct == nil {
			u.send(presence(to.Bare().String(), u.jid, "unsubscribed"))
			if toTransport {
				u.send(message(u.t.domain, u.jid, "Register first: send \"register\" to this address, or use your client's registration."))
			}
			return
		}
		u.send(presence(to.Bare().String(), u.jid, "subscribed"))
		if toTransport {
			u.sendTransportPresence("")
		}
	case "unsubscribe":
		if toTransport && u.acct != nil {
			u.unregister(func(u *user, err error) {
				if err == nil {
					u.send(message(u.t.domain, u.jid, "You removed the gateway from your contacts, so your registration was deleted."))
				}
			})
		}
	case "subscribed", "unsubscribed":
		// The user's answer to our subscription request: nothing to do.
	case "probe":
		if toTransport {
			u.sendTransportPresence(from.String())
		} else if u.t.isOnline(u.jid, to.Localpart()) {
			u.send(presence(to.Bare().String(), from.String(), ""))
		} else {
			u.send(presence(to.Bare().String(), from.String(), "unavailable"))
		}
	case "unavailable":
		if !toTransport {
			return
		}
		u.resources.Delete(from.Resourcepart())
		u.maybeCloseIdle()
	case "":
		if !toTransport {
			return
		}
		// No presence answer here: the user's server probes the transport
		// when they log in, and answering both shows the state twice.
		if u.acct == nil {
			return // nothing to connect: keep no state for a stranger
		}
		u.resources.Set(from.Resourcepart(), true)
		if u.acct != nil {
			u.maybeStartSession()
		}
	}
}

func (t *Transport) isOnline(user, peer string) bool {
	t.peersMu.Lock()
	defer t.peersMu.Unlock()
	return t.online[user][peer]
}

// onlinePeers returns a copy of the puppets shown online to a user.
func (t *Transport) onlinePeers(user string) map[string]bool {
	t.peersMu.Lock()
	defer t.peersMu.Unlock()
	out := map[string]bool{}
	for p := range t.online[user] {
		out[p] = true
	}
	return out
}

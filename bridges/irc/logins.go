package irc

import (
	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/ratelimit"
)

// loginKeys are the buckets one login of user (a bare JID) to server is
// charged to: the user's own and the network's, which every user of the
// gateway shares because the network sees them all come from one address.
// Every login Ferry makes for a user goes through them: registration
// checks take a token or are refused (Validate); a connection loop waits
// for one (b.logins.Wait(ctx, b.loginKeys(jid, server)...)).
func (b *Bridge) loginKeys(user, server string) []ratelimit.Key {
	return []ratelimit.Key{
		{Name: "user\x00" + user, Limit: b.opts.LoginPerUser},
		{Name: "network\x00" + server, Limit: b.opts.LoginPerNetwork},
	}
}

// tooManyLogins tells the user which limit refused the login and when to
// try again (resource-constraint, an error of type wait).
func (b *Bridge) tooManyLogins(d *ratelimit.Denied, server string) error {
	text := "You have made too many IRC logins in a short time"
	if d.Key.Name == "network\x00"+server {
		text = "This gateway has made too many logins to " + server + " in a short time"
	}
	return bridges.TryAgain(text, d)
}

package email

import (
	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/ratelimit"
)

// loginKeys are the buckets a registration's login check is charged to:
// the user's, and each mail server's (shared by every user of it).
func (b *Bridge) loginKeys(user string, a account) []ratelimit.Key {
	keys := []ratelimit.Key{
		{Name: "user\x00" + user, Limit: b.opts.LoginPerUser},
		{Name: "server\x00" + a.IMAP.Host, Limit: b.opts.LoginPerServer},
	}
	if a.SMTP.Host != a.IMAP.Host {
		keys = append(keys, ratelimit.Key{Name: "server\x00" + a.SMTP.Host, Limit: b.opts.LoginPerServer})
	}
	return keys
}

// tooManyLogins says which limit refused the registration and when to
// try again (resource-constraint, type wait).
func (b *Bridge) tooManyLogins(d *ratelimit.Denied, user string) error {
	text := "This gateway has checked too many logins to that mail server in a short time"
	if d.Key.Name == "user\x00"+user {
		text = "You have tried to register too often in a short time"
	}
	return bridges.TryAgain(text, d)
}

package irc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/ferry-xmpp/ferry/bridges/irc/ircconn"
)

// userHash names a user to IRC networks without revealing their JID: the
// same JID always gets the same name (bans and ident stay stable), and
// without the operator's key nobody can check a guessed JID against it.
// purpose keeps the names for different uses unrelated.
func userHash(key, purpose, jid string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(purpose))
	mac.Write([]byte{0})
	mac.Write([]byte(jid))
	return hex.EncodeToString(mac.Sum(nil))
}

// webirc is the WEBIRC command for one user on a network that trusts the
// gateway, or nil. XMPP tells Ferry no user's address, so the IP is the
// gateway's own and the host name is the user's hash under the operator's
// suffix: <16 hex digits>.users.<transport domain> by default.
func (b *Bridge) webirc(nw Network, jid string) *ircconn.WebIRC {
	w := nw.Operator
	if w.WebIRCPassword == "" {
		return nil
	}
	suffix := w.WebIRCHostSuffix
	if suffix == "" {
		suffix = "users." + b.domain
	}
	ip := w.WebIRCIP
	if strings.HasPrefix(ip, ":") {
		ip = "0" + ip // "::1" would read as a trailing parameter
	}
	return &ircconn.WebIRC{Password: w.WebIRCPassword, Gateway: w.WebIRCGateway,
		Hostname: userHash(b.opts.Operator.UserHashKey, "host", jid)[:16] + "." + suffix, IP: ip}
}

// ident is the user name a user's connections carry in USER and the
// identd answers with: their username setting (else their nick), or with
// ident = "hashed" a name derived from their JID (9 characters, within
// every server's USERLEN).
func (b *Bridge) ident(jid string, v map[string]string, nick string) string {
	if b.opts.Operator.Ident == identHashed {
		return "f" + userHash(b.opts.Operator.UserHashKey, "ident", jid)[:8]
	}
	return nonEmpty(v["username"], nick)
}

// logDialError tells the operator about a failed connection that is
// theirs to fix: the user only reads that the gateway is misconfigured.
func (b *Bridge) logDialError(server string, err error) {
	var ie *ircconn.Error
	if errors.As(err, &ie) && ie.Kind == ircconn.KindWebIRC {
		b.log.Error("irc: the network refused the WEBIRC password; check webirc_password", "network", server, "reply", ie.Text)
	}
}

// whoFixes tells the user, after a permanent failure, what to do: most are
// theirs to fix, a refused WEBIRC password is the operator's.
func whoFixes(err error) string {
	var ie *ircconn.Error
	if errors.As(err, &ie) && ie.Kind == ircconn.KindWebIRC {
		return "The gateway's operator must fix its configuration; please tell them."
	}
	return "Fix your registration, then send \"reconnect\" to the gateway."
}

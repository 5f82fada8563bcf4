package e2e

import (
	"strings"
	"testing"

	"github.com/ergochat/irc-go/ircmsg"
	"github.com/ferry-xmpp/ferry/config"
	"github.com/ferry-xmpp/ferry/internal/testenv"
)

const operatorHashKey = "e2e-user-hash-key-0123456789"

// startIRCOperator is startIRC with operator options: options for the
// transport, network for the irc.test network's table.
func startIRCOperator(t *testing.T, ngircd testenv.NgircdOptions, options, network map[string]any) *ircSetup {
	t.Helper()
	testenv.NeedNgircd(t)
	srv := testenv.StartNgircd(t, ngircd)
	nw := map[string]any{"name": srv.Name, "address": srv.Addr, "tls": false}
	for k, v := range network {
		nw[k] = v
	}
	opts := map[string]any{"network": []map[string]any{nw}, "burst": int64(50), "rate": float64(50),
		"reconnect_min": "50ms", "reconnect_max": "500ms"}
	for k, v := range options {
		opts[k] = v
	}
	s := startOn(t, "prosody", serverOptions{}, func(c *config.Config) {
		c.Transports = []config.Transport{{Kind: "irc", Domain: ircDomain, Secret: secret, Name: "IRC", Options: opts}}
	})
	return &ircSetup{setup: s, irc: srv}
}

// joinTest joins #test as nick and waits for the subject, the end of the
// join.
func joinTest(t *testing.T, c *testenv.Client, nick string) {
	t.Helper()
	c.SendRaw(t, `<presence to="`+chanJID+`/`+nick+`"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	for {
		if st := c.Expect(t, 2*wait, fromChan); strings.Contains(st.XML, "<subject") {
			return
		}
	}
}

// A network that trusts the gateway sees each user under a host name of
// their own, stable and without their JID; a wrong WEBIRC password is the
// operator's to fix, and both the log and the user say so.
func TestIRCWebIRC(t *testing.T) {
	network := map[string]any{"webirc_password": "gw-pass", "webirc_ip": "192.0.2.7"}
	t.Run("host name", func(t *testing.T) {
		s := startIRCOperator(t, testenv.NgircdOptions{WebircPassword: "gw-pass"}, map[string]any{"user_hash_key": operatorHashKey}, network)
		bob := s.irc.Connect(t, "bob")
		bob.Send(t, "JOIN #test")
		bob.Expect(t, wait, command("366"))
		c := ircLogin(t, s, "alice", "webirc")
		ircRegister(t, c, "alice")
		joinTest(t, c, "alice")
		join := bob.Expect(t, wait, func(m ircmsg.Message) bool { return m.Command == "JOIN" && m.Nick() == "alice" })
		_, host, _ := strings.Cut(join.Source, "@")
		if !strings.HasSuffix(host, ".users."+ircDomain) || strings.Contains(host, "alice") || len(host) != 16+len(".users."+ircDomain) {
			t.Errorf("alice's host on IRC: %q", join.Source)
		}
		bob.Send(t, "WHOIS alice")
		whois := bob.Expect(t, wait, command("311"))
		if whois.Params[3] != host {
			t.Errorf("WHOIS: %v, want host %s", whois.Params, host)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		s := startIRCOperator(t, testenv.NgircdOptions{WebircPassword: "other-pass"}, map[string]any{"user_hash_key": operatorHashKey}, network)
		c := ircLogin(t, s, "alice", "webirc")
		ircRegister(t, c, "alice")
		st := c.Expect(t, wait, chatFrom("irc.test@"+ircDomain, "Cannot connect"))
		if !strings.Contains(st.XML, "WEBIRC password was refused") || !strings.Contains(st.XML, "operator") {
			t.Errorf("the user reads: %s", st.XML)
		}
		if log := s.ferry.logs.String(); !strings.Contains(log, "refused the WEBIRC password") || !strings.Contains(log, "network=irc.test") {
			t.Errorf("no log line about the WEBIRC password:\n%s", log)
		}
	})
}

// With max_connections = 2 on a network, a third user's join is refused
// with resource-constraint and a text, the operator's log says why, and
// the network never sees a third connection.
func TestIRCConnectionLimit(t *testing.T) {
	s := startIRCOperator(t, testenv.NgircdOptions{}, nil, map[string]any{"max_connections": int64(2)})
	watcher := s.irc.Connect(t, "watcher")
	watcher.Send(t, "JOIN #test")
	watcher.Expect(t, wait, command("366"))
	for _, user := range []string{"alice", "bob"} {
		c := ircLogin(t, s, user, "limit")
		ircRegister(t, c, user)
		joinTest(t, c, user)
	}
	c := ircLogin(t, s, "admin", "limit")
	ircRegister(t, c, "admin")
	c.SendRaw(t, `<presence to="`+chanJID+`/admin"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	st := node(t, c.Expect(t, wait, func(s *testenv.Stanza) bool {
		return s.Name == "presence" && s.Attr["from"] == chanJID+"/admin" && s.Attr["type"] == "error"
	}))
	e := st.Child("", "error")
	if e.Child(nsStanzas, "resource-constraint") == nil || !strings.Contains(e.ChildText(nsStanzas, "text"), "most connections to irc.test") {
		t.Errorf("refused join: %s", st)
	}
	if log := s.ferry.logs.String(); !strings.Contains(log, "connection refused by a limit") || !strings.Contains(log, "user=admin@localhost") {
		t.Errorf("no log line for the refusal:\n%s", log)
	}
	// The network saw two users of the gateway, never the third.
	watcher.Send(t, "WHO #test")
	var nicks []string
	for {
		m := watcher.Expect(t, wait, func(m ircmsg.Message) bool { return m.Command == "352" || m.Command == "315" })
		if m.Command == "315" {
			break
		}
		nicks = append(nicks, m.Params[5])
	}
	watcher.Send(t, "WHOIS admin")
	watcher.Expect(t, wait, command("401")) // no such nick
	if len(nicks) != 3 {
		t.Errorf("#test holds %v; want watcher, alice and bob", nicks)
	}
}

// ngIRCd asks port 113 of each client for its ident: Ferry's identd
// answers for the user's connection with the same hashed ident USER
// carries (shown without ngIRCd's "~" for an unconfirmed one), and says
// NO-USER for a connection that is not Ferry's (bob's, shown as ~bob).
// ngIRCd always asks port 113, so the identd binds 127.0.0.1:113 (root,
// as CI runs).
func TestIRCIdentd(t *testing.T) {
	s := startIRCOperator(t, testenv.NgircdOptions{Ident: true},
		map[string]any{"identd_listen": "127.0.0.1:113", "ident": "hashed", "user_hash_key": operatorHashKey}, nil)
	bob := s.irc.Connect(t, "bob")
	bob.Send(t, "JOIN #test")
	bob.Expect(t, wait, command("366"))
	c := ircLogin(t, s, "alice", "ident")
	ircRegister(t, c, "alice")
	joinTest(t, c, "alice")
	join := bob.Expect(t, wait, func(m ircmsg.Message) bool { return m.Command == "JOIN" && m.Nick() == "alice" })
	user, _, _ := strings.Cut(strings.TrimPrefix(join.Source, "alice!"), "@")
	if len(user) != 9 || !strings.HasPrefix(user, "f") || strings.Contains(user, "alice") {
		t.Errorf("alice's user name on IRC: %q (want the identd's confirmed hashed ident, without ~)", join.Source)
	}
	bob.Send(t, "WHOIS bob")
	if who := bob.Expect(t, wait, command("311")); who.Params[2] != "~bob" {
		t.Errorf("bob, not a connection of Ferry's: %v", who.Params)
	}
}

// A network's banner reaches each user once, from the network's JID: on
// registering for it, not on later joins, not after Ferry restarts; a
// user who joins without registering first gets it too.
func TestIRCBanner(t *testing.T) {
	const banner = "Rules of irc.test: be kind. Abuse: abuse@irc.test"
	s := startIRCOperator(t, testenv.NgircdOptions{}, nil, map[string]any{"banner": banner})
	isBanner := chatFrom("irc.test@"+ircDomain, "Rules of irc.test")

	alice := ircLogin(t, s, "alice", "banner")
	ircRegister(t, alice, "alice")
	if st := alice.Expect(t, wait, isBanner); !strings.Contains(st.XML, "Abuse: abuse@irc.test") {
		t.Errorf("banner: %s", st.XML)
	}
	joinTest(t, alice, "alice")
	alice.ExpectNone(t, 0, isBanner)

	// After a restart alice's session and connection start anew; the
	// banner would come before her join completes, on the same queue.
	s.ferry.stop(t)
	s.ferry = runFerry(t, s.ferry.cfg)
	waitTransport(t, alice, ircDomain)
	joinTest(t, alice, "alice")
	alice.ExpectNone(t, 0, isBanner)

	bob := ircLogin(t, s, "bob", "banner")
	joinTest(t, bob, "bob") // registers bob implicitly
	bob.Expect(t, wait, isBanner)
}

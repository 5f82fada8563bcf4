package e2e

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ferry-xmpp/ferry/config"
	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// On a network whose history the operator made public, a user who joins
// a channel later reads what was said before they came, on join and
// through MAM (TestIRCRoomHistory shows the opposite without it).
func TestIRCPublicHistory(t *testing.T) {
	testenv.NeedNgircd(t)
	srv := testenv.StartNgircd(t, testenv.NgircdOptions{Name: "irc.test"})
	s := &ircSetup{irc: srv, setup: startOn(t, "prosody", serverOptions{}, func(c *config.Config) {
		c.Transports = []config.Transport{{Kind: "irc", Domain: ircDomain, Secret: secret, Name: "IRC",
			Options: map[string]any{
				"network": []map[string]any{{"name": srv.Name, "address": srv.Addr, "tls": false, "public_history": true}},
				"burst":   int64(50), "rate": float64(50),
			}}}
	})}
	carol := s.irc.Connect(t, "carol")
	carol.Send(t, "JOIN #hist")
	carol.Expect(t, wait, command("366"))

	alice := ircLogin(t, s, "alice", "one")
	ircRegister(t, alice, "alice")
	joinHist(t, alice, "alice", "")
	var ids []string
	for i := 1; i <= 3; i++ {
		carol.Send(t, fmt.Sprintf("PRIVMSG #hist :early %d", i))
		ids = append(ids, liveLine(t, alice, fmt.Sprintf("early %d", i)))
	}

	// Bob was never in #hist: joining, he gets the last two lines said
	// before, with their ids, and MAM gives him all three.
	bob := ircLogin(t, s, "bob", "one")
	ircRegister(t, bob, "bobx")
	var hist []string
	for _, n := range joinHist(t, bob, "bobx", `<history maxstanzas="2"/>`) {
		if n.Local == "message" && n.Child("", "subject") == nil {
			if n.Child("urn:xmpp:delay", "delay") == nil {
				t.Errorf("history without its time: %s", n)
			}
			hist = append(hist, n.Child(nsSID, "stanza-id").Attr("id"))
		}
	}
	if !slices.Equal(hist, ids[1:]) {
		t.Errorf("bob's history on join %v, want %v", hist, ids[1:])
	}
	if got, bodies, fin := mamPage(t, bob, "b1", ""); !slices.Equal(got, ids) || bodies[0] != "early 1" || fin.Attr("complete") != "true" {
		t.Errorf("bob's MAM %v %v (fin %s), want %v", got, bodies, fin, ids)
	}
}

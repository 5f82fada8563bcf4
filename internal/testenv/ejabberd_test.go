package testenv

import (
	"strings"
	"testing"
	"time"
)

// A private ejabberd node takes logins of the users it was given, refuses
// a wrong password, and survives Stop and Start with its accounts.
func TestEjabberdLoginAndRestart(t *testing.T) {
	e := StartEjabberd(t, EjabberdOptions{
		Components: map[string]string{"irc.localhost": "secret"},
		Users:      map[string]string{"alice": "alicepw"},
	})
	c := e.Login(t, "alice", "alicepw", "one")
	r := c.IQ(t, 10*time.Second, `<iq type="get" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>`)
	if r.Attr["type"] != "result" {
		t.Fatalf("ping to the server: %s", r.XML)
	}
	if _, err := dialC2S(e.Domain, e.C2SAddr, "alice", "nope", "x"); err == nil {
		t.Error("a wrong password was accepted")
	}
	e.Stop(t)
	e.Start(t)
	c2 := e.Login(t, "alice", "alicepw", "two")
	if !strings.HasPrefix(c2.JID.String(), "alice@localhost/two") {
		t.Errorf("bound JID %s", c2.JID)
	}
}

package email

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/ratelimit"
)

type stepClock struct{ now time.Time }

func (c *stepClock) Now() time.Time                       { return c.now }
func (c *stepClock) After(time.Duration) <-chan time.Time { return nil }

// TestRegistrationLoginsAreRateLimited: the logins a registration makes to
// check a password are paced per user and per mail server; a refused one
// connects to nothing.
func TestRegistrationLoginsAreRateLimited(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			c.Close() // no mail server here: every login fails
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	br, err := Factory("mail.gw", map[string]any{"allow_plain": true, "allowed_private_hosts": []any{"127.0.0.1"},
		"login_limit_server": map[string]any{"burst": int64(4), "every": "1m"}}, bridges.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	b := br.(*Bridge)
	clk := &stepClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b.logins = ratelimit.New(clk)
	register := func(jid string) error {
		_, err := b.Validate(context.Background(), bridges.Registration{JID: jid, Values: map[string]string{
			fieldEmail: "a@example.org", fieldPassword: "guess", fieldIMAPHost: "127.0.0.1", fieldIMAPPort: port, fieldIMAPSecurity: "plain",
			fieldSMTPHost: "127.0.0.1", fieldSMTPPort: port, fieldSMTPSecurity: "plain"}})
		return err
	}
	connections := func() int {
		n := 0
		for {
			select {
			case <-accepted:
				n++
			default:
				return n
			}
		}
	}
	for i := range 3 {
		if err := register("mallory@x"); isCond(err, bridges.ResourceConstraint) {
			t.Fatalf("attempt %d refused: %v", i, err)
		}
	}
	err = register("mallory@x")
	if !isCond(err, bridges.ResourceConstraint) || !strings.Contains(err.Error(), "tried to register too often in a short time; try again in 20 s.") {
		t.Fatalf("4th attempt: %v", err)
	}
	// Another user may check once more before the server's four are spent.
	if err := register("eve@x"); isCond(err, bridges.ResourceConstraint) {
		t.Fatalf("eve: %v", err)
	}
	err = register("trent@x")
	if !isCond(err, bridges.ResourceConstraint) || !strings.Contains(err.Error(), "too many logins to that mail server in a short time; try again in 60 s.") {
		t.Fatalf("5th login to the server: %v", err)
	}
	// Each allowed attempt logged in to IMAP and SMTP; refused ones made no
	// connection at all.
	if n := connections(); n > 8 {
		t.Fatalf("%d connections for 4 allowed attempts", n)
	}
}

package irc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircconn"
	"github.com/ferry-xmpp/ferry/internal/ratelimit"
)

type stepClock struct{ now time.Time }

func (c *stepClock) Now() time.Time                       { return c.now }
func (c *stepClock) After(time.Duration) <-chan time.Time { return nil }

// TestValidateLoginsAreRateLimited: registration logins are paced per user
// and per network; a refused one makes no connection and says when to
// try again.
func TestValidateLoginsAreRateLimited(t *testing.T) {
	b := testBridge(t, map[string]any{"network": []map[string]any{{"name": "irc.test", "address": "127.0.0.1:1", "tls": false}}})
	clk := &stepClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b.logins = ratelimit.New(clk)
	dials := 0
	b.dial = func(context.Context, ircconn.Config) (*ircconn.Conn, error) {
		dials++
		return nil, &ircconn.Error{Kind: ircconn.KindSASL, Text: "SASL authentication failed"}
	}
	register := func(user string) error {
		_, err := b.Validate(context.Background(), bridges.Registration{JID: user + "@x",
			Values: map[string]string{"nick": user, "server": "irc.test", "sasl_password": "pw"}})
		return err
	}
	wantRefused := func(err error, seconds int, about string) {
		t.Helper()
		var be *bridges.Error
		if !errors.As(err, &be) || be.Condition != bridges.ResourceConstraint ||
			!strings.HasSuffix(be.Text, fmt.Sprintf("try again in %d s.", seconds)) || !strings.Contains(be.Text, about) {
			t.Fatalf("got %v, want resource-constraint about %q, try again in %d s", err, about, seconds)
		}
	}

	// Alice retries her password: three logins, then she waits 20 s.
	for range 3 {
		if err := register("alice"); limited(err) {
			t.Fatalf("alice refused early: %v", err)
		}
	}
	wantRefused(register("alice"), 20, "You have made too many IRC logins")
	if dials != 3 {
		t.Fatalf("%d connections, want 3", dials)
	}
	// Other users are not held up by her, until the network's burst of
	// ten is spent (alice's three count).
	for i := range 7 {
		if err := register(fmt.Sprint("user", i)); limited(err) {
			t.Fatalf("user%d refused: %v", i, err)
		}
	}
	wantRefused(register("carol"), 6, "too many logins to irc.test")
	if dials != 10 {
		t.Fatalf("%d connections, want 10", dials)
	}
	// Six seconds later the network has room for one more.
	clk.now = clk.now.Add(6 * time.Second)
	if err := register("carol"); limited(err) {
		t.Fatalf("carol after 6 s: %v", err)
	}
	wantRefused(register("dave"), 6, "irc.test")
	if dials != 11 {
		t.Fatalf("%d connections, want 11", dials)
	}
	// Registrations that make no login (no password) are not limited.
	if _, err := b.Validate(context.Background(), bridges.Registration{JID: "erin@x",
		Values: map[string]string{"nick": "erin", "server": "irc.test"}}); err != nil {
		t.Fatalf("registration without a login: %v", err)
	}
}

func limited(err error) bool {
	var be *bridges.Error
	return errors.As(err, &be) && be.Condition == bridges.ResourceConstraint
}

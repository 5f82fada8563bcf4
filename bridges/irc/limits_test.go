package irc

import (
	"context"
	"errors"
	"testing"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircconn"
)

func TestConnLimits(t *testing.T) {
	type step struct {
		jid, server string
		release     bool
		want        bridges.Condition // "" = allowed
	}
	tests := []struct {
		name                string
		maxNetwork, maxUser int
		steps               []step
	}{
		{"no limits", 0, 0, []step{{"a", "n1", false, ""}, {"b", "n1", false, ""}, {"a", "n2", false, ""}}},
		{"per network", 2, 0, []step{
			{"a", "n1", false, ""}, {"b", "n1", false, ""}, {"c", "n1", false, bridges.ResourceConstraint},
			{"c", "n2", false, ""},                        // another network has its own count
			{"a", "n1", true, ""}, {"c", "n1", false, ""}, // a slot freed is taken again
		}},
		{"per user", 0, 2, []step{
			{"a", "n1", false, ""}, {"a", "n2", false, ""}, {"a", "n3", false, bridges.PolicyViolation},
			{"b", "n3", false, ""}, // other users are not counted against a
			{"a", "n2", true, ""}, {"a", "n3", false, ""},
		}},
		{"the user's limit is said first", 1, 1, []step{{"a", "n1", false, ""}, {"a", "n1", false, bridges.PolicyViolation}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newConnLimits()
			for i, s := range tt.steps {
				if s.release {
					l.release(s.jid, s.server)
					continue
				}
				err := l.acquire(s.jid, s.server, tt.maxNetwork, tt.maxUser)
				var be *bridges.Error
				switch {
				case s.want == "" && err != nil:
					t.Fatalf("step %d (%s to %s): %v", i, s.jid, s.server, err)
				case s.want != "" && (!errors.As(err, &be) || be.Condition != s.want || be.Text == "" || !errors.Is(err, errLimit)):
					t.Fatalf("step %d (%s to %s): %v, want %s", i, s.jid, s.server, err, s.want)
				}
			}
		})
	}
	l := newConnLimits()
	_ = l.acquire("a", "n1", 0, 0)
	l.release("a", "n1")
	if len(l.byNetwork) != 0 || len(l.byUser) != 0 {
		t.Errorf("released counts stay: %v %v", l.byNetwork, l.byUser)
	}
}

// A refused connection starts nothing, and a session that ends gives its
// slots back.
func TestSessionConnectionLimits(t *testing.T) {
	b := testBridge(t, map[string]any{"max_networks_per_user": int64(1), "network": []map[string]any{
		{"name": "irc.one", "address": "127.0.0.1:1", "tls": false, "max_connections": int64(1)},
		{"name": "irc.two", "address": "127.0.0.1:1", "tls": false}}})
	// Connections never complete: each network waits in its dial until
	// its session ends.
	b.dial = func(ctx context.Context, _ ircconn.Config) (*ircconn.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	open := func(jid string) *session {
		s, err := b.Open(context.Background(), bridges.Account{JID: jid, Values: map[string]string{"nick": "n"}}, &record{})
		if err != nil {
			t.Fatal(err)
		}
		return s.(*session)
	}
	alice, bob := open("alice@x"), open("bob@x")
	if _, err := alice.network("irc.one", ""); err != nil {
		t.Fatal(err)
	}
	_, err := alice.network("irc.two", "")
	wantCondition(t, err, bridges.PolicyViolation)
	_, err = bob.network("irc.one", "")
	wantCondition(t, err, bridges.ResourceConstraint)
	if len(bob.networks) != 0 || len(alice.networks) != 1 {
		t.Errorf("refused networks were kept: alice %d, bob %d", len(alice.networks), len(bob.networks))
	}
	if n, u := b.limits.counts("bob@x", "irc.one"); n != 1 || u != 0 {
		t.Errorf("counts after refusals: network %d, bob %d", n, u)
	}
	if err := alice.Close(context.Background(), "bye"); err != nil {
		t.Fatal(err)
	}
	if n, u := b.limits.counts("alice@x", "irc.one"); n != 0 || u != 0 {
		t.Errorf("after Close: network %d, alice %d", n, u)
	}
	if _, err := bob.network("irc.one", ""); err != nil {
		t.Errorf("after alice left: %v", err)
	}
	if err := bob.Close(context.Background(), "bye"); err != nil {
		t.Fatal(err)
	}
}

func wantCondition(t *testing.T, err error, cond bridges.Condition) {
	t.Helper()
	var be *bridges.Error
	if !errors.As(err, &be) || be.Condition != cond {
		t.Errorf("err = %v, want %s", err, cond)
	}
}

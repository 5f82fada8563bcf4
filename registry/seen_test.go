package registry

import (
	"errors"
	"testing"
	"time"
)

func TestMarkSeen(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	for _, jid := range []string{"alice@example.org", "bob@example.org"} {
		if err := s.PutAccount(ctx, Account{Transport: "irc.gw", JID: jid, Fields: map[string]string{"nick": "n"}}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		jid, notice string
		first       bool
	}{
		{"alice@example.org", "banner irc.one", true},
		{"alice@example.org", "banner irc.one", false},
		{"alice@example.org", "banner irc.two", true},
		{"bob@example.org", "banner irc.one", true},
		{"bob@example.org", "banner irc.one", false},
	}
	for i, st := range steps {
		first, err := s.MarkSeen(ctx, "irc.gw", st.jid, st.notice)
		if err != nil || first != st.first {
			t.Fatalf("step %d: MarkSeen(%s, %s) = %v, %v; want %v", i, st.jid, st.notice, first, err, st.first)
		}
	}
	if _, err := s.MarkSeen(ctx, "irc.gw", "nobody@example.org", "banner irc.one"); !errors.Is(err, ErrNotFound) {
		t.Errorf("MarkSeen without an account: %v", err)
	}
	// Unregistering forgets it: the same user registering again is new.
	if err := s.DeleteAccount(ctx, "irc.gw", "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAccount(ctx, Account{Transport: "irc.gw", JID: "alice@example.org", Fields: map[string]string{"nick": "n"}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if first, err := s.MarkSeen(ctx, "irc.gw", "alice@example.org", "banner irc.one"); err != nil || !first {
		t.Errorf("after registering again: %v, %v", first, err)
	}
	if first, err := s.MarkSeen(ctx, "irc.gw", "bob@example.org", "banner irc.one"); err != nil || first {
		t.Errorf("bob, untouched: %v, %v", first, err)
	}
}

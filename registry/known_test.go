package registry

import (
	"errors"
	"testing"
)

// Accounts are found after they are stored, also by a later Open, and
// not after they are deleted.
func TestKnownAccountsFollowTheTable(t *testing.T) {
	ctx := t.Context()
	s, path := openTestStore(t)
	get := func(s *SQLite) error {
		_, err := s.GetAccount(ctx, "irc.gw", "alice@x.test")
		return err
	}
	if err := get(s); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before registering: %v", err)
	}
	if err := s.PutAccount(ctx, Account{Transport: "irc.gw", JID: "alice@x.test", Fields: map[string]string{"nick": "a"}}); err != nil {
		t.Fatal(err)
	}
	if err := get(s); err != nil {
		t.Fatalf("after registering: %v", err)
	}

	again, err := Open(ctx, path, testSealer(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if err := get(again); err != nil {
		t.Fatalf("opened again: %v", err)
	}

	if err := s.DeleteAccount(ctx, "irc.gw", "alice@x.test"); err != nil {
		t.Fatal(err)
	}
	if err := get(s); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after deleting: %v", err)
	}
	if _, err := s.GetAccount(ctx, "sms.gw", "alice@x.test"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another transport: %v", err)
	}
}

package registry

import (
	"context"
	"fmt"
	"sync"
)

// knownAccounts is which (transport, JID) pairs have an account, kept in
// memory so that looking up someone without one — a stranger's presence,
// a storm of them — costs no query. Ferry's process is the database's one
// writer, so the set is loaded once and kept by PutAccount and
// DeleteAccount.
type knownAccounts struct {
	mu sync.RWMutex
	m  map[string]struct{}
}

func accountKey(transport, jid string) string { return transport + "\x00" + jid }

func (k *knownAccounts) has(transport, jid string) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	_, ok := k.m[accountKey(transport, jid)]
	return ok
}

func (k *knownAccounts) add(transport, jid string) {
	k.mu.Lock()
	k.m[accountKey(transport, jid)] = struct{}{}
	k.mu.Unlock()
}

func (k *knownAccounts) remove(transport, jid string) {
	k.mu.Lock()
	delete(k.m, accountKey(transport, jid))
	k.mu.Unlock()
}

// load reads every account's key.
func (k *knownAccounts) load(ctx context.Context, s *SQLite) error {
	rows, err := s.r.QueryContext(ctx, "SELECT transport, jid FROM accounts")
	if err != nil {
		return fmt.Errorf("registry: list account keys: %w", err)
	}
	defer rows.Close()
	m := map[string]struct{}{}
	for rows.Next() {
		var transport, jid string
		if err := rows.Scan(&transport, &jid); err != nil {
			return fmt.Errorf("registry: list account keys: %w", err)
		}
		m[accountKey(transport, jid)] = struct{}{}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("registry: list account keys: %w", err)
	}
	k.mu.Lock()
	k.m = m
	k.mu.Unlock()
	return nil
}

// Package registry persists what ferry must remember across restarts:
// registrations, stanzas waiting for the XMPP link, and the mapping between
// legacy message ids and XMPP stanza ids.
//
// Callers depend on the Store interface only, so the SQLite implementation
// can be swapped (or faked in tests) without touching the component code.
package registry

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when the requested row does not exist. It is a
// sentinel rather than sql.ErrNoRows so callers never import database/sql.
var ErrNotFound = errors.New("registry: not found")

// ErrConflict reports that a unique binding is already taken by another
// row: another account, or for message ids another legacy message holding
// the same XMPP stanza id.
var ErrConflict = errors.New("registry: conflict")

// Account is one XMPP user's registration with one transport.
type Account struct {
	Transport string            // transport domain, e.g. "irc.example.org"
	JID       string            // bare JID of the XMPP user, e.g. "alice@example.org"
	Fields    map[string]string // non-secret registration values
	Secrets   map[string]string // secret values; plaintext in memory, sealed at rest
	Settings  map[string]string // user preferences (e.g. "stay_connected" = "true")
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Outbound is a stanza that carries user content, queued while the XMPP
// link is down.
type Outbound struct {
	ID        int64
	Transport string
	Stanza    []byte // serialized XML stanza
	CreatedAt time.Time
}

// MessageID ties a legacy network's message id to the XMPP stanza id ferry
// used for it, so reconnect replays are not delivered twice and receipts or
// corrections can be translated in both directions.
type MessageID struct {
	Transport, JID string // owning account (FK to accounts, cascades on delete)
	LegacyID       string
	XMPPID         string
	Peer           string
	CreatedAt      time.Time
}

// Store is everything ferry persists. Every method takes a context first so
// a stuck disk or a long lock wait can be abandoned by the caller.
type Store interface {
	// GetAccount returns ErrNotFound if the user is not registered.
	GetAccount(ctx context.Context, transport, jid string) (Account, error)
	// PutAccount inserts or replaces the account in one transaction. The
	// CreatedAt of an existing row is kept; UpdatedAt is set by the store.
	PutAccount(ctx context.Context, a Account) error
	// DeleteAccount removes the account and everything that belongs to it
	// (message ids cascade). ErrNotFound if absent.
	DeleteAccount(ctx context.Context, transport, jid string) error
	// ListAccounts returns the transport's accounts ordered by JID.
	ListAccounts(ctx context.Context, transport string) ([]Account, error)
	CountAccounts(ctx context.Context, transport string) (int, error)

	// Enqueue appends a stanza to the transport's outbox and returns its id.
	Enqueue(ctx context.Context, transport string, stanza []byte) (int64, error)
	// Pending returns up to limit queued stanzas, oldest first; limit <= 0
	// means all of them.
	Pending(ctx context.Context, transport string, limit int) ([]Outbound, error)
	// Ack removes a delivered stanza. Acking an id that is already gone is
	// not an error, so a retried delivery loop cannot wedge on it.
	Ack(ctx context.Context, id int64) error
	PendingCount(ctx context.Context, transport string) (int, error)

	// PutMessageID upserts on (transport, jid, legacy_id). It returns
	// ErrNotFound if the account does not exist and ErrConflict if the XMPP
	// id is already mapped to another legacy id of the same account.
	PutMessageID(ctx context.Context, m MessageID) error
	// MessageByLegacyID returns ErrNotFound if the id was never stored.
	MessageByLegacyID(ctx context.Context, transport, jid, legacyID string) (MessageID, error)
	// MessageByXMPPID returns ErrNotFound if the id was never stored.
	MessageByXMPPID(ctx context.Context, transport, jid, xmppID string) (MessageID, error)
	// Peers lists the legacy peers (puppet local parts) an account has
	// exchanged messages with, so unregistering can clean the user's roster.
	Peers(ctx context.Context, transport, jid string) ([]string, error)
	// Ping checks that the database answers (for /healthz).
	Ping(ctx context.Context) error

	Close() error
}

// Package registry persists what ferry must remember across restarts:
// registrations, stanzas waiting for the XMPP link, the mapping between
// legacy message ids and XMPP stanza ids, bridges' durable outbound jobs,
// and inbound messages no account claimed.
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
// row: another account (its legacy Binding), for message ids another legacy
// message holding the same XMPP stanza id, or for jobs an existing job id.
var ErrConflict = errors.New("registry: conflict")

// Account is one XMPP user's registration with one transport.
type Account struct {
	Transport string            // transport domain, e.g. "irc.example.org"
	JID       string            // bare JID of the XMPP user, e.g. "alice@example.org"
	Fields    map[string]string // non-secret registration values
	Secrets   map[string]string // secret values; plaintext in memory, sealed at rest
	Settings  map[string]string // user preferences (e.g. "stay_connected" = "true")
	// Binding is the account's legacy identity (e.g. an SMS phone number),
	// unique per transport; "" = none. PutAccount returns ErrConflict if
	// another account of the transport holds it.
	Binding   string
	CreatedAt time.Time
	UpdatedAt time.Time
	// SealErr is set when the stored secrets cannot be unsealed (the key
	// changed, or the blob is damaged): Secrets is then empty, and
	// PutAccount keeps the stored blob unless new secrets are given. It
	// matches ErrUnsealable.
	SealErr error
}

// Outbound is a stanza that carries user content, queued while the XMPP
// link is down.
type Outbound struct {
	ID        int64
	Transport string
	Stanza    []byte // serialized XML stanza
	CreatedAt time.Time
}

// OutboxEntry is one stanza to store; Mapping, when set, is the legacy
// message it carries (its Transport and JID name the owning account).
type OutboxEntry struct {
	Stanza  []byte
	Mapping *MessageID
}

// OutboxResult is what became of one OutboxEntry: stored under ID, a Dup
// of a legacy message stored before, or refused with Err.
type OutboxResult struct {
	ID  int64
	Dup bool
	Err error
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

// Job is a durable unit of a bridge's outbound pipeline (e.g. an SMS to
// send): persisted before hand-off to the provider and retried with backoff
// until the caller moves it to a final state.
type Job struct {
	ID        string // chosen by the caller, unique per transport
	Transport string
	JID       string // owning account (FK to accounts, cascades on delete)
	Kind      string // e.g. "sms-out"
	Payload   []byte
	State     string // caller-defined, e.g. "pending", "sent", "delivered", "failed"
	Attempts  int
	NextAt    time.Time // when the job is next due; zero = now
	Ref       string    // provider reference (e.g. its message id); "" = none
	LastError string
	CreatedAt time.Time // kept from PutJob; zero = now
	UpdatedAt time.Time // set by the store on every write
}

// DeadLetter is an inbound message that no account claimed.
type DeadLetter struct {
	ID        int64 // assigned by the store
	Transport string
	Reason    string
	Payload   []byte
	CreatedAt time.Time // zero = now
}

// Store is everything ferry persists. Every method takes a context first so
// a stuck disk or a long lock wait can be abandoned by the caller.
type Store interface {
	// GetAccount returns ErrNotFound if the user is not registered.
	GetAccount(ctx context.Context, transport, jid string) (Account, error)
	// PutAccount inserts or replaces the account in one transaction. The
	// CreatedAt of an existing row is kept; UpdatedAt is set by the store.
	// ErrConflict if another account of the transport holds a.Binding.
	PutAccount(ctx context.Context, a Account) error
	// DeleteAccount removes the account and everything that belongs to it
	// (message ids and jobs cascade, room memberships go). ErrNotFound if
	// absent.
	DeleteAccount(ctx context.Context, transport, jid string) error
	// ListAccounts returns the transport's accounts ordered by JID.
	ListAccounts(ctx context.Context, transport string) ([]Account, error)
	CountAccounts(ctx context.Context, transport string) (int, error)

	// ListAddressSettings returns what the user set for single addresses
	// of the transport (networks, channels), ordered by address; none
	// without an account.
	ListAddressSettings(ctx context.Context, transport, jid string) ([]AddressSettings, error)
	// PutAddressSettings replaces what the user set for one address, in
	// one transaction; no settings and no secrets delete the row.
	// ErrNotFound if the account does not exist. The rows go with the
	// account (DeleteAccount).
	PutAddressSettings(ctx context.Context, a AddressSettings) error

	// EnqueueBatch stores stanzas in the transport's outbox in one
	// transaction (one fsync for the group) and returns what became of
	// each, in order. An entry with a Mapping stores its legacy id with it,
	// both or neither; if that legacy id is already mapped, nothing is
	// stored and the result says Dup (the message was delivered before).
	// A bad entry (no account for its mapping: ErrNotFound; its XMPP id
	// mapped to another legacy id: ErrConflict) fails alone, in its
	// result; the error return means nothing was stored.
	EnqueueBatch(ctx context.Context, transport string, entries []OutboxEntry) ([]OutboxResult, error)
	// PendingAfter returns up to limit queued stanzas with ids above
	// after, oldest first; limit <= 0 means all of them.
	PendingAfter(ctx context.Context, transport string, after int64, limit int) ([]Outbound, error)
	// AckThrough removes the transport's stanzas with ids up to id, once
	// the server has confirmed it processed them, and says how many.
	// Acking again is harmless.
	AckThrough(ctx context.Context, transport string, id int64) (int, error)
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

	// PutJob inserts a job. It returns ErrConflict if the transport already
	// has a job with that ID and ErrNotFound if the account does not exist.
	// UpdatedAt is set by the store; a zero CreatedAt or NextAt means now.
	PutJob(ctx context.Context, j Job) error
	// UpdateJob overwrites the payload, state, attempts, next_at, ref and
	// last_error of the job (transport, id) and sets UpdatedAt; JID, kind
	// and CreatedAt never change. A zero NextAt means now. ErrNotFound if
	// the job does not exist.
	UpdateJob(ctx context.Context, j Job) error
	// GetJob returns ErrNotFound if the job does not exist.
	GetJob(ctx context.Context, transport, id string) (Job, error)
	// DeleteJob removes one job; ErrNotFound if it does not exist.
	DeleteJob(ctx context.Context, transport, id string) error
	// JobByRef returns the newest (by CreatedAt) job carrying the provider
	// reference ref; ErrNotFound if none does or ref is "".
	JobByRef(ctx context.Context, transport, ref string) (Job, error)
	// DueJobs returns up to limit jobs of the kind in the state whose NextAt
	// is not after now, ordered by NextAt, then CreatedAt, then ID; limit
	// <= 0 means all of them.
	DueJobs(ctx context.Context, transport, kind, state string, now time.Time, limit int) ([]Job, error)
	// CountJobs counts the account's jobs of the kind created at or after
	// since, for rate and cost limits.
	CountJobs(ctx context.Context, transport, jid, kind string, since time.Time) (int, error)
	// CountJobsByState counts the transport's jobs of the kind in the state.
	CountJobsByState(ctx context.Context, transport, kind, state string) (int, error)
	// DeleteJobsBefore deletes the transport's jobs in the state last updated
	// before the given time and returns how many it deleted.
	DeleteJobsBefore(ctx context.Context, transport, state string, before time.Time) (int, error)

	// PutDeadLetter stores an unclaimed inbound message and returns its id.
	PutDeadLetter(ctx context.Context, d DeadLetter) (int64, error)
	// ListDeadLetters returns up to limit of the transport's dead letters,
	// newest first; limit <= 0 means all of them.
	ListDeadLetters(ctx context.Context, transport string, limit int) ([]DeadLetter, error)

	// ArchiveBatch stores room messages and membership changes in one
	// transaction, in order (see ArchiveWrite); a message id the room has
	// already is skipped.
	ArchiveBatch(ctx context.Context, transport string, writes []ArchiveWrite) error
	// QueryArchive reads a page of a room's history as one user may see
	// it: only what was said while they were in the room. ErrNoAccess if
	// they never were; ErrNotFound for an id the room never had.
	QueryArchive(ctx context.Context, transport string, q ArchiveQuery) (ArchivePage, error)
	// CloseArchivePeriods ends the memberships a previous run left open,
	// except those of users whose seat in the room is kept (RoomSeats):
	// their rooms are restored, and their membership goes on.
	CloseArchivePeriods(ctx context.Context, transport string, at time.Time) (int, error)
	// RoomSeats lists where the transport's users sit (ArchiveWrite.Seat
	// writes them), ordered by user and room.
	RoomSeats(ctx context.Context, transport string) ([]RoomSeat, error)
	// LastArchived is the newest message of a room's history;
	// ErrNotFound when the room has none.
	LastArchived(ctx context.Context, transport, room string) (ArchivedMessage, error)
	// ArchiveStats says how many rooms and messages the transport's
	// history holds, and the oldest message's time.
	ArchiveStats(ctx context.Context, transport string) (ArchiveSize, error)
	// PruneArchive deletes, in each room, what the retention in force
	// there no longer keeps at now: keep, or the room's own
	// (SetRoomRetention); it returns how many messages it deleted.
	PruneArchive(ctx context.Context, transport string, now time.Time, keep Retention) (int, error)
	// SetRoomRetention gives one room a retention of its own over the
	// transport's (neither bound: the transport's again).
	SetRoomRetention(ctx context.Context, transport string, r RoomRetention) error
	// RoomRetentions lists the rooms given a retention, by room.
	RoomRetentions(ctx context.Context, transport string) ([]RoomRetention, error)
	// ForgetArchiveMember deletes a user's memberships: nothing said
	// before is theirs to read any more.
	ForgetArchiveMember(ctx context.Context, transport, jid string) error

	// MarkSeen records that the account has been shown notice (a name
	// the bridge chooses) and reports whether this was the first time, in
	// one transaction, so a notice is shown once however many sessions
	// ask at once. What is recorded goes with the account. ErrNotFound if
	// the account does not exist.
	MarkSeen(ctx context.Context, transport, jid, notice string) (first bool, err error)

	// Ping checks that the database answers and can store what Ferry
	// accepts (for /healthz): a full disk or a database that refuses
	// writes makes it fail.
	Ping(ctx context.Context) error

	Close() error
}

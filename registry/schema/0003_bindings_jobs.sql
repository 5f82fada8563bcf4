-- Schema version 3: legacy identity bindings, durable jobs, dead letters.
--
-- Released migrations are never edited; add the next numbered file instead.

-- The account's unique legacy identity on its transport (e.g. the phone
-- number an SMS bridge sends from). NULL or '' = none; the store writes
-- NULL for none. Rows from version 2 get NULL.
ALTER TABLE accounts ADD COLUMN binding TEXT;

-- One account per identity per transport. Partial, so any number of
-- accounts can have no binding.
CREATE UNIQUE INDEX accounts_binding ON accounts (transport, binding)
    WHERE binding IS NOT NULL AND binding <> '';

-- Work a bridge must not lose: persisted before hand-off to a provider and
-- retried with backoff until it reaches a final state.
CREATE TABLE jobs (
    transport  TEXT    NOT NULL,
    -- Chosen by the caller, so a retried PutJob is detected as a conflict
    -- instead of creating a duplicate.
    id         TEXT    NOT NULL,
    jid        TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    payload    BLOB    NOT NULL,
    -- Caller-defined, e.g. 'pending', 'sent', 'delivered', 'failed'.
    state      TEXT    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    -- When the job is due (next attempt); Unix nanoseconds.
    next_at    INTEGER NOT NULL,
    -- Provider reference (e.g. its message id), '' = none.
    ref        TEXT    NOT NULL DEFAULT '',
    last_error TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (transport, id),
    -- Jobs are the account's data: unregistering removes them with it.
    FOREIGN KEY (transport, jid) REFERENCES accounts (transport, jid)
        ON DELETE CASCADE ON UPDATE CASCADE
) STRICT;

-- DueJobs: equality on (transport, kind, state), range and order on
-- next_at, ties by created_at then id, all from the index. CountJobsByState
-- uses its prefix.
CREATE INDEX jobs_due ON jobs (transport, kind, state, next_at, created_at, id);
-- CountJobs (per-account rate windows). Its (transport, jid) prefix is also
-- the child-key index the cascade from accounts needs.
CREATE INDEX jobs_account ON jobs (transport, jid, kind, created_at);
-- JobByRef: newest job carrying a provider reference. Most jobs have none
-- until handed off, so only rows with a reference are indexed.
CREATE INDEX jobs_ref ON jobs (transport, ref, created_at, id) WHERE ref <> '';
-- DeleteJobsBefore: housekeeping of finished jobs by last update.
CREATE INDEX jobs_state_updated ON jobs (transport, state, updated_at);

-- Inbound messages no account claims, kept for the operator to inspect.
CREATE TABLE dead_letters (
    -- AUTOINCREMENT: ids are never reused and grow with insertion.
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    transport  TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    payload    BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- ListDeadLetters: newest first per transport (the rowid id is implicitly
-- the index's last column, breaking created_at ties).
CREATE INDEX dead_letters_transport_created ON dead_letters (transport, created_at);

-- Schema version 1: registrations and the outbox.
--
-- Released migrations are never edited: databases in the field were built
-- from this exact text. Change the schema by adding the next numbered file.
--
-- Times are INTEGER Unix nanoseconds (UTC): they sort and compare as
-- numbers and round-trip a Go time.Time without parsing.
-- STRICT makes SQLite reject values of the wrong type instead of silently
-- storing them, so a Go-side mistake shows up at the write.

CREATE TABLE accounts (
    transport  TEXT    NOT NULL,
    jid        TEXT    NOT NULL,
    -- JSON object of non-secret registration values.
    fields     TEXT    NOT NULL DEFAULT '{}',
    -- Sealer output over a JSON object, AAD = transport || NUL || jid, so a
    -- blob copied into another row does not open. NULL = no secrets.
    secrets    BLOB,
    -- JSON object of user preferences.
    settings   TEXT    NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    -- One registration per user per transport; also the parent key that
    -- per-account tables reference.
    PRIMARY KEY (transport, jid)
) STRICT;

CREATE TABLE outbox (
    -- AUTOINCREMENT never hands out an id twice, so a late or repeated Ack
    -- can only ever delete the stanza it was meant for, and id order is
    -- enqueue order.
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    transport  TEXT    NOT NULL,
    stanza     BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- Pending reads one transport's queue in id order.
CREATE INDEX outbox_transport_id ON outbox (transport, id);

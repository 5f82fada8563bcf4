-- Schema version 2: legacy message id <-> XMPP stanza id map.
--
-- Released migrations are never edited; add the next numbered file instead.

CREATE TABLE message_ids (
    transport  TEXT    NOT NULL,
    jid        TEXT    NOT NULL,
    legacy_id  TEXT    NOT NULL,
    xmpp_id    TEXT    NOT NULL,
    -- Legacy address of the other party, '' if unknown.
    peer       TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    -- The primary key doubles as the index SQLite needs on the child key
    -- (transport, jid) to cascade deletes without a full scan.
    PRIMARY KEY (transport, jid, legacy_id),
    -- Message ids are personal data of the account: unregistering removes
    -- them with it.
    FOREIGN KEY (transport, jid) REFERENCES accounts (transport, jid)
        ON DELETE CASCADE ON UPDATE CASCADE
) STRICT;

-- Receipts and corrections arrive with an XMPP id; unique because a
-- lookup must name exactly one legacy message.
CREATE UNIQUE INDEX message_ids_xmpp_id ON message_ids (transport, jid, xmpp_id);

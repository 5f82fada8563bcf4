-- Schema version 5: notices each account has been shown once (an IRC
-- network's banner, say).
--
-- Released migrations are never edited; add the next numbered file instead.

CREATE TABLE notices_seen (
    transport TEXT    NOT NULL,
    jid       TEXT    NOT NULL,
    -- What was shown, named by the bridge (e.g. 'banner irc.libera.chat').
    notice    TEXT    NOT NULL,
    seen_at   INTEGER NOT NULL, -- Unix nanoseconds
    PRIMARY KEY (transport, jid, notice),
    -- The account's data: unregistering forgets it, and a user who
    -- registers again is new again.
    FOREIGN KEY (transport, jid) REFERENCES accounts (transport, jid)
        ON DELETE CASCADE ON UPDATE CASCADE
) STRICT, WITHOUT ROWID;

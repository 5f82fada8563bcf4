-- Schema version 5: where each user sits in each room, so rooms survive
-- a restart of Ferry.
--
-- Released migrations are never edited; add the next numbered file instead.

-- One row per user per room they are in (or joining) through Ferry: the
-- nick they asked for and the full JIDs of their joined resources. Ferry
-- rejoins these rooms when it starts and keeps the resources in them.
CREATE TABLE room_seats (
    transport TEXT NOT NULL,
    jid       TEXT NOT NULL,
    -- The room's local part as the user addressed it (case kept: it is
    -- the address their client knows).
    room      TEXT NOT NULL,
    -- The room as archive_rooms names it (lower-cased), to find the
    -- user's membership period there.
    folded    TEXT NOT NULL,
    nick      TEXT NOT NULL,
    -- The resources' full JIDs, one per line, sorted.
    resources TEXT NOT NULL,
    -- The other occupants' nicks when Ferry stopped, one per line, so
    -- those gone meanwhile are shown leaving once the room is back.
    occupants TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (transport, jid, room),
    FOREIGN KEY (transport, jid) REFERENCES accounts (transport, jid) ON DELETE CASCADE
);

-- Schema version 4: room history, stored once per channel per network.
--
-- Released migrations are never edited; add the next numbered file instead.

-- One row per archived room of a transport, so archive rows carry a small
-- integer instead of the room's address.
CREATE TABLE archive_rooms (
    id        INTEGER PRIMARY KEY,
    transport TEXT NOT NULL,
    -- The room's local part as the component addresses it (network and
    -- channel, e.g. '#chan%irc.example.net'), lower-cased.
    room      TEXT NOT NULL,
    UNIQUE (transport, room)
);

-- What was said in a room, once, however many users heard it. seq is the
-- order of arrival; at never decreases with seq within a room.
CREATE TABLE archive (
    seq  INTEGER PRIMARY KEY,
    room INTEGER NOT NULL REFERENCES archive_rooms (id) ON DELETE CASCADE,
    -- The XEP-0359 stanza-id users saw: the network's msgid, or Ferry's.
    id   TEXT    NOT NULL,
    -- When it was said (the network's server-time, or when Ferry got it);
    -- Unix nanoseconds.
    at   INTEGER NOT NULL,
    nick TEXT    NOT NULL,
    -- The message, or the new subject when subject is 1.
    body TEXT    NOT NULL,
    subject INTEGER NOT NULL DEFAULT 0,
    UNIQUE (room, id)
);
-- Pages are read in (at, seq) order; the index holds seq, the rowid.
CREATE INDEX archive_room_at ON archive (room, at);

-- When each user was in each room through Ferry: they may read what was
-- said in these periods only. end_at NULL = still there.
CREATE TABLE archive_periods (
    room     INTEGER NOT NULL REFERENCES archive_rooms (id) ON DELETE CASCADE,
    jid      TEXT    NOT NULL,
    start_at INTEGER NOT NULL,
    end_at   INTEGER,
    PRIMARY KEY (room, jid, start_at)
);

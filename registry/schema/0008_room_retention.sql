-- Schema version 8: how much history one room keeps, where an admin set
-- it apart from the transport's (history_days, history_messages).
--
-- Released migrations are never edited; add the next numbered file instead.

-- Keyed by the room's address rather than archive_rooms.id, so a room
-- can be given its retention before anything was said in it.
CREATE TABLE room_retention (
    transport  TEXT    NOT NULL,
    -- The room as archive_rooms names it (local part, lower-cased).
    room       TEXT    NOT NULL,
    -- Messages older than this many days go; all but the room's newest
    -- messages go. NULL: the transport's setting; 0: no bound.
    days       INTEGER CHECK (days >= 0),
    messages   INTEGER CHECK (messages >= 0),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (transport, room)
) STRICT;

-- Schema version 5: settings a user gives one address of a transport (an
-- IRC network, an IRC channel), beyond the account-wide ones in
-- accounts.settings.
--
-- Released migrations are never edited; add the next numbered file instead.

CREATE TABLE address_settings (
    transport  TEXT    NOT NULL,
    jid        TEXT    NOT NULL,
    -- The address's local part as the component addresses it, lower-cased
    -- (e.g. 'irc.example.net' or '#chan%irc.example.net').
    address    TEXT    NOT NULL,
    -- JSON object of non-secret values.
    settings   TEXT    NOT NULL DEFAULT '{}',
    -- Sealer output over a JSON object, as accounts.secrets, with
    -- AAD = transport || NUL || jid || NUL || address. NULL = no secrets.
    secrets    BLOB,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (transport, jid, address),
    -- Unregistering deletes them with the account.
    FOREIGN KEY (transport, jid) REFERENCES accounts (transport, jid) ON DELETE CASCADE
) STRICT;

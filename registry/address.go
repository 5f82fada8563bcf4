package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// AddressSettings are what one user set for one address of a transport
// (an IRC network, a channel), beyond their account-wide settings.
type AddressSettings struct {
	Transport, JID string
	// Address is the address's local part as the component names it,
	// lower-cased ("irc.example.net", "#chan%irc.example.net").
	Address  string
	Settings map[string]string // non-secret values
	Secrets  map[string]string // sealed at rest as the account's secrets are
	// SealErr is set when the stored secrets cannot be unsealed; as for
	// Account, putting the row back without new secrets keeps the blob.
	SealErr error
}

// addressAAD binds a sealed blob to its row, as secretsAAD does for an
// account: NUL occurs in none of the three names.
func addressAAD(transport, jid, address string) []byte {
	return []byte(transport + "\x00" + jid + "\x00" + address)
}

// ListAddressSettings implements Store.
func (s *SQLite) ListAddressSettings(ctx context.Context, transport, jid string) ([]AddressSettings, error) {
	if !s.known.has(transport, jid) {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT address, settings, secrets FROM address_settings
WHERE transport = ? AND jid = ? ORDER BY address`, transport, jid)
	if err != nil {
		return nil, fmt.Errorf("registry: address settings of %s on %s: %w", jid, transport, err)
	}
	defer rows.Close()
	var out []AddressSettings
	for rows.Next() {
		a := AddressSettings{Transport: transport, JID: jid}
		var settings string
		var secrets []byte
		if err := rows.Scan(&a.Address, &settings, &secrets); err != nil {
			return nil, fmt.Errorf("registry: address settings of %s on %s: %w", jid, transport, err)
		}
		if a.Settings, err = decodeMap(settings); err != nil {
			return nil, fmt.Errorf("registry: settings of %s for %s on %s: %w", a.Address, jid, transport, err)
		}
		if a.Secrets, err = s.openMap(secrets, addressAAD(transport, jid, a.Address)); err != nil {
			a.Secrets = map[string]string{}
			a.SealErr = fmt.Errorf("registry: secrets of %s for %s on %s: %w", a.Address, jid, transport, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: address settings of %s on %s: %w", jid, transport, err)
	}
	return out, nil
}

// PutAddressSettings implements Store.
func (s *SQLite) PutAddressSettings(ctx context.Context, a AddressSettings) error {
	if a.Transport == "" || a.JID == "" || a.Address == "" {
		return errors.New("registry: address settings need a transport, a JID and an address")
	}
	settings, err := encodeMap(a.Settings)
	if err != nil {
		return err
	}
	secrets, err := s.sealMap(a.Secrets, addressAAD(a.Transport, a.JID, a.Address))
	if err != nil {
		return err
	}
	keepSecrets := a.SealErr != nil && len(a.Secrets) == 0
	empty := len(a.Settings) == 0 && len(a.Secrets) == 0 && !keepSecrets
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if empty {
			_, err := tx.ExecContext(ctx, "DELETE FROM address_settings WHERE transport = ? AND jid = ? AND address = ?",
				a.Transport, a.JID, a.Address)
			if err != nil {
				return fmt.Errorf("registry: clear settings of %s for %s on %s: %w", a.Address, a.JID, a.Transport, err)
			}
			return nil
		}
		_, err := tx.ExecContext(ctx, `
INSERT INTO address_settings (transport, jid, address, settings, secrets, updated_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (transport, jid, address) DO UPDATE SET
	settings = excluded.settings,
	secrets = CASE WHEN ? THEN address_settings.secrets ELSE excluded.secrets END,
	updated_at = excluded.updated_at`,
			a.Transport, a.JID, a.Address, settings, secrets, dbTime(s.now()), keepSecrets)
		if isForeignKeyViolation(err) {
			return fmt.Errorf("%w: no account %s on %s", ErrNotFound, a.JID, a.Transport)
		}
		if err != nil {
			return fmt.Errorf("registry: put settings of %s for %s on %s: %w", a.Address, a.JID, a.Transport, err)
		}
		return nil
	})
}

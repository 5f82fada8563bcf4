package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

const accountColumns = "transport, jid, fields, secrets, settings, created_at, updated_at, binding"

// sqlGetAccount reads one account (prepared once: see statements).
const sqlGetAccount = "SELECT " + accountColumns + " FROM accounts WHERE transport = ? AND jid = ?"

// GetAccount implements Store.
func (s *SQLite) GetAccount(ctx context.Context, transport, jid string) (Account, error) {
	if !s.known.has(transport, jid) {
		return Account{}, ErrNotFound
	}
	row := s.stmts.getAccount.QueryRowContext(ctx, transport, jid)
	a, err := s.scanAccount(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, ErrNotFound
	}
	return a, err
}

// PutAccount implements Store.
func (s *SQLite) PutAccount(ctx context.Context, a Account) error {
	if a.Transport == "" || a.JID == "" {
		return errors.New("registry: account needs a transport and a JID")
	}
	fields, err := encodeMap(a.Fields)
	if err != nil {
		return err
	}
	settings, err := encodeMap(a.Settings)
	if err != nil {
		return err
	}
	secrets, err := s.sealSecrets(a)
	if err != nil {
		return err
	}
	// Secrets that could not be unsealed are kept as stored unless new
	// ones replace them: restoring the right key brings them back.
	keepSecrets := a.SealErr != nil && len(a.Secrets) == 0
	now := s.now()
	created := a.CreatedAt
	if created.IsZero() {
		created = now
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		// An upsert, not INSERT OR REPLACE: REPLACE deletes the old row
		// first, which would cascade and wipe the account's message ids, and
		// would lose created_at.
		_, err := tx.ExecContext(ctx, `
INSERT INTO accounts (`+accountColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (transport, jid) DO UPDATE SET
	fields = excluded.fields,
	secrets = CASE WHEN ? THEN accounts.secrets ELSE excluded.secrets END,
	settings = excluded.settings,
	updated_at = excluded.updated_at,
	binding = excluded.binding`,
			a.Transport, a.JID, fields, secrets, settings, dbTime(created), dbTime(now), nullString(a.Binding), keepSecrets)
		if err != nil {
			// The key is upserted, so a unique violation here can only come
			// from another unique binding on accounts, held by another row.
			if isUniqueViolation(err) {
				return fmt.Errorf("%w: binding %q on %s is held by another account: %v", ErrConflict, a.Binding, a.Transport, err)
			}
			return fmt.Errorf("registry: put account %s on %s: %w", a.JID, a.Transport, err)
		}
		return nil
	})
	if err == nil {
		s.known.add(a.Transport, a.JID)
	}
	return err
}

// DeleteAccount implements Store. The foreign keys in the schema remove the
// account's dependent rows in the same statement.
func (s *SQLite) DeleteAccount(ctx context.Context, transport, jid string) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM accounts WHERE transport = ? AND jid = ?", transport, jid)
		if err != nil {
			return fmt.Errorf("registry: delete account %s on %s: %w", jid, transport, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("registry: delete account %s on %s: %w", jid, transport, err)
		}
		if n == 0 {
			return ErrNotFound
		}
		// What the user may read of room history goes with them.
		if _, err := tx.ExecContext(ctx, `DELETE FROM archive_periods WHERE jid = ?
AND room IN (SELECT id FROM archive_rooms WHERE transport = ?)`, jid, transport); err != nil {
			return fmt.Errorf("registry: delete account %s on %s: %w", jid, transport, err)
		}
		return nil
	})
	if err == nil || errors.Is(err, ErrNotFound) {
		s.known.remove(transport, jid)
	}
	return err
}

// ListAccounts implements Store.
func (s *SQLite) ListAccounts(ctx context.Context, transport string) ([]Account, error) {
	rows, err := s.r.QueryContext(ctx,
		"SELECT "+accountColumns+" FROM accounts WHERE transport = ? ORDER BY jid", transport)
	if err != nil {
		return nil, fmt.Errorf("registry: list accounts of %s: %w", transport, err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := s.scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: list accounts of %s: %w", transport, err)
	}
	return out, nil
}

// CountAccounts implements Store.
func (s *SQLite) CountAccounts(ctx context.Context, transport string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM accounts WHERE transport = ?", transport).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("registry: count accounts of %s: %w", transport, err)
	}
	return n, nil
}

type scanner interface{ Scan(dest ...any) error }

func (s *SQLite) scanAccount(sc scanner) (Account, error) {
	var (
		a                 Account
		fields, settings  string
		secrets           []byte
		created, modified int64
		binding           sql.NullString
	)
	if err := sc.Scan(&a.Transport, &a.JID, &fields, &secrets, &settings, &created, &modified, &binding); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Account{}, err
		}
		return Account{}, fmt.Errorf("registry: read account: %w", err)
	}
	var err error
	if a.Fields, err = decodeMap(fields); err != nil {
		return Account{}, fmt.Errorf("registry: fields of %s on %s: %w", a.JID, a.Transport, err)
	}
	if a.Settings, err = decodeMap(settings); err != nil {
		return Account{}, fmt.Errorf("registry: settings of %s on %s: %w", a.JID, a.Transport, err)
	}
	if a.Secrets, err = s.openSecrets(a.Transport, a.JID, secrets); err != nil {
		// One account's unreadable secrets fail that account alone: it is
		// returned without them, and whoever opens it says why.
		a.Secrets, a.SealErr = map[string]string{}, err
	}
	a.CreatedAt, a.UpdatedAt = goTime(created), goTime(modified)
	a.Binding = binding.String
	return a, nil
}

// nullString stores "" as NULL, the schema's canonical "none" for optional
// text columns such as accounts.binding.
func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

// secretsAAD binds a sealed blob to its row. NUL cannot occur in a domain
// or a JID, so no two (transport, jid) pairs produce the same bytes.
func secretsAAD(transport, jid string) []byte {
	return []byte(transport + "\x00" + jid)
}

// sealSecrets stores all secrets as one blob: one nonce and tag per
// account, and the secret names are hidden along with the values.
func (s *SQLite) sealSecrets(a Account) ([]byte, error) {
	return s.sealMap(a.Secrets, secretsAAD(a.Transport, a.JID))
}

func (s *SQLite) openSecrets(transport, jid string, blob []byte) (map[string]string, error) {
	m, err := s.openMap(blob, secretsAAD(transport, jid))
	if err != nil {
		return nil, fmt.Errorf("registry: secrets of %s on %s: %w", jid, transport, err)
	}
	return m, nil
}

// sealMap seals secrets as one JSON object bound to its row by aad; no
// secrets is NULL.
func (s *SQLite) sealMap(secrets map[string]string, aad []byte) ([]byte, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	pt, err := json.Marshal(secrets)
	if err != nil {
		return nil, fmt.Errorf("registry: encode secrets: %w", err)
	}
	return s.sealer.Seal(pt, aad)
}

// openMap reads what sealMap stored under the same aad.
func (s *SQLite) openMap(blob, aad []byte) (map[string]string, error) {
	if blob == nil {
		return map[string]string{}, nil
	}
	pt, err := s.sealer.Open(blob, aad)
	if err != nil {
		return nil, err
	}
	return decodeMap(string(pt))
}

// encodeMap writes nil as {} so the column always holds a JSON object.
func encodeMap(m map[string]string) (string, error) {
	if m == nil {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("registry: encode map: %w", err)
	}
	return string(b), nil
}

// decodeMap never returns a nil map, so callers can add keys to what they
// read without checking.
func decodeMap(s string) (map[string]string, error) {
	m := map[string]string{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	if m == nil { // the text was JSON null
		m = map[string]string{}
	}
	return m, nil
}

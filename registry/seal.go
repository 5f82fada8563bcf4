package registry

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// KeySize is the length of a sealing key: AES-256.
const KeySize = 32

// sealV1 is the first byte of every sealed value. A version byte lets a
// later ferry change the algorithm and still recognise (and migrate) what
// an older one wrote, instead of guessing from lengths.
const sealV1 byte = 1

// ErrUnsealable reports a sealed value that the key cannot open: it is
// damaged, was sealed for another row, or the key is not the one it was
// sealed with.
var ErrUnsealable = errors.New("registry: sealed value is corrupt, was sealed for another row, or the key is wrong")

// Sealer seals secrets with AES-256-GCM. The key lives in a file, never in
// the database, so a leaked database file alone does not reveal passwords.
// A Sealer is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a KeySize-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("registry: sealing key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	// The random-nonce mode draws a fresh 96-bit nonce per call and prefixes
	// it, so no caller can ever reuse a nonce. The birthday bound (~2^32
	// seals per key) is far beyond what account writes reach.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext and authenticates it together with aad. The
// result is version byte || nonce || ciphertext+tag. aad is not stored: the
// caller must present the same aad to Open, which is how a sealed value is
// bound to the row it belongs to.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, 1, 1+len(plaintext)+s.aead.Overhead())
	out[0] = sealV1
	return s.aead.Seal(out, nil, plaintext, additional(sealV1, aad)), nil
}

// Open reverses Seal. Any modification of the sealed bytes, a different aad
// or a different key yields an error, never garbage plaintext.
func (s *Sealer) Open(ciphertext, aad []byte) ([]byte, error) {
	if len(ciphertext) == 0 {
		return nil, ErrUnsealable
	}
	if v := ciphertext[0]; v != sealV1 {
		return nil, fmt.Errorf("%w: unknown format version %d", ErrUnsealable, v)
	}
	if len(ciphertext)-1 < s.aead.Overhead() {
		return nil, ErrUnsealable
	}
	pt, err := s.aead.Open(nil, nil, ciphertext[1:], additional(sealV1, aad))
	if err != nil {
		return nil, ErrUnsealable
	}
	return pt, nil
}

// additional authenticates the version byte along with the caller's aad so
// a value cannot be replayed under a different format version.
func additional(version byte, aad []byte) []byte {
	b := make([]byte, 0, 1+len(aad))
	b = append(b, version)
	return append(b, aad...)
}

// LoadOrCreateKey reads the sealing key at path, or creates it with 32
// random bytes and mode 0600 if it does not exist — but only while the
// database at dbPath holds no sealed secrets: a missing key with sealed
// secrets is an error that says how to fix it (ErrKeyMissing), never a
// new key that would silently lock every user out. The directory must
// already exist: creating it here could put the key somewhere the
// operator did not intend. An existing key file that is the wrong length
// or that grants any permission to group or others is refused.
func LoadOrCreateKey(ctx context.Context, path, dbPath string) (*Sealer, error) {
	key, err := readKey(path)
	if errors.Is(err, os.ErrNotExist) {
		sealed, cerr := countSealed(ctx, dbPath)
		if cerr != nil {
			return nil, cerr
		}
		if sealed > 0 {
			return nil, missingKey(path, dbPath, sealed)
		}
		key, err = createKey(path)
		if errors.Is(err, os.ErrExist) {
			key, err = readKey(path) // another ferry made it just now
		}
	}
	if err != nil {
		return nil, err
	}
	return NewSealer(key)
}

// missingKey says what to do about a missing key with sealed secrets.
func missingKey(path, dbPath string, sealed int) error {
	return fmt.Errorf("%w: %s does not exist, but the database %s holds the secrets of %d account(s) sealed with it. "+
		"Restore the key file from your backup (mode 0600). If it is lost for good, run `ferry forget-secrets` "+
		"to delete the stored secrets; those users then enter their passwords again", ErrKeyMissing, path, dbPath, sealed)
}

// ErrKeyMissing reports a missing key file while sealed secrets exist.
var ErrKeyMissing = errors.New("registry: the secrets key file is missing")

// CheckKey applies LoadOrCreateKey's checks without creating anything, for
// check-config: an existing key must be a private regular file of
// KeySize bytes; a missing one is fine (run creates it) provided its
// directory exists and the database at dbPath holds no secrets sealed
// with the missing key.
func CheckKey(ctx context.Context, path, dbPath string) error {
	_, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		dir := filepath.Dir(path)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("registry: key file %s does not exist and cannot be created: no directory %s", path, dir)
		}
		if sealed, err := countSealed(ctx, dbPath); err != nil || sealed > 0 {
			if err != nil {
				return err
			}
			return missingKey(path, dbPath, sealed)
		}
		return nil
	}
	_, err = readKey(path)
	return err
}

// createKey uses O_EXCL so two ferry processes starting together cannot
// both write a key and seal with different ones.
func createKey(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, err
		}
		return nil, fmt.Errorf("registry: create key file %s: %w", path, err)
	}
	key := make([]byte, KeySize)
	rand.Read(key) // never fails since Go 1.24; it aborts the process instead
	_, err = f.Write(key)
	if err == nil {
		// The key must be on disk before anything is sealed with it, or a
		// crash could leave secrets that no key opens.
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path) // a half-written key would be refused on next start anyway
		return nil, fmt.Errorf("registry: write key file %s: %w", path, err)
	}
	return key, nil
}

func readKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("registry: open key file %s: %w", path, err)
	}
	defer f.Close()
	// Stat the open file, not the path, so the checked file is the read one.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("registry: key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("registry: key file %s is not a regular file", path)
	}
	// Windows has no Unix permission bits; its ACLs are the operator's job.
	// Group write is refused too: whoever can replace the key can make ferry
	// seal new secrets with a key they know.
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("registry: key file %s has mode %#o; it must not be accessible to group or others (chmod 600 %s)", path, perm, path)
	}
	// Read one byte more than a key so an oversized file is detected without
	// reading all of it.
	key, err := io.ReadAll(io.LimitReader(f, KeySize+1))
	if err != nil {
		return nil, fmt.Errorf("registry: read key file %s: %w", path, err)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("registry: key file %s is not a %d-byte key", path, KeySize)
	}
	return key, nil
}

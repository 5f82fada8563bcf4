package registry

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func testSealer(t testing.TB) *Sealer {
	t.Helper()
	s, err := NewSealer(testKey(7))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealRoundTrip(t *testing.T) {
	s := testSealer(t)
	for _, pt := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte("secret"), 1000)} {
		ct, err := s.Seal(pt, []byte("aad"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Open(ct, []byte("aad"))
		if err != nil {
			t.Fatalf("Open(Seal(%d bytes)): %v", len(pt), err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("round trip = %q, want %q", got, pt)
		}
	}
}

func TestSealUsesFreshNonce(t *testing.T) {
	s := testSealer(t)
	a, _ := s.Seal([]byte("same"), nil)
	b, _ := s.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical; nonce is not random")
	}
	if a[0] != sealV1 {
		t.Fatalf("header byte = %d, want %d", a[0], sealV1)
	}
}

func TestSealTamper(t *testing.T) {
	s := testSealer(t)
	other, err := NewSealer(testKey(8))
	if err != nil {
		t.Fatal(err)
	}
	aad := []byte("irc.example.org\x00alice@example.org")
	ct, err := s.Seal([]byte(`{"password":"p"}`), aad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(ct)
		c[i] ^= 0x01
		return c
	}
	tests := []struct {
		name   string
		sealer *Sealer
		ct     []byte
		aad    []byte
	}{
		{"flipped header", s, flip(0), aad},
		{"flipped nonce", s, flip(1), aad},
		{"flipped body", s, flip(1 + 12), aad},
		{"flipped tag", s, flip(len(ct) - 1), aad},
		{"wrong aad", s, ct, []byte("irc.example.org\x00mallory@example.org")},
		{"missing aad", s, ct, nil},
		{"wrong key", other, ct, aad},
		{"truncated", s, ct[:len(ct)-1], aad},
		{"header only", s, ct[:1], aad},
		{"empty", s, nil, aad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := tt.sealer.Open(tt.ct, tt.aad)
			if err == nil {
				t.Fatalf("Open succeeded with %q", pt)
			}
		})
	}
}

func TestNewSealerKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer accepted a %d-byte key", n)
		}
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.key")
	s1, err := LoadOrCreateKey(t.Context(), path, filepath.Join(filepath.Dir(path), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %#o, want 0600", fi.Mode().Perm())
	}
	if fi.Size() != KeySize {
		t.Errorf("key file size = %d, want %d", fi.Size(), KeySize)
	}
	// A second load must return the same key, or secrets sealed before a
	// restart would not open after it.
	s2, err := LoadOrCreateKey(t.Context(), path, filepath.Join(filepath.Dir(path), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := s1.Seal([]byte("v"), nil)
	if _, err := s2.Open(ct, nil); err != nil {
		t.Fatalf("reloaded key does not open what the created key sealed: %v", err)
	}
}

func TestLoadOrCreateKeyRejects(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	tests := []struct {
		name    string
		content []byte
		mode    os.FileMode
	}{
		{"world readable", testKey(1), 0o644},
		{"group readable", testKey(1), 0o640},
		{"group writable", testKey(1), 0o620},
		{"too short", testKey(1)[:16], 0o600},
		{"too long", append(testKey(1), 0), 0o600},
		{"empty", nil, 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ferry.key")
			if err := os.WriteFile(path, tt.content, tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil { // umask may have cleared bits
				t.Fatal(err)
			}
			_, err := LoadOrCreateKey(t.Context(), path, filepath.Join(filepath.Dir(path), "ferry.db"))
			if err == nil {
				t.Fatal("LoadOrCreateKey accepted the file")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the key file", err)
			}
			// Refusing must not "repair" the file: the operator decides.
			got, _ := os.ReadFile(path)
			if !bytes.Equal(got, tt.content) {
				t.Error("key file was modified")
			}
		})
	}
}

func TestLoadOrCreateKeyMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "ferry.key")
	_, err := LoadOrCreateKey(t.Context(), path, filepath.Join(filepath.Dir(path), "ferry.db"))
	if err == nil {
		t.Fatal("LoadOrCreateKey created a directory or succeeded without one")
	}
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("error = %v, want a not-exist error naming %s", err, path)
	}
}

// A missing key while the database holds sealed secrets is an error that
// says how to fix it, never a new key; forgetting the secrets keeps the
// accounts and lets a new key be made.
func TestMissingKeyWithSealedSecrets(t *testing.T) {
	s, dbPath := openTestStore(t)
	dir := filepath.Dir(dbPath)
	putAccount(t, s, "irc", "alice@x") // no secrets: a new key may be made
	keyPath := filepath.Join(dir, "ferry.key")
	if _, err := LoadOrCreateKey(t.Context(), keyPath, dbPath); err != nil {
		t.Fatalf("no secrets stored, yet: %v", err)
	}
	a := Account{Transport: "irc", JID: "bob@x", Secrets: map[string]string{"password": "pw"}}
	if err := s.PutAccount(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	_, err := LoadOrCreateKey(t.Context(), keyPath, dbPath)
	if !errors.Is(err, ErrKeyMissing) || !strings.Contains(err.Error(), "forget-secrets") || !strings.Contains(err.Error(), keyPath) {
		t.Fatalf("err = %v", err)
	}
	if _, statErr := os.Stat(keyPath); !errors.Is(statErr, os.ErrNotExist) {
		t.Fatal("a new key was made over sealed secrets")
	}
	if n, err := ForgetSecrets(t.Context(), dbPath); err != nil || n != 1 {
		t.Fatalf("ForgetSecrets = %d, %v", n, err)
	}
	if _, err := LoadOrCreateKey(t.Context(), keyPath, dbPath); err != nil {
		t.Fatalf("after forgetting: %v", err)
	}
	got, err := s.GetAccount(t.Context(), "irc", "bob@x")
	if err != nil || len(got.Secrets) != 0 || got.SealErr != nil {
		t.Fatalf("account after forgetting: %+v %v", got, err)
	}
}

// One account whose secrets do not open fails alone: it is listed without
// them and says why; the others read normally; saving it without new
// secrets keeps the blob for when the right key comes back.
func TestUnsealableAccountFailsAlone(t *testing.T) {
	s, path := openTestStore(t)
	ctx := t.Context()
	for _, j := range []string{"alice@x", "bob@x"} {
		if err := s.PutAccount(ctx, Account{Transport: "irc", JID: j, Secrets: map[string]string{"password": j}}); err != nil {
			t.Fatal(err)
		}
	}
	other, err := Open(ctx, path, mustSealer(t, testKey(9)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	// bob re-registers under the other key: alice's secrets stay sealed
	// with the first one.
	if err := other.PutAccount(ctx, Account{Transport: "irc", JID: "bob@x", Secrets: map[string]string{"password": "new"}}); err != nil {
		t.Fatal(err)
	}
	accts, err := other.ListAccounts(ctx, "irc")
	if err != nil || len(accts) != 2 {
		t.Fatalf("list: %v %v", accts, err)
	}
	if !errors.Is(accts[0].SealErr, ErrUnsealable) || len(accts[0].Secrets) != 0 {
		t.Fatalf("alice: %+v", accts[0])
	}
	if accts[1].SealErr != nil || accts[1].Secrets["password"] != "new" {
		t.Fatalf("bob: %+v", accts[1])
	}
	alice := accts[0]
	alice.Settings = map[string]string{"stay_connected": "true"}
	if err := other.PutAccount(ctx, alice); err != nil {
		t.Fatal(err)
	}
	back, err := s.GetAccount(ctx, "irc", "alice@x")
	if err != nil || back.Secrets["password"] != "alice@x" || back.Settings["stay_connected"] != "true" {
		t.Fatalf("with the right key again: %+v %v", back, err)
	}
}

func mustSealer(t *testing.T, key []byte) *Sealer {
	t.Helper()
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// FuzzOpen checks that arbitrary bytes never make Open panic and never
// authenticate: a corrupt database row must give an error, not a crash.
func FuzzOpen(f *testing.F) {
	s := testSealer(f)
	const secret = `{"password":"hunter2"}`
	valid, err := s.Seal([]byte(secret), []byte("t\x00j"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid, []byte("t\x00j"))
	f.Add(valid[:len(valid)-1], []byte("t\x00j"))
	f.Add([]byte{}, []byte{})
	f.Add([]byte{sealV1}, []byte{})
	f.Add([]byte{2, 0, 0, 0}, []byte("x"))
	f.Add(bytes.Repeat([]byte{sealV1}, 29), []byte{})
	f.Fuzz(func(t *testing.T, ct, aad []byte) {
		pt, err := s.Open(ct, aad)
		if err != nil {
			return
		}
		// Only a genuine seal may open. The fuzzer cannot produce one
		// without the key, so anything accepted must be a seal of the seed
		// plaintext under the seed aad (this run's or a stored corpus one).
		if string(pt) != secret || string(aad) != "t\x00j" {
			t.Fatalf("Open accepted a forged value: %x -> %q", ct, pt)
		}
	})
}

// check-config refuses exactly what run refuses, and creates nothing.
func TestCheckKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, make([]byte, size), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path string
		wantErr    string
	}{
		{"missing, directory exists", filepath.Join(dir, "new.key"), ""},
		{"missing directory", filepath.Join(dir, "nope", "ferry.key"), "no directory"},
		{"good key", write("good.key", KeySize, 0o600), ""},
		{"world-readable", write("open.key", KeySize, 0o644), "must not be accessible to group or others"},
		{"wrong size", write("short.key", 16, 0o600), "is not a 32-byte key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckKey(t.Context(), tc.path, filepath.Join(dir, "ferry.db"))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("CheckKey = %v, want %q", err, tc.wantErr)
			}
			// The same file is refused by run's LoadOrCreateKey.
			if tc.wantErr != "" {
				if _, err := LoadOrCreateKey(t.Context(), tc.path, filepath.Join(dir, "ferry.db")); err == nil {
					t.Error("LoadOrCreateKey accepted what CheckKey refused")
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "new.key")); !errors.Is(err, os.ErrNotExist) {
		t.Error("CheckKey created the key")
	}
}

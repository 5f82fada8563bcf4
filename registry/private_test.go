package registry

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// The database, its WAL and its shared-memory file hold users' addresses
// and messages: whatever the umask, nobody but the owner may read them.
func TestDatabaseFilesArePrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	for _, tc := range []struct {
		name     string
		existing os.FileMode // 0: no file before Open
	}{
		{"new file", 0},
		{"existing world-readable file", 0o644},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ferry.db")
			if tc.existing != 0 {
				s, err := Open(t.Context(), path, testSealer(t), Options{})
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				if err := os.Chmod(path, tc.existing); err != nil {
					t.Fatal(err)
				}
			}
			s, err := Open(t.Context(), path, testSealer(t), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// A write makes sure the WAL and shared-memory files exist.
			if _, err := s.EnqueueBatch(t.Context(), "t", []OutboxEntry{{Stanza: []byte("<message/>")}}); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != 0o600 {
					t.Errorf("%s has mode %#o, want 0600", filepath.Base(p), got)
				}
			}
		})
	}
}

// Migrate opens the file too and must leave it private.
func TestMigrateMakesDatabasePrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	path := filepath.Join(t.TempDir(), "ferry.db")
	s, err := Open(t.Context(), path, testSealer(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Chmod(path, 0o664); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Migrate(t.Context(), path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("after migrate the database has mode %#o, want 0600", got)
	}
}

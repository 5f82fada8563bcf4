package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
)

// privateMode is the mode of every file the store owns. The database holds
// addresses, phone numbers and queued texts: nobody but Ferry's user reads it.
const privateMode fs.FileMode = 0o600

// makePrivate creates the database file with mode 0600 if it is missing and
// takes group and other permissions away from it and from its WAL and
// shared-memory files if they exist. SQLite creates the -wal and -shm files
// with the main file's permission bits, so once the main file is private,
// the files SQLite adds later are too. SQLite's special names (":memory:",
// "file:" URIs) are left to SQLite.
func makePrivate(path string) error {
	if path == ":memory:" || strings.HasPrefix(path, "file:") || runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, privateMode)
	if err != nil {
		return fmt.Errorf("registry: open %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("registry: open %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("registry: %w", err)
		}
		if fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, fi.Mode().Perm()&^0o077); err != nil {
			return fmt.Errorf("registry: make %s private: %w", p, err)
		}
	}
	return nil
}

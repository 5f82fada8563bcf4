package registry

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// TestPingWhenTheDiskIsFull: with every write failing for lack of space,
// Ping fails (a read alone still works then); with room again it passes.
func TestPingWhenTheDiskIsFull(t *testing.T) {
	dir := testenv.Tmpfs(t, 4<<20)
	s, err := Open(t.Context(), filepath.Join(dir, "ferry.db"), testSealer(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping on an empty disk: %v", err)
	}
	free := testenv.FillDisk(t, dir)

	// What Ferry accepts can no longer be stored: a message a user sent
	// while the link is down, say. (SQLite may still fit a first write
	// into WAL space it reuses; the disk being full, the next ones fail.)
	stanza := []byte("<message>" + strings.Repeat("x", 16<<10) + "</message>")
	var werr error
	for i := 0; i < 100 && werr == nil; i++ {
		_, werr = s.EnqueueBatch(ctx, "t", []OutboxEntry{{Stanza: stanza}})
	}
	if werr == nil {
		t.Fatal("100 messages of 16 KiB stored on a full disk")
	}
	if !isFull(werr) {
		t.Fatalf("write on a full disk: %v", werr)
	}
	// Reads still work: the old Ping said the database was fine.
	if _, err := s.PendingCount(ctx, "t"); err != nil {
		t.Fatalf("read on a full disk: %v", err)
	}
	err = s.Ping(ctx)
	if err == nil {
		t.Fatal("Ping passes on a full disk")
	}
	if _, statErr := os.Stat(s.path + "-probe"); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("the probe file was left behind: %v", statErr)
	}

	free()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping with room again: %v", err)
	}
	if _, err := s.EnqueueBatch(ctx, "t", []OutboxEntry{{Stanza: stanza}}); err != nil {
		t.Fatalf("write with room again: %v", err)
	}
}

// isFull tells a write refused for lack of space (SQLite's SQLITE_FULL or
// the file system's ENOSPC).
func isFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || sqliteCode(err)&0xff == 13 || strings.Contains(err.Error(), "database or disk is full")
}

// TestPingProbesLeaveNoTrace: the write probe changes nothing and the disk
// probe removes its file.
func TestPingProbesLeaveNoTrace(t *testing.T) {
	s, path := openTestStore(t)
	before, err := s.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := s.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if after, _ := s.SchemaVersion(t.Context()); after != before {
		t.Fatalf("schema version %d after Ping, was %d", after, before)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), "-probe") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

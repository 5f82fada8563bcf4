//go:build linux

package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// Tmpfs mounts a tmpfs of size bytes on a new directory and returns it;
// the test's cleanup unmounts it (after the test's own cleanups registered
// later, which close what lives there). Mounting needs root: elsewhere the
// test is skipped, except in CI (CI=true), where it fails.
func Tmpfs(t TB, size int64) string {
	t.Helper()
	dir := t.TempDir()
	opts := "size=" + strconv.FormatInt(size, 10) + ",mode=0700"
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testenv: cannot mount a tmpfs on %s (CI runs as root): %v", dir, err)
		}
		t.Skipf("testenv: cannot mount a tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("testenv: unmounting %s: %v", dir, err)
		}
	})
	return dir
}

// FillDisk writes zeros into a file in dir until the file system is full
// and returns a function that removes it again.
func FillDisk(t TB, dir string) (free func()) {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		_, err := f.Write(chunk)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			f.Close()
			t.Fatalf("testenv: filling %s: %v", dir, err)
		}
	}
	// The last blocks: a partial chunk may still fit.
	for _, n := range []int{4096, 512, 1} {
		for {
			if _, err := f.Write(chunk[:n]); err != nil {
				break
			}
		}
	}
	f.Close()
	return func() {
		if err := os.Remove(name); err != nil {
			t.Errorf("testenv: freeing %s: %v", dir, err)
		}
	}
}

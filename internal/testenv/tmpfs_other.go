//go:build !linux

package testenv

import (
	"os"
)

// Tmpfs needs Linux: the test is skipped elsewhere, and fails in CI.
func Tmpfs(t TB, size int64) string {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal("testenv: a tmpfs needs Linux")
	}
	t.Skip("testenv: a tmpfs needs Linux")
	return ""
}

// FillDisk is not reached off Linux (Tmpfs skips first).
func FillDisk(t TB, dir string) (free func()) {
	t.Helper()
	t.Fatal("testenv: FillDisk needs Linux")
	return func() {}
}

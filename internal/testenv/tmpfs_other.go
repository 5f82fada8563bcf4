//go:build !linux

package testenv

import (
	"os"
	"testing"
)

// Tmpfs needs Linux: the test is skipped elsewhere, and fails in CI.
func Tmpfs(t testing.TB, size int64) string {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal("testenv: a tmpfs needs Linux")
	}
	t.Skip("testenv: a tmpfs needs Linux")
	return ""
}

// FillDisk is not reached off Linux (Tmpfs skips first).
func FillDisk(t testing.TB, dir string) (free func()) {
	t.Helper()
	t.Fatal("testenv: FillDisk needs Linux")
	return func() {}
}

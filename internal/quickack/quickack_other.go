//go:build !linux

package quickack

import "syscall"

// setter is nil: only Linux has TCP_QUICKACK.
func setter(syscall.RawConn) func() { return nil }

//go:build !linux

package rawsock

import "syscall"

// Elsewhere the ordinary calls stand in for the raw ones.

func read(fd uintptr, b []byte) (int, syscall.Errno) {
	for {
		n, err := syscall.Read(int(fd), b)
		if err != syscall.EINTR {
			return max(n, 0), errnoOf(err)
		}
	}
}

func write(fd uintptr, b []byte) (int, syscall.Errno) {
	for {
		n, err := syscall.Write(int(fd), b)
		if err != syscall.EINTR {
			return max(n, 0), errnoOf(err)
		}
	}
}

// SetsockoptInt sets an integer socket option.
func SetsockoptInt(fd uintptr, level, opt, value int) syscall.Errno {
	return errnoOf(syscall.SetsockoptInt(int(fd), level, opt, value))
}

func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO
}

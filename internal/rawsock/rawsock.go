// Package rawsock reads and writes non-blocking sockets with raw system
// calls, waiting through Go's poller (and within the connection's
// deadlines) exactly as net.Conn does when a socket has nothing to read or
// no room to write.
//
// Why not net.Conn's own Read and Write: the runtime enters every system
// call they make as one that might block (so that it can hand the thread's
// processor to another), and the first such call after the process was
// idle wakes the runtime's monitor thread, which then polls every 20 µs
// for a while before it sleeps again. A gateway that is idle between most
// messages paid that at nearly every message: in the load tool it was a
// third of Ferry's CPU in the private-message round trip. A read or write
// on a non-blocking socket never blocks (the kernel answers EAGAIN
// instead), so it needs none of that bookkeeping.
package rawsock

import (
	"io"
	"os"
	"syscall"
)

// Read reads into b what the socket behind raw holds, waiting through
// Go's poller until it holds something, the peer closes it (io.EOF) or the
// read deadline passes (an error matching os.ErrDeadlineExceeded).
func Read(raw syscall.RawConn, b []byte) (int, error) { return readSocket(raw, b, true) }

// ReadNow reads what the socket holds now, never waiting: ErrWouldBlock
// when it holds nothing, io.EOF when the peer has closed it.
func ReadNow(raw syscall.RawConn, b []byte) (int, error) { return readSocket(raw, b, false) }

func readSocket(raw syscall.RawConn, b []byte, wait bool) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	var (
		n     int
		errno syscall.Errno
	)
	err := raw.Read(func(fd uintptr) bool {
		n, errno = read(fd, b)
		return !wait || errno != syscall.EAGAIN // false: the poller waits for data
	})
	switch {
	case err != nil:
		return 0, err // closed, or the deadline passed
	case errno == syscall.EAGAIN:
		return 0, ErrWouldBlock
	case errno != 0:
		return 0, os.NewSyscallError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of b to the socket behind raw, waiting through Go's
// poller while its send buffer is full; it stops at the first error or
// when the write deadline passes, and returns how much was written.
func Write(raw syscall.RawConn, b []byte) (int, error) {
	var (
		n     int
		errno syscall.Errno
	)
	err := raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			w, e := write(fd, b[n:])
			switch e {
			case 0:
				n += w
			case syscall.EAGAIN:
				return false // full: let the poller wait for room
			default:
				errno = e
				return true
			}
		}
		return true
	})
	switch {
	case err != nil:
		return n, err
	case errno != 0:
		return n, os.NewSyscallError("write", errno)
	}
	return n, nil
}

// ErrWouldBlock is ReadNow's error when the socket has nothing to read.
// It is a timeout, so that a crypto/tls connection reading through it
// keeps its state and can be read again later (as after a read deadline).
var ErrWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "rawsock: nothing to read yet" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

package ircconn

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// errLineTooLong is a line longer than the IRC limits with tags allow.
var errLineTooLong = errors.New("line too long")

const (
	// readInitial is the read buffer of a quiet connection; most IRC
	// lines fit it whole.
	readInitial = 512
	// readMax is the longest line accepted: 8191 bytes of tags, 512 of
	// message, and some slack for servers that count differently.
	readMax = 8191 + 512 + 512
)

// lineReader splits a connection into IRC lines. Its buffer grows for a
// burst or a long line and shrinks back once the connection is quiet, so
// thousands of idle connections hold half a kilobyte each.
type lineReader struct {
	r          io.Reader
	buf        []byte
	start, end int   // buffered data not yet returned
	lastRead   int   // bytes the last Read brought
	total      int64 // bytes read so far
}

// idleBuffers hold the read buffers of watched connections between reads:
// a connection waiting for the server holds none.
var idleBuffers = sync.Pool{New: func() any { return new([readInitial]byte) }}

// release gives the buffer back when nothing is buffered (a partial line
// keeps it).
func (lr *lineReader) release() {
	if lr.start != lr.end || lr.buf == nil {
		return
	}
	if cap(lr.buf) == readInitial {
		idleBuffers.Put((*[readInitial]byte)(lr.buf[:readInitial]))
	}
	lr.buf, lr.start, lr.end = nil, 0, 0
}

// readLine returns the next line without its CR LF (a bare LF ends one
// too). The line is valid until the next call.
func (lr *lineReader) readLine() ([]byte, error) {
	for {
		if i := bytes.IndexByte(lr.buf[lr.start:lr.end], '\n'); i >= 0 {
			line := lr.buf[lr.start : lr.start+i]
			lr.start += i + 1
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			return line, nil
		}
		if err := lr.fill(); err != nil {
			return nil, err
		}
	}
}

// fill reads more into the buffer, making room first.
func (lr *lineReader) fill() error {
	switch {
	case lr.start == lr.end:
		lr.start, lr.end = 0, 0
		if cap(lr.buf) > readInitial && lr.lastRead < cap(lr.buf)/4 {
			lr.buf = nil // the burst is over
		}
	case lr.start > 0:
		lr.end = copy(lr.buf, lr.buf[lr.start:lr.end])
		lr.start = 0
	}
	if lr.buf == nil {
		lr.buf = idleBuffers.Get().(*[readInitial]byte)[:]
	}
	if lr.end == len(lr.buf) {
		if len(lr.buf) >= readMax {
			return errLineTooLong
		}
		grown := make([]byte, min(2*len(lr.buf), readMax))
		copy(grown, lr.buf[:lr.end])
		lr.buf = grown
	}
	n, err := lr.r.Read(lr.buf[lr.end:])
	lr.end += n
	lr.lastRead = n
	lr.total += int64(n)
	if n > 0 {
		return nil // a complete line may have arrived with the error
	}
	return err
}

package ircconn

import (
	"io"
	"testing"
	"time"
)

// A watched connection is read when lines come, a line split across reads
// included, and its watch ends with it.
func TestWatchedConnection(t *testing.T) {
	if *serveFlag || testPoller == nil {
		t.Skip("connections are served by goroutines in this run")
	}
	s := newFakeServer(t)
	before := testPoller.Len()
	c, p := registered(t, s, baseConfig(s.addr()))
	if testPoller.Len() != before+1 {
		t.Fatalf("watched sockets %d, want %d", testPoller.Len(), before+1)
	}
	// A line through the reader: afterwards it is idle again.
	p.send(":bob!b@h PRIVMSG alice :one")
	if m := next(t, c); m.Params[1] != "one" {
		t.Fatalf("got %v", m.Params)
	}
	// A partial line is kept until its end arrives.
	p.sendRaw(":bob!b@h PRIVMSG alice :tw")
	waitNoReader(t, c)
	p.sendRaw("o\r\n")
	if m := next(t, c); m.Params[1] != "two" {
		t.Fatalf("got %v", m.Params)
	}
	closeQuick(c)
	waitClosed(t, c)
	if testPoller.Len() != before {
		t.Fatalf("watched sockets %d after close, want %d", testPoller.Len(), before)
	}
}

// waitNoReader waits until no read job runs for c (the job that read
// the last line has finished with the socket). The atomic load orders
// the test's later reads after the job's writes.
func waitNoReader(t *testing.T, c *Conn) {
	t.Helper()
	deadline := time.Now().Add(step)
	for c.kicks.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the read job did not finish")
		}
		time.Sleep(time.Millisecond) // polling an atomic counter: the job has no event to wait on
	}
}

// The read buffer goes back to the pool once everything read was handled,
// and stays while a partial line waits for its end.
func TestLineReaderRelease(t *testing.T) {
	r := &chunkReader{chunks: []string{"PING a\r\nPI", "NG b\r\n"}}
	lr := lineReader{r: r}
	for _, want := range []string{"PING a", "PING b"} {
		line, err := lr.readLine()
		if err != nil || string(line) != want {
			t.Fatalf("readLine = %q, %v; want %q", line, err, want)
		}
		if want == "PING a" {
			lr.release()
			if lr.buf == nil {
				t.Fatal("released the buffer holding a partial line")
			}
		}
	}
	lr.release()
	if lr.buf != nil {
		t.Fatal("kept the buffer with nothing buffered")
	}
	if _, err := lr.readLine(); err != io.EOF {
		t.Fatalf("readLine at the end = %v", err)
	}
}

// chunkReader returns its chunks one Read at a time, then io.EOF.
type chunkReader struct{ chunks []string }

func (r *chunkReader) Read(b []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(b, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	if r.chunks[0] == "" {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

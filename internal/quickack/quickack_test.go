package quickack

import (
	"io"
	"net"
	"runtime"
	"testing"
)

// A wrapped connection reads and writes as before; on Linux it is
// wrapped, elsewhere returned as it is.
func TestWrapKeepsTheConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.WriteString(c, "hello")
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	w := Wrap(c)
	defer w.Close()
	if _, isWrapped := w.(*conn); isWrapped != (runtime.GOOS == "linux") {
		t.Fatalf("wrapped = %v on %s", isWrapped, runtime.GOOS)
	}
	b, err := io.ReadAll(w)
	if err != nil || string(b) != "hello" {
		t.Fatalf("read %q, %v", b, err)
	}
	pipe, _ := net.Pipe()
	if Wrap(pipe) != pipe {
		t.Fatal("a connection that is not TCP was wrapped")
	}
}

package main

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// runner is the load tool's testenv.TB: servers started through
// internal/testenv register their clean-ups here, and a fatal start-up error
// unwinds to main, which runs the clean-ups and exits non-zero.
type runner struct {
	log io.Writer

	mu       sync.Mutex
	cleanups []func()
	failed   bool
	dir      string // parent of every TempDir, removed at the end
	ntemp    int
}

// fatal is what Fatalf and Skipf panic with; main recovers it.
type fatal struct{ msg string }

func newRunner(log io.Writer, dir string) *runner {
	return &runner{log: log, dir: dir}
}

func (r *runner) Helper() {}

func (r *runner) Logf(format string, args ...any) {
	fmt.Fprintf(r.log, format+"\n", args...)
}

func (r *runner) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
	panic(fatal{fmt.Sprintf(format, args...)})
}

// Errorf records a failure and goes on.
func (r *runner) Errorf(format string, args ...any) {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
	fmt.Fprintf(r.log, "error: "+format+"\n", args...)
}

func (r *runner) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

func (r *runner) Skip(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

// Skipf is fatal too: a missing server is not something a load run can go
// on without (testenv says which package installs it).
func (r *runner) Skipf(format string, args ...any) { r.Fatalf(format, args...) }

func (r *runner) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *runner) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *runner) TempDir() string {
	r.mu.Lock()
	r.ntemp++
	n := r.ntemp
	r.mu.Unlock()
	d := fmt.Sprintf("%s/%03d", r.dir, n)
	if err := os.MkdirAll(d, 0o700); err != nil {
		r.Fatalf("load: %v", err)
	}
	return d
}

// close runs the clean-ups, last registered first.
func (r *runner) close() {
	for {
		r.mu.Lock()
		n := len(r.cleanups)
		if n == 0 {
			r.mu.Unlock()
			return
		}
		f := r.cleanups[n-1]
		r.cleanups = r.cleanups[:n-1]
		r.mu.Unlock()
		f()
	}
}

package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// profileChunk is the length of each CPU profile fetched from Ferry's
// profiler during a scenario. The endpoint wants a duration up front and a
// scenario's length is not known, so the profile is taken in chunks that
// `go tool pprof` merges when given them all.
const profileChunk = 2 * time.Second

// profiler saves Ferry's CPU profile while a scenario runs and its heap
// profile once the scenario is over, into dir as <scenario>-cpu-N.pprof
// and <scenario>-heap.pprof.
type profiler struct {
	base string // http://127.0.0.1:PORT/debug/pprof
	dir  string
}

// profiled is implemented by gateways that serve Go's profiler.
type profiled interface {
	profilerURL() string
}

// startCPU starts saving CPU profile chunks; the returned function stops
// after the chunk under way and returns the first error met.
func (p profiler) startCPU(scenario string) (stop func() error) {
	var (
		mu   sync.Mutex
		done bool
		err  error
		wg   sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			mu.Lock()
			if done || err != nil {
				mu.Unlock()
				return
			}
			mu.Unlock()
			url := fmt.Sprintf("%s/profile?seconds=%d", p.base, int(profileChunk/time.Second))
			e := p.save(url, fmt.Sprintf("%s-cpu-%03d.pprof", scenario, n))
			mu.Lock()
			if err == nil {
				err = e
			}
			mu.Unlock()
		}
	}()
	return func() error {
		mu.Lock()
		done = true
		mu.Unlock()
		wg.Wait()
		return err
	}
}

// saveHeap saves the heap profile as it is now (after a collection).
func (p profiler) saveHeap(scenario string) error {
	return p.save(p.base+"/heap?gc=1", scenario+"-heap.pprof")
}

func (p profiler) save(url, name string) error {
	client := &http.Client{Timeout: profileChunk + 30*time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(filepath.Join(p.dir, name))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

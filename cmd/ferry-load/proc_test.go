package main

import (
	"os"
	"testing"
)

func TestParseSchedstat(t *testing.T) {
	ns, err := parseSchedstat([]byte("123456789 4242 17\n"))
	if err != nil || ns != 123456789 {
		t.Errorf("parseSchedstat = %d, %v", ns, err)
	}
	for _, bad := range []string{"", "\n", "abc 1 2"} {
		if _, err := parseSchedstat([]byte(bad)); err == nil {
			t.Errorf("parseSchedstat(%q) accepted", bad)
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name, stat string
		want       int64
		ok         bool
	}{
		{"plain", "42 (ferry) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 12 0 100 1000 300", 325, true},
		{"name with spaces and parentheses", "42 (a (b) c) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0", 10, true},
		{"truncated", "42 (x) S 1 2 3", 0, false},
		{"no name", "42 x S", 0, false},
		{"not a number", "42 (x) S 1 42 42 0 -1 0 0 0 0 0 u 3 0", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.stat))
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("parseStatCPU = %d, %v; want %d, ok=%v", got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tferry\nVmPeak:\t 900 kB\nVmRSS:\t   23456 kB\nThreads:\t12\n"
	got, err := parseVmRSS([]byte(status))
	if err != nil || got != 23456*1024 {
		t.Errorf("parseVmRSS = %d, %v", got, err)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\n", "VmRSS:\tx kB\n"} {
		if _, err := parseVmRSS([]byte(bad)); err == nil {
			t.Errorf("parseVmRSS(%q) accepted", bad)
		}
	}
}

func TestParseGauge(t *testing.T) {
	text := "# HELP go_goroutines Number of goroutines.\n# TYPE go_goroutines gauge\ngo_goroutines_extra 9\ngo_goroutines 117\ngo_threads 12\n"
	if got, err := parseGauge([]byte(text), "go_goroutines"); err != nil || got != 117 {
		t.Errorf("parseGauge = %v, %v", got, err)
	}
	if _, err := parseGauge([]byte(text), "process_open_fds"); err == nil {
		t.Error("a missing metric was found")
	}
}

// The readers work on a real process: this one.
func TestOwnProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	cpu, err := cpuTime(os.Getpid())
	if err != nil || cpu <= 0 {
		t.Errorf("cpuTime = %d, %v", cpu, err)
	}
	rss, err := rssBytes(os.Getpid())
	if err != nil || rss <= 0 {
		t.Errorf("rssBytes = %d, %v", rss, err)
	}
}

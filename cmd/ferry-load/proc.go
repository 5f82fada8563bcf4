package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100
// on every Linux architecture Go supports.
const clockTicks = 100

// cpuTime is the CPU time a process has used, in nanoseconds: the sum over
// its threads of the first field of /proc/PID/task/TID/schedstat (time on
// a CPU, in ns), or utime+stime from /proc/PID/stat when schedstat is not
// there (a kernel without CONFIG_SCHEDSTATS).
func cpuTime(pid int) (int64, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err == nil && len(tasks) > 0 {
		var sum int64
		found := false
		for _, f := range tasks {
			b, err := os.ReadFile(f)
			if err != nil {
				continue // the thread has just exited
			}
			ns, err := parseSchedstat(b)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", f, err)
			}
			sum += ns
			found = true
		}
		if found {
			return sum, nil
		}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	ticks, err := parseStatCPU(b)
	if err != nil {
		return 0, err
	}
	return ticks * (1e9 / clockTicks), nil
}

// parseSchedstat reads the first field of a schedstat line: nanoseconds on
// a CPU.
func parseSchedstat(b []byte) (int64, error) {
	f := bytes.Fields(b)
	if len(f) < 1 {
		return 0, errors.New("empty schedstat")
	}
	return strconv.ParseInt(string(f[0]), 10, 64)
}

// parseStatCPU reads utime+stime (fields 14 and 15) from /proc/PID/stat.
// The command name (field 2) is in parentheses and may hold spaces and
// parentheses itself, so counting starts after the last ')'.
func parseStatCPU(b []byte) (int64, error) {
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return 0, errors.New("stat without a command name")
	}
	f := bytes.Fields(b[end+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, errors.New("stat too short")
	}
	utime, err := strconv.ParseInt(string(f[11]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime: %w", err)
	}
	stime, err := strconv.ParseInt(string(f[12]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime: %w", err)
	}
	return utime + stime, nil
}

// rssBytes is the resident set size of a process (VmRSS).
func rssBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmRSS(b)
}

func parseVmRSS(b []byte) (int64, error) {
	s := bufio.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		line := s.Text()
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS: %w", err)
		}
		return kb * 1024, nil
	}
	return 0, errors.New("no VmRSS in status")
}

// parseGauge finds an unlabelled sample of a metric in Prometheus text
// exposition format ("go_goroutines 42").
func parseGauge(text []byte, name string) (float64, error) {
	s := bufio.NewScanner(bytes.NewReader(text))
	s.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for s.Scan() {
		line := s.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || len(rest) == 0 || rest[0] != ' ' {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 1 {
			break
		}
		return strconv.ParseFloat(f[0], 64)
	}
	return 0, fmt.Errorf("no %s sample", name)
}

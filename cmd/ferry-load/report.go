package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// metric is one figure of one gateway in one scenario.
type metric struct {
	name  string // row label, with its unit: "CPU per delivery (µs)"
	value float64
	ok    bool // false: not measured or not applicable ("—")
}

// result is what one gateway did in one scenario.
type result struct {
	gateway string
	metrics []metric
	notes   []string // surprises worth a line under the table (errors, disconnects)
}

func (r *result) add(name string, v float64) {
	r.metrics = append(r.metrics, metric{name: name, value: v, ok: !math.IsNaN(v) && !math.IsInf(v, 0)})
}

func (r *result) absent(name string) {
	r.metrics = append(r.metrics, metric{name: name})
}

func (r *result) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func (r *result) get(name string) (metric, bool) {
	for _, m := range r.metrics {
		if m.name == name {
			return m, true
		}
	}
	return metric{}, false
}

// Row names shared by the scenarios.
const (
	rowExpected   = "deliveries expected"
	rowDelivered  = "delivered"
	rowLost       = "lost"
	rowDuplicated = "duplicated"
	rowRate       = "deliveries/s"
	rowCPUTotal   = "gateway CPU (s)"
	rowCPU        = "gateway CPU per delivery (µs)"
	rowP50        = "latency p50 (ms)"
	rowP95        = "latency p95 (ms)"
	rowP99        = "latency p99 (ms)"
	rowRSSBefore  = "RSS before (MB)"
	rowRSSAfter   = "RSS after (MB)"
	rowGorBefore  = "goroutines before"
	rowGorAfter   = "goroutines after"
)

// section is one scenario's table.
type section struct {
	title   string
	results []*result
}

// writeMarkdown prints a table per section: one row per figure, a column
// per gateway, and Ferry/biboumi when both ran.
func writeMarkdown(w io.Writer, sections []section) {
	for _, s := range sections {
		fmt.Fprintf(w, "\n### %s\n\n", s.title)
		if len(s.results) == 0 {
			fmt.Fprintln(w, "(no gateway ran)")
			continue
		}
		var ferry, bib *result
		header := []string{"figure"}
		for _, r := range s.results {
			header = append(header, r.gateway)
			switch r.gateway {
			case "Ferry":
				ferry = r
			case "biboumi":
				bib = r
			}
		}
		withRatio := ferry != nil && bib != nil
		if withRatio {
			header = append(header, "Ferry/biboumi")
		}
		fmt.Fprintln(w, "| "+strings.Join(header, " | ")+" |")
		fmt.Fprintln(w, "|"+strings.Repeat("---|", len(header)))
		for _, name := range rowNames(s.results) {
			row := []string{name}
			for _, r := range s.results {
				m, _ := r.get(name)
				row = append(row, formatValue(m))
			}
			if withRatio {
				f, _ := ferry.get(name)
				b, _ := bib.get(name)
				row = append(row, ratio(f, b))
			}
			fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
		}
		for _, r := range s.results {
			for _, n := range r.notes {
				fmt.Fprintf(w, "\n- %s: %s", r.gateway, n)
			}
		}
		fmt.Fprintln(w)
	}
}

// rowNames lists every figure in the order the results first name them.
func rowNames(results []*result) []string {
	var names []string
	seen := map[string]bool{}
	for _, r := range results {
		for _, m := range r.metrics {
			if !seen[m.name] {
				seen[m.name] = true
				names = append(names, m.name)
			}
		}
	}
	return names
}

func formatValue(m metric) string {
	if !m.ok {
		return "—"
	}
	v := m.value
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return groupThousands(strconv.FormatInt(int64(v), 10))
	case math.Abs(v) >= 100:
		return groupThousands(strconv.FormatFloat(v, 'f', 0, 64))
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// groupThousands writes 23100 as 23,100.
func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// ratio is Ferry's figure divided by biboumi's; "—" when either is missing
// or biboumi's is zero.
func ratio(f, b metric) string {
	if !f.ok || !b.ok || b.value == 0 {
		return "—"
	}
	return strconv.FormatFloat(f.value/b.value, 'f', 2, 64)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mb(bytes int64) float64 { return float64(bytes) / (1 << 20) }

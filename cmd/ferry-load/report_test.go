package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestFormatValue(t *testing.T) {
	tests := []struct {
		m    metric
		want string
	}{
		{metric{value: 23100, ok: true}, "23,100"},
		{metric{value: 0, ok: true}, "0"},
		{metric{value: -1234567, ok: true}, "-1,234,567"},
		{metric{value: 5504.4, ok: true}, "5,504"},
		{metric{value: 44.56, ok: true}, "44.6"},
		{metric{value: 4.141, ok: true}, "4.14"},
		{metric{value: 7}, "—"},
	}
	for _, tt := range tests {
		if got := formatValue(tt.m); got != tt.want {
			t.Errorf("formatValue(%+v) = %q, want %q", tt.m, got, tt.want)
		}
	}
}

func TestRatio(t *testing.T) {
	ok := func(v float64) metric { return metric{value: v, ok: true} }
	if got := ratio(ok(50), ok(10)); got != "5.00" {
		t.Errorf("ratio = %q", got)
	}
	for _, pair := range [][2]metric{{ok(1), ok(0)}, {ok(1), {}}, {{}, ok(1)}} {
		if got := ratio(pair[0], pair[1]); got != "—" {
			t.Errorf("ratio(%+v, %+v) = %q, want —", pair[0], pair[1], got)
		}
	}
}

func TestResultAddRejectsNaN(t *testing.T) {
	r := &result{}
	r.add("x", math.NaN())
	r.add("y", math.Inf(1))
	for _, name := range []string{"x", "y"} {
		if m, _ := r.get(name); m.ok {
			t.Errorf("%s is a number: %+v", name, m)
		}
	}
}

func TestWriteMarkdown(t *testing.T) {
	f := &result{gateway: "Ferry"}
	f.add(rowLost, 3)
	f.add(rowGorAfter, 31)
	f.note("something odd")
	b := &result{gateway: "biboumi"}
	b.add(rowLost, 0)
	b.absent(rowGorAfter)
	b.add(rowCPU, 12)
	var out bytes.Buffer
	writeMarkdown(&out, []section{{title: "burst", results: []*result{f, b}}})
	got := out.String()
	for _, want := range []string{
		"### burst",
		"| figure | Ferry | biboumi | Ferry/biboumi |",
		"| lost | 3 | 0 | — |",
		"| goroutines after | 31 | — | — |",
		"| " + rowCPU + " | — | 12 | — |",
		"- Ferry: something odd",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

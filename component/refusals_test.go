package component

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestRefusalLogSummarises(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r := newRefusalLog(10*time.Second, clk.Now)

	for i := 0; i < 1000; i++ {
		r.refused(log, "flood@x.test", "message")
	}
	r.refused(log, "other@x.test", "iq")
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("%d lines for 1001 refusals from two senders:\n%s", n, buf.String())
	}
	clk.advance(10 * time.Second)
	r.refused(log, "flood@x.test", "message")
	if !strings.Contains(buf.String(), "refused=1000") {
		t.Fatalf("no summary with the count:\n%s", buf.String())
	}
}

func TestRefusalLogIsBounded(t *testing.T) {
	log := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r := newRefusalLog(10*time.Second, clk.Now)
	for i := 0; i < 5*refusalLogLimit; i++ {
		if i%refusalLogLimit == 0 {
			clk.advance(10 * time.Second)
		}
		r.refused(log, "u"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+time.Duration(i).String(), "presence")
	}
	if len(r.byUser) > refusalLogLimit+1 {
		t.Fatalf("%d senders remembered", len(r.byUser))
	}
}

package supervise

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRecoverLogsCountsAndReports(t *testing.T) {
	var logs bytes.Buffer
	var count atomic.Int32
	s := New(slog.New(slog.NewTextHandler(&logs, nil)), func() { count.Add(1) })
	panicked := false
	func() {
		defer s.Recover("unit of work", &panicked)
		panic("assignment to entry in nil map")
	}()
	if !panicked || count.Load() != 1 {
		t.Fatalf("panicked=%v count=%d", panicked, count.Load())
	}
	out := logs.String()
	if !strings.Contains(out, "unit of work") || !strings.Contains(out, "assignment to entry in nil map") || !strings.Contains(out, "supervise_test.go") {
		t.Fatalf("log lacks what, panic or stack: %s", out)
	}
}

func TestNilSupervisorStillRecovers(t *testing.T) {
	var s *Supervisor
	done := make(chan struct{})
	s.Go("nil supervisor", func() {
		defer close(done)
		panic("ignored")
	})
	<-done
	if len(s.Down()) != 0 {
		t.Fatal("nil supervisor reports problems")
	}
}

func TestLoopRestartsAfterPanicAndReportsDown(t *testing.T) {
	s := New(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)), nil)
	var downWhilePausing []Problem
	s.pause = func(context.Context, time.Duration) bool {
		downWhilePausing = s.Down()
		return true
	}
	runs := 0
	s.Loop(context.Background(), "bridge sms", func(ctx context.Context) error {
		runs++
		if runs == 1 {
			panic("first run dies")
		}
		return nil
	})
	if runs != 2 {
		t.Fatalf("runs = %d, want a restart after the panic", runs)
	}
	if len(downWhilePausing) != 1 || downWhilePausing[0].Subsystem != "bridge sms" || !strings.Contains(downWhilePausing[0].Why, "panic") {
		t.Fatalf("down while waiting to restart = %+v", downWhilePausing)
	}
	if len(s.Down()) != 0 {
		t.Fatalf("still down after a clean return: %+v", s.Down())
	}
}

func TestLoopStopsWithContext(t *testing.T) {
	s := New(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)), nil)
	ctx, cancel := context.WithCancel(context.Background())
	s.pause = func(context.Context, time.Duration) bool { cancel(); return false }
	s.Loop(ctx, "x", func(context.Context) error { panic("again") })
	if len(s.Down()) != 0 {
		t.Fatalf("a stopped loop is not down: %+v", s.Down())
	}
}

func TestLoopErrorStaysDown(t *testing.T) {
	s := New(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)), nil)
	s.Loop(context.Background(), "queue", func(context.Context) error { return errors.New("disk gone") })
	d := s.Down()
	if len(d) != 1 || !strings.Contains(d[0].Why, "disk gone") {
		t.Fatalf("down = %+v", d)
	}
}

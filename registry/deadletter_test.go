package registry

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

func TestDeadLetters(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	t0 := time.Date(2025, 6, 7, 8, 9, 10, 11, time.UTC)
	s.now = func() time.Time { return t0.Add(time.Hour) }
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	ids := map[string]int64{}
	var last int64
	for _, d := range []DeadLetter{
		{Transport: "sms", Reason: "a", Payload: []byte("pa"), CreatedAt: at(1)},
		{Transport: "sms", Reason: "c", Payload: []byte("pc"), CreatedAt: at(3)},
		// Stored late but created earlier (e.g. a replayed webhook).
		{Transport: "sms", Reason: "b", Payload: []byte{0, 1, 2}, CreatedAt: at(2)},
		// Same created_at as "c": the later insert is the newer.
		{Transport: "sms", Reason: "c2", CreatedAt: at(3)},
		// Zero CreatedAt is the store's clock; nil payload is empty.
		{Transport: "sms", Reason: "now", ID: 999},
		{Transport: "sms2", Reason: "other", Payload: []byte("po"), CreatedAt: at(9)},
	} {
		id, err := s.PutDeadLetter(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if id <= last {
			t.Fatalf("id %d after %d: ids must grow", id, last)
		}
		last = id
		ids[d.Reason] = id
	}
	all := []string{"now", "c2", "c", "b", "a"}
	tests := []struct {
		name      string
		transport string
		limit     int
		want      []string
	}{
		{"all, limit 0", "sms", 0, all},
		{"all, negative limit", "sms", -5, all},
		{"limit", "sms", 2, all[:2]},
		{"limit beyond", "sms", 50, all},
		{"other transport", "sms2", 0, []string{"other"}},
		{"unknown transport", "none", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListDeadLetters(ctx, tt.transport, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var reasons []string
			for _, d := range got {
				reasons = append(reasons, d.Reason)
			}
			if !slices.Equal(reasons, tt.want) {
				t.Fatalf("ListDeadLetters = %v, want %v", reasons, tt.want)
			}
		})
	}
	// Rows come back whole.
	got, err := s.ListDeadLetters(ctx, "sms", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]DeadLetter{
		"now": {ID: ids["now"], Transport: "sms", Reason: "now", CreatedAt: t0.Add(time.Hour)},
		"b":   {ID: ids["b"], Transport: "sms", Reason: "b", Payload: []byte{0, 1, 2}, CreatedAt: at(2)},
	}
	for _, d := range got {
		w, ok := want[d.Reason]
		if !ok {
			continue
		}
		if d.ID != w.ID || d.Transport != w.Transport || !bytes.Equal(d.Payload, w.Payload) || !d.CreatedAt.Equal(w.CreatedAt) {
			t.Errorf("dead letter %q = %+v, want %+v", d.Reason, d, w)
		}
	}
	if _, err := s.PutDeadLetter(ctx, DeadLetter{Reason: "no transport"}); err == nil {
		t.Error("PutDeadLetter without a transport succeeded")
	}
}

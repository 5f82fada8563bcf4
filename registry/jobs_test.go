package registry

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// jobT0 is the base of the controlled clock in job tests.
var jobT0 = time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)

func putJob(t *testing.T, s *SQLite, j Job) {
	t.Helper()
	if err := s.PutJob(t.Context(), j); err != nil {
		t.Fatalf("PutJob(%s): %v", j.ID, err)
	}
}

func jobIDs(js []Job) []string {
	var ids []string
	for _, j := range js {
		ids = append(ids, j.ID)
	}
	return ids
}

func sameJob(a, b Job) bool {
	return a.ID == b.ID && a.Transport == b.Transport && a.JID == b.JID && a.Kind == b.Kind &&
		bytes.Equal(a.Payload, b.Payload) && a.State == b.State && a.Attempts == b.Attempts &&
		a.NextAt.Equal(b.NextAt) && a.Ref == b.Ref && a.LastError == b.LastError &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func TestJobRoundTrip(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	s.now = func() time.Time { return jobT0 }
	putAccount(t, s, "sms", "alice@x")
	tests := []struct {
		name string
		in   Job
		want Job // as read back
	}{
		{"all fields",
			Job{ID: "a", Transport: "sms", JID: "alice@x", Kind: "sms-out", Payload: []byte(`{"to":"+1"}`),
				State: "pending", Attempts: 2, NextAt: jobT0.Add(time.Minute), Ref: "SM1", LastError: "503",
				CreatedAt: jobT0.Add(-time.Hour), UpdatedAt: jobT0.Add(time.Hour)},
			Job{ID: "a", Transport: "sms", JID: "alice@x", Kind: "sms-out", Payload: []byte(`{"to":"+1"}`),
				State: "pending", Attempts: 2, NextAt: jobT0.Add(time.Minute), Ref: "SM1", LastError: "503",
				CreatedAt: jobT0.Add(-time.Hour), UpdatedAt: jobT0}},
		{"defaults: nil payload, zero times mean now",
			Job{ID: "b", Transport: "sms", JID: "alice@x", Kind: "opt-out", State: "active"},
			Job{ID: "b", Transport: "sms", JID: "alice@x", Kind: "opt-out", State: "active",
				NextAt: jobT0, CreatedAt: jobT0, UpdatedAt: jobT0}},
		{"binary payload",
			Job{ID: "c", Transport: "sms", JID: "alice@x", Kind: "k", State: "s", Payload: []byte{0, 0xff, 0}},
			Job{ID: "c", Transport: "sms", JID: "alice@x", Kind: "k", State: "s", Payload: []byte{0, 0xff, 0},
				NextAt: jobT0, CreatedAt: jobT0, UpdatedAt: jobT0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			putJob(t, s, tt.in)
			got, err := s.GetJob(ctx, tt.in.Transport, tt.in.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !sameJob(got, tt.want) {
				t.Fatalf("GetJob = %+v\nwant    %+v", got, tt.want)
			}
		})
	}
	if _, err := s.GetJob(ctx, "sms", "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetJob(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetJob(ctx, "other", "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetJob(other transport) = %v, want ErrNotFound", err)
	}
}

func TestPutJobErrors(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putAccount(t, s, "sms", "alice@x")
	putAccount(t, s, "sms", "bob@x")
	putAccount(t, s, "sms2", "alice@x")
	putJob(t, s, Job{ID: "dup", Transport: "sms", JID: "alice@x", Kind: "k", State: "s"})
	ok := Job{ID: "x", Transport: "sms", JID: "alice@x", Kind: "k", State: "s"}
	with := func(f func(*Job)) Job { j := ok; f(&j); return j }
	tests := []struct {
		name string
		j    Job
		want error // nil: any error; errNone: success
	}{
		{"duplicate id", with(func(j *Job) { j.ID = "dup" }), ErrConflict},
		{"duplicate id, other account", with(func(j *Job) { j.ID, j.JID = "dup", "bob@x" }), ErrConflict},
		{"same id on another transport", with(func(j *Job) { j.ID, j.Transport = "dup", "sms2" }), errNone},
		{"no such account", with(func(j *Job) { j.JID = "ghost@x" }), ErrNotFound},
		{"account on another transport only", with(func(j *Job) { j.Transport, j.JID = "sms2", "bob@x" }), ErrNotFound},
		{"no id", with(func(j *Job) { j.ID = "" }), nil},
		{"no transport", with(func(j *Job) { j.Transport = "" }), nil},
		{"no jid", with(func(j *Job) { j.JID = "" }), nil},
		{"no kind", with(func(j *Job) { j.Kind = "" }), nil},
		{"no state", with(func(j *Job) { j.State = "" }), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.PutJob(ctx, tt.j)
			switch {
			case tt.want == errNone:
				if err != nil {
					t.Fatalf("PutJob: %v", err)
				}
			case err == nil:
				t.Fatal("PutJob succeeded")
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// The refused duplicate did not overwrite the original.
	if j, err := s.GetJob(ctx, "sms", "dup"); err != nil || j.JID != "alice@x" {
		t.Fatalf("original after duplicate = %+v, %v", j, err)
	}
}

// errNone marks table rows that must succeed.
var errNone = errors.New("no error")

func TestUpdateJob(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	s.now = func() time.Time { return jobT0 }
	putAccount(t, s, "sms", "alice@x")
	orig := Job{ID: "j", Transport: "sms", JID: "alice@x", Kind: "sms-out", Payload: []byte("p1"),
		State: "pending", NextAt: jobT0}
	putJob(t, s, orig)

	t1 := jobT0.Add(time.Hour)
	s.now = func() time.Time { return t1 }
	upd := Job{ID: "j", Transport: "sms", JID: "ignored@x", Kind: "ignored", Payload: []byte("p2"),
		State: "sent", Attempts: 3, NextAt: t1.Add(time.Minute), Ref: "SM7", LastError: "timeout",
		CreatedAt: t1.Add(time.Hour), UpdatedAt: t1.Add(time.Hour)}
	if err := s.UpdateJob(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetJob(ctx, "sms", "j")
	if err != nil {
		t.Fatal(err)
	}
	want := Job{ID: "j", Transport: "sms", JID: "alice@x", Kind: "sms-out", Payload: []byte("p2"),
		State: "sent", Attempts: 3, NextAt: t1.Add(time.Minute), Ref: "SM7", LastError: "timeout",
		CreatedAt: jobT0, UpdatedAt: t1}
	if !sameJob(got, want) {
		t.Fatalf("after update = %+v\nwant         %+v", got, want)
	}

	// A zero NextAt means now, like on insert.
	upd.NextAt = time.Time{}
	if err := s.UpdateJob(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetJob(ctx, "sms", "j"); !got.NextAt.Equal(t1) {
		t.Fatalf("NextAt after zero update = %v, want %v", got.NextAt, t1)
	}

	tests := []struct {
		name string
		j    Job
	}{
		{"unknown id", Job{ID: "nope", Transport: "sms", State: "s"}},
		{"other transport", Job{ID: "j", Transport: "sms2", State: "s"}},
		{"empty key", Job{State: "s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.UpdateJob(ctx, tt.j); !errors.Is(err, ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
	}
	if err := s.UpdateJob(ctx, Job{ID: "j", Transport: "sms"}); err == nil {
		t.Fatal("UpdateJob without a state succeeded")
	}
}

func TestJobByRef(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putAccount(t, s, "sms", "alice@x")
	putAccount(t, s, "sms2", "alice@x")
	at := func(m int) time.Time { return jobT0.Add(time.Duration(m) * time.Minute) }
	for _, j := range []Job{
		{ID: "old", Ref: "R", CreatedAt: at(0)},
		{ID: "new", Ref: "R", CreatedAt: at(5)},
		{ID: "mid", Ref: "R", CreatedAt: at(3)},
		// Same created_at as "new": the higher id wins the tie.
		{ID: "new-b", Ref: "R2", CreatedAt: at(5)},
		{ID: "new-a", Ref: "R2", CreatedAt: at(5)},
		{ID: "none", CreatedAt: at(9)},
	} {
		j.Transport, j.JID, j.Kind, j.State = "sms", "alice@x", "sms-out", "sent"
		putJob(t, s, j)
	}
	putJob(t, s, Job{ID: "elsewhere", Transport: "sms2", JID: "alice@x", Kind: "sms-out", State: "sent",
		Ref: "R", CreatedAt: at(10)})

	tests := []struct {
		transport, ref string
		want           string // job id; "" = ErrNotFound
	}{
		{"sms", "R", "new"},
		{"sms", "R2", "new-b"},
		{"sms2", "R", "elsewhere"},
		{"sms", "unknown", ""},
		{"sms", "", ""}, // "" is "no reference", never a match
		{"other", "R", ""},
	}
	for _, tt := range tests {
		t.Run(tt.transport+"/"+tt.ref, func(t *testing.T) {
			got, err := s.JobByRef(ctx, tt.transport, tt.ref)
			if tt.want == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("JobByRef = %+v, %v; want ErrNotFound", got, err)
				}
				return
			}
			if err != nil || got.ID != tt.want {
				t.Fatalf("JobByRef = %q, %v; want %q", got.ID, err, tt.want)
			}
		})
	}

	// A ref set later by UpdateJob is found, and clearing it hides the job.
	j, _ := s.GetJob(ctx, "sms", "none")
	j.Ref = "LATE"
	if err := s.UpdateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	if got, err := s.JobByRef(ctx, "sms", "LATE"); err != nil || got.ID != "none" {
		t.Fatalf("JobByRef(LATE) = %q, %v", got.ID, err)
	}
	j.Ref = ""
	if err := s.UpdateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	if _, err := s.JobByRef(ctx, "sms", "LATE"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("JobByRef after clearing = %v, want ErrNotFound", err)
	}
}

func TestDueJobs(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putAccount(t, s, "sms", "alice@x")
	putAccount(t, s, "sms", "bob@x")
	putAccount(t, s, "sms2", "alice@x")
	at := func(m int) time.Time { return jobT0.Add(time.Duration(m) * time.Minute) }
	now := at(10)
	for _, j := range []Job{
		// Inserted out of order on purpose.
		{ID: "d", NextAt: at(5), CreatedAt: at(2)},
		{ID: "a", NextAt: at(1), CreatedAt: at(1)},
		{ID: "c2", NextAt: at(5), CreatedAt: at(1)}, // ties d on next_at, created earlier
		{ID: "c1", NextAt: at(5), CreatedAt: at(1)}, // ties c2 on both: id decides
		{ID: "b", NextAt: at(3), CreatedAt: at(9), JID: "bob@x"},
		{ID: "edge", NextAt: now, CreatedAt: at(0)},       // due exactly now: included
		{ID: "future", NextAt: at(11), CreatedAt: at(0)},  // not yet due
		{ID: "sent", NextAt: at(0), State: "sent"},        // other state
		{ID: "optout", NextAt: at(0), Kind: "opt-out"},    // other kind
		{ID: "other", NextAt: at(0), Transport: "sms2"},   // other transport
		{ID: "ancient", NextAt: at(-60 * 24 * 365 * 100)}, // long overdue: first
	} {
		if j.Transport == "" {
			j.Transport = "sms"
		}
		if j.JID == "" {
			j.JID = "alice@x"
		}
		if j.Kind == "" {
			j.Kind = "sms-out"
		}
		if j.State == "" {
			j.State = "pending"
		}
		putJob(t, s, j)
	}
	all := []string{"ancient", "a", "b", "c1", "c2", "d", "edge"}
	tests := []struct {
		name  string
		now   time.Time
		limit int
		want  []string
	}{
		{"all, limit 0", now, 0, all},
		{"all, negative limit", now, -1, all},
		{"limit larger than result", now, 100, all},
		{"limit 1", now, 1, all[:1]},
		{"limit 4 cuts through a tie", now, 4, all[:4]},
		{"earlier now", at(3), 0, []string{"ancient", "a", "b"}},
		{"nothing due", at(-60 * 24 * 365 * 200), 0, nil},
		{"zero now", time.Time{}, 0, nil},
		{"far future now", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), 0, append(slices.Clone(all), "future")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.DueJobs(ctx, "sms", "sms-out", "pending", tt.now, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if ids := jobIDs(got); !slices.Equal(ids, tt.want) {
				t.Fatalf("DueJobs = %v, want %v", ids, tt.want)
			}
		})
	}
	// The rows come back whole.
	got, err := s.DueJobs(ctx, "sms2", "sms-out", "pending", now, 0)
	if err != nil || len(got) != 1 || got[0].ID != "other" || got[0].JID != "alice@x" || !got[0].NextAt.Equal(at(0)) {
		t.Fatalf("DueJobs(sms2) = %+v, %v", got, err)
	}
}

func TestCountJobs(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putAccount(t, s, "sms", "alice@x")
	putAccount(t, s, "sms", "bob@x")
	putAccount(t, s, "sms2", "alice@x")
	at := func(m int) time.Time { return jobT0.Add(time.Duration(m) * time.Minute) }
	n := 0
	add := func(tr, jid, kind string, created time.Time) {
		n++
		putJob(t, s, Job{ID: fmt.Sprint(n), Transport: tr, JID: jid, Kind: kind, State: "pending", CreatedAt: created})
	}
	for _, m := range []int{0, 10, 20, 30, 40} {
		add("sms", "alice@x", "sms-out", at(m))
	}
	add("sms", "alice@x", "opt-out", at(40))  // other kind
	add("sms", "bob@x", "sms-out", at(40))    // other account
	add("sms2", "alice@x", "sms-out", at(40)) // other transport

	tests := []struct {
		name      string
		jid, kind string
		since     time.Time
		want      int
	}{
		{"window includes its start", "alice@x", "sms-out", at(20), 3},
		{"just after a row", "alice@x", "sms-out", at(20).Add(time.Nanosecond), 2},
		{"last minute", "alice@x", "sms-out", at(40).Add(-time.Minute), 1},
		{"everything", "alice@x", "sms-out", at(-1), 5},
		{"zero since counts everything", "alice@x", "sms-out", time.Time{}, 5},
		{"future since", "alice@x", "sms-out", at(41), 0},
		{"other kind", "alice@x", "opt-out", time.Time{}, 1},
		{"other account", "bob@x", "sms-out", time.Time{}, 1},
		{"unknown account", "ghost@x", "sms-out", time.Time{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.CountJobs(ctx, "sms", tt.jid, tt.kind, tt.since)
			if err != nil || got != tt.want {
				t.Fatalf("CountJobs = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
	// Updates do not move a job in or out of a creation window.
	j, _ := s.GetJob(ctx, "sms", "1")
	j.State = "sent"
	if err := s.UpdateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.CountJobs(ctx, "sms", "alice@x", "sms-out", at(1)); got != 4 {
		t.Fatalf("CountJobs after update = %d, want 4", got)
	}
}

func TestCountJobsByState(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putAccount(t, s, "sms", "alice@x")
	putAccount(t, s, "sms", "bob@x")
	putAccount(t, s, "sms2", "alice@x")
	for i, j := range []Job{
		{Transport: "sms", JID: "alice@x", Kind: "sms-out", State: "pending"},
		{Transport: "sms", JID: "bob@x", Kind: "sms-out", State: "pending"},
		{Transport: "sms", JID: "alice@x", Kind: "sms-out", State: "failed"},
		{Transport: "sms", JID: "alice@x", Kind: "opt-out", State: "pending"},
		{Transport: "sms2", JID: "alice@x", Kind: "sms-out", State: "pending"},
	} {
		j.ID = fmt.Sprint(i)
		putJob(t, s, j)
	}
	tests := []struct {
		transport, kind, state string
		want                   int
	}{
		{"sms", "sms-out", "pending", 2},
		{"sms", "sms-out", "failed", 1},
		{"sms", "sms-out", "delivered", 0},
		{"sms", "opt-out", "pending", 1},
		{"sms2", "sms-out", "pending", 1},
		{"none", "sms-out", "pending", 0},
	}
	for _, tt := range tests {
		got, err := s.CountJobsByState(ctx, tt.transport, tt.kind, tt.state)
		if err != nil || got != tt.want {
			t.Errorf("CountJobsByState(%s, %s, %s) = %d, %v; want %d", tt.transport, tt.kind, tt.state, got, err, tt.want)
		}
	}
}

func TestDeleteJobsBefore(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putAccount(t, s, "sms", "alice@x")
	putAccount(t, s, "sms2", "alice@x")
	at := func(m int) time.Time { return jobT0.Add(time.Duration(m) * time.Minute) }
	// UpdatedAt comes from the store's clock.
	for _, j := range []struct {
		id, transport, state string
		updated              int
	}{
		{"d0", "sms", "delivered", 0},
		{"d1", "sms", "delivered", 10},
		{"d2", "sms", "delivered", 20},
		{"f0", "sms", "failed", 0},
		{"p0", "sms", "pending", 0},
		{"x0", "sms2", "delivered", 0},
	} {
		s.now = func() time.Time { return at(j.updated) }
		putJob(t, s, Job{ID: j.id, Transport: j.transport, JID: "alice@x", Kind: "sms-out", State: j.state})
	}
	// An update refreshes updated_at: d0 was created early but touched late.
	s.now = func() time.Time { return at(30) }
	d0, _ := s.GetJob(ctx, "sms", "d0")
	if err := s.UpdateJob(ctx, d0); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		state  string
		before time.Time
		want   int
		left   []string // remaining jobs on "sms" afterwards
	}{
		{"strictly before", "delivered", at(10), 0, []string{"d0", "d1", "d2", "f0", "p0"}},
		{"one old enough", "delivered", at(10).Add(time.Nanosecond), 1, []string{"d0", "d2", "f0", "p0"}},
		{"again: nothing left to delete", "delivered", at(10).Add(time.Nanosecond), 0, []string{"d0", "d2", "f0", "p0"}},
		{"touched row kept until its update ages", "delivered", at(30), 1, []string{"d0", "f0", "p0"}},
		{"other state", "failed", at(1), 1, []string{"d0", "p0"}},
		{"zero before deletes nothing", "pending", time.Time{}, 0, []string{"d0", "p0"}},
		{"far future deletes all of the state", "delivered", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), 1, []string{"p0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := s.DeleteJobsBefore(ctx, "sms", tt.state, tt.before)
			if err != nil || n != tt.want {
				t.Fatalf("DeleteJobsBefore = %d, %v; want %d", n, err, tt.want)
			}
			var left []string
			rows, err := s.r.QueryContext(ctx, "SELECT id FROM jobs WHERE transport = 'sms' ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				left = append(left, id)
			}
			if !slices.Equal(left, tt.left) {
				t.Fatalf("jobs left = %v, want %v", left, tt.left)
			}
		})
	}
	if _, err := s.GetJob(ctx, "sms2", "x0"); err != nil {
		t.Fatalf("another transport's job was deleted: %v", err)
	}
}

func TestDeleteAccountCascadesJobs(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putAccount(t, s, "sms", "alice@x")
	putAccount(t, s, "sms", "bob@x")
	for _, j := range []Job{
		{ID: "a1", JID: "alice@x", Ref: "RA"},
		{ID: "a2", JID: "alice@x"},
		{ID: "b1", JID: "bob@x", Ref: "RB"},
	} {
		j.Transport, j.Kind, j.State = "sms", "sms-out", "pending"
		putJob(t, s, j)
	}
	if err := s.DeleteAccount(ctx, "sms", "alice@x"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a1", "a2"} {
		if _, err := s.GetJob(ctx, "sms", id); !errors.Is(err, ErrNotFound) {
			t.Errorf("job %s after account delete: %v, want ErrNotFound", id, err)
		}
	}
	if _, err := s.JobByRef(ctx, "sms", "RA"); !errors.Is(err, ErrNotFound) {
		t.Errorf("JobByRef after account delete: %v", err)
	}
	if _, err := s.GetJob(ctx, "sms", "b1"); err != nil {
		t.Errorf("other account's job affected: %v", err)
	}
	// Re-registering starts clean, and the freed ids are usable again.
	putAccount(t, s, "sms", "alice@x")
	if n, _ := s.CountJobs(ctx, "sms", "alice@x", "sms-out", time.Time{}); n != 0 {
		t.Fatalf("CountJobs after re-register = %d, want 0", n)
	}
	putJob(t, s, Job{ID: "a1", Transport: "sms", JID: "alice@x", Kind: "sms-out", State: "pending"})
}

// Updating an account must not touch its jobs (no delete-and-reinsert).
func TestPutAccountKeepsJobs(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putAccount(t, s, "sms", "alice@x")
	putJob(t, s, Job{ID: "j", Transport: "sms", JID: "alice@x", Kind: "sms-out", State: "pending"})
	if err := s.PutAccount(ctx, Account{Transport: "sms", JID: "alice@x", Binding: "+1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetJob(ctx, "sms", "j"); err != nil {
		t.Fatalf("job lost by account update: %v", err)
	}
}

// Bridges update jobs from several goroutines (send loop, delivery
// reports, keyword handling). The single writer must queue them rather
// than fail with "database is locked", while reads go on alongside.
func TestConcurrentUpdateJob(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putAccount(t, s, "sms", "alice@x")
	const workers, rounds = 10, 20
	putJob(t, s, Job{ID: "shared", Transport: "sms", JID: "alice@x", Kind: "sms-out", State: "pending"})
	for w := range workers {
		putJob(t, s, Job{ID: fmt.Sprint("own", w), Transport: "sms", JID: "alice@x", Kind: "sms-out", State: "pending"})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*rounds+workers)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				for _, id := range []string{"shared", fmt.Sprint("own", w)} {
					j := Job{ID: id, Transport: "sms", State: "pending", Attempts: r + 1,
						Payload: fmt.Appendf(nil, "w%d r%d", w, r), LastError: fmt.Sprint("w", w)}
					if err := s.UpdateJob(ctx, j); err != nil {
						errs <- fmt.Errorf("worker %d round %d %s: %w", w, r, id, err)
					}
				}
			}
		})
	}
	// Readers alongside the writers.
	for range 3 {
		wg.Go(func() {
			for range rounds {
				if _, err := s.GetJob(ctx, "sms", "shared"); err != nil {
					errs <- err
				}
				if _, err := s.DueJobs(ctx, "sms", "sms-out", "pending", time.Now().Add(time.Hour), 0); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if strings.Contains(err.Error(), "locked") || strings.Contains(err.Error(), "busy") {
			t.Errorf("lock contention surfaced: %v", err)
		} else {
			t.Error(err)
		}
	}
	for w := range workers {
		j, err := s.GetJob(ctx, "sms", fmt.Sprint("own", w))
		if err != nil || j.Attempts != rounds || string(j.Payload) != fmt.Sprintf("w%d r%d", w, rounds-1) {
			t.Fatalf("own%d after updates = %+v, %v", w, j, err)
		}
	}
	// The shared job holds one worker's last write whole, not a mix.
	j, err := s.GetJob(ctx, "sms", "shared")
	if err != nil || j.Attempts != rounds || string(j.Payload) != fmt.Sprintf("%s r%d", j.LastError, rounds-1) {
		t.Fatalf("shared after updates = %+v (%q), %v", j, j.Payload, err)
	}
}

// Every job and dead-letter query must be answered from an index: the
// plan searches (never scans a table or a whole index) and needs no
// temporary sort.
func TestQueriesUseIndexes(t *testing.T) {
	s, _ := openTestStore(t)
	tests := []struct {
		name  string
		query string
		args  []any
		index string
	}{
		{"GetJob", qGetJob, []any{"t", "id"}, "sqlite_autoindex_jobs_1"},
		{"UpdateJob", qUpdateJob, []any{[]byte{}, "s", 0, 0, "", "", 0, "t", "id"}, "sqlite_autoindex_jobs_1"},
		{"JobByRef", qJobByRef, []any{"t", "r"}, "jobs_ref"},
		{"DueJobs", qDueJobs, []any{"t", "k", "s", 0, 10}, "jobs_due"},
		{"CountJobs", qCountJobs, []any{"t", "j", "k", 0}, "jobs_account"},
		{"CountJobsByState", qCountJobsByState, []any{"t", "k", "s"}, "jobs_due"},
		{"DeleteJobsBefore", qDeleteJobsBefore, []any{"t", "s", 0}, "jobs_state_updated"},
		// What the foreign key's ON DELETE CASCADE runs for each account.
		{"cascade from accounts", "DELETE FROM jobs WHERE transport = ? AND jid = ?", []any{"t", "j"}, "jobs_account"},
		{"ListDeadLetters", qListDeadLetters, []any{"t", 10}, "dead_letters_transport_created"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+tt.query, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			text := strings.Join(plan, "; ")
			if len(plan) == 0 || strings.Contains(text, "SCAN") || strings.Contains(text, "TEMP B-TREE") ||
				!strings.Contains(text, "INDEX "+tt.index+" ") {
				t.Fatalf("plan %q, want a SEARCH using %s and no sort", text, tt.index)
			}
		})
	}
}

func TestDeleteJob(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putAccount(t, s, "sms", "alice@x")
	for _, id := range []string{"a", "b"} {
		if err := s.PutJob(ctx, Job{ID: id, Transport: "sms", JID: "alice@x", Kind: "k", State: "s"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteJob(ctx, "sms", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetJob(ctx, "sms", "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted job still there: %v", err)
	}
	if _, err := s.GetJob(ctx, "sms", "b"); err != nil {
		t.Errorf("the other job went too: %v", err)
	}
	if err := s.DeleteJob(ctx, "sms", "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

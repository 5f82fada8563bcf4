package registry

import (
	"errors"
	"fmt"
	"testing"
)

// enqueue stores plain stanzas and returns their ids.
func enqueue(t *testing.T, s *SQLite, transport string, stanzas ...string) []int64 {
	t.Helper()
	var entries []OutboxEntry
	for _, st := range stanzas {
		entries = append(entries, OutboxEntry{Stanza: []byte(st)})
	}
	res, err := s.EnqueueBatch(t.Context(), transport, entries)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i, r := range res {
		if r.Err != nil || r.Dup || r.ID == 0 {
			t.Fatalf("entry %d: %+v", i, r)
		}
		ids = append(ids, r.ID)
	}
	return ids
}

func TestOutboxFIFOAndAckThrough(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	var stanzas []string
	for i := range 5 {
		stanzas = append(stanzas, fmt.Sprintf("<message id='%d'/>", i))
	}
	ids := enqueue(t, s, "irc", stanzas...)
	enqueue(t, s, "sms", "<message id='sms'/>")
	tests := []struct {
		after int64
		limit int
		want  []int
	}{
		{0, 0, []int{0, 1, 2, 3, 4}},
		{0, -1, []int{0, 1, 2, 3, 4}},
		{0, 2, []int{0, 1}},
		{ids[2], 0, []int{3, 4}},
		{ids[4], 0, nil},
	}
	for _, tt := range tests {
		got, err := s.PendingAfter(ctx, "irc", tt.after, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(tt.want) {
			t.Fatalf("PendingAfter(%d, %d) returned %d, want %d", tt.after, tt.limit, len(got), len(tt.want))
		}
		for i, o := range got {
			k := tt.want[i]
			if o.ID != ids[k] || o.Transport != "irc" || string(o.Stanza) != stanzas[k] || o.CreatedAt.IsZero() {
				t.Errorf("PendingAfter(%d)[%d] = %+v", tt.after, i, o)
			}
		}
	}
	if n, _ := s.PendingCount(ctx, "sms"); n != 1 {
		t.Fatalf("PendingCount(sms) = %d, want 1", n)
	}
	// Acking through the third removes the first three of this transport only.
	if n, err := s.AckThrough(ctx, "irc", ids[2]); err != nil || n != 3 {
		t.Fatalf("AckThrough = %d, %v", n, err)
	}
	got, err := s.PendingAfter(ctx, "irc", 0, 0)
	if err != nil || len(got) != 2 || got[0].ID != ids[3] {
		t.Fatalf("after ack: %+v, %v", got, err)
	}
	if n, err := s.AckThrough(ctx, "irc", ids[2]); err != nil || n != 0 {
		t.Fatalf("repeated ack: %d, %v", n, err)
	}
	if n, _ := s.PendingCount(ctx, "sms"); n != 1 {
		t.Fatalf("another transport's queue was touched: %d", n)
	}
}

// Ids are never reused, so acking through an old id cannot delete a newer
// stanza.
func TestOutboxIDsNotReused(t *testing.T) {
	s, _ := openTestStore(t)
	a := enqueue(t, s, "t", "<a/>")[0]
	if _, err := s.AckThrough(t.Context(), "t", a); err != nil {
		t.Fatal(err)
	}
	if b := enqueue(t, s, "t", "<b/>")[0]; b <= a {
		t.Fatalf("id %d reused or went backwards after %d", b, a)
	}
}

// A batch stores each stanza with its legacy id, both or neither; bad
// entries fail alone and the rest of the group is stored.
func TestEnqueueBatchEntries(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putAccount(t, s, "t", "alice@x")
	m := func(legacy, xmpp string) *MessageID {
		return &MessageID{Transport: "t", JID: "alice@x", LegacyID: legacy, XMPPID: xmpp, Peer: "bob"}
	}
	res, err := s.EnqueueBatch(ctx, "t", []OutboxEntry{
		{Stanza: []byte("<message id='X1'/>"), Mapping: m("L1", "X1")},
		{Stanza: []byte("<message id='X2'/>"), Mapping: m("L1", "X2")}, // the same legacy message again
		{Stanza: []byte("<message id='X9'/>"), Mapping: &MessageID{Transport: "t", JID: "nobody@x", LegacyID: "L9", XMPPID: "X9"}},
		{Stanza: []byte("<message id='X1'/>"), Mapping: m("L3", "X1")}, // XMPP id already used
		{Stanza: nil},
		{Stanza: []byte("<m/>"), Mapping: &MessageID{Transport: "t", JID: "alice@x", XMPPID: "X"}},
		{Stanza: []byte("<presence/>")},
	})
	if err != nil {
		t.Fatal(err)
	}
	check := []struct {
		name    string
		stored  bool
		dup     bool
		wantErr error
		anyErr  bool
	}{
		{"new message", true, false, nil, false},
		{"replay", false, true, nil, false},
		{"no account", false, false, ErrNotFound, true},
		{"XMPP id clash", false, false, ErrConflict, true},
		{"empty stanza", false, false, nil, true},
		{"mapping without legacy id", false, false, nil, true},
		{"plain stanza", true, false, nil, false},
	}
	for i, c := range check {
		r := res[i]
		if (r.ID != 0) != c.stored || r.Dup != c.dup || (r.Err != nil) != c.anyErr || c.wantErr != nil && !errors.Is(r.Err, c.wantErr) {
			t.Errorf("%s: %+v", c.name, r)
		}
	}
	if got, err := s.MessageByLegacyID(ctx, "t", "alice@x", "L1"); err != nil || got.XMPPID != "X1" || got.Peer != "bob" {
		t.Fatalf("mapping: %+v %v", got, err)
	}
	items, err := s.PendingAfter(ctx, "t", 0, 0)
	if err != nil || len(items) != 2 || string(items[0].Stanza) != "<message id='X1'/>" || string(items[1].Stanza) != "<presence/>" {
		t.Fatalf("outbox: %v %v", items, err)
	}
	if _, err := s.EnqueueBatch(ctx, "", []OutboxEntry{{Stanza: []byte("<a/>")}}); err == nil {
		t.Error("a batch without transport was accepted")
	}
}

// BenchmarkEnqueueBatch measures group commit: rows per fsync.
func BenchmarkEnqueueBatch(b *testing.B) {
	s, _ := openTestStore(b)
	batch := make([]OutboxEntry, 100)
	for i := range batch {
		batch[i] = OutboxEntry{Stanza: []byte("<message to='alice@example.org' from='bob%irc@irc.example.org' type='chat'><body>hello there</body></message>")}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.EnqueueBatch(b.Context(), "irc", batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/row")
}

package registry

import (
	"errors"
	"fmt"
	"testing"
)

func TestOutboxFIFO(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	var ids []int64
	for i := range 5 {
		id, err := s.Enqueue(ctx, "irc", fmt.Appendf(nil, "<message id='%d'/>", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := s.Enqueue(ctx, "sms", []byte("<message id='sms'/>")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		limit int
		want  int
	}{{0, 5}, {-1, 5}, {2, 2}, {10, 5}}
	for _, tt := range tests {
		got, err := s.Pending(ctx, "irc", tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tt.want {
			t.Fatalf("Pending(limit %d) returned %d, want %d", tt.limit, len(got), tt.want)
		}
		for i, o := range got {
			if o.ID != ids[i] || o.Transport != "irc" || string(o.Stanza) != fmt.Sprintf("<message id='%d'/>", i) {
				t.Errorf("Pending[%d] = %+v", i, o)
			}
			if o.CreatedAt.IsZero() {
				t.Errorf("Pending[%d] has no CreatedAt", i)
			}
		}
	}
	if n, _ := s.PendingCount(ctx, "irc"); n != 5 {
		t.Fatalf("PendingCount(irc) = %d, want 5", n)
	}
	if n, _ := s.PendingCount(ctx, "sms"); n != 1 {
		t.Fatalf("PendingCount(sms) = %d, want 1", n)
	}

	// Ack the head; the next oldest becomes the head.
	if err := s.Ack(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	got, err := s.Pending(ctx, "irc", 1)
	if err != nil || len(got) != 1 || got[0].ID != ids[1] {
		t.Fatalf("head after ack = %+v, %v; want id %d", got, err, ids[1])
	}
	// A repeated ack is harmless.
	if err := s.Ack(ctx, ids[0]); err != nil {
		t.Fatalf("second ack: %v", err)
	}
	if n, _ := s.PendingCount(ctx, "irc"); n != 4 {
		t.Fatalf("PendingCount after ack = %d, want 4", n)
	}
}

// Ids are never reused, so a stale Ack cannot delete a newer stanza.
func TestOutboxIDsNotReused(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	a, err := s.Enqueue(ctx, "t", []byte("<a/>"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, a); err != nil {
		t.Fatal(err)
	}
	b, err := s.Enqueue(ctx, "t", []byte("<b/>"))
	if err != nil {
		t.Fatal(err)
	}
	if b <= a {
		t.Fatalf("id %d reused or went backwards after %d", b, a)
	}
}

func TestEnqueueValidates(t *testing.T) {
	s, _ := openTestStore(t)
	if _, err := s.Enqueue(t.Context(), "", []byte("<a/>")); err == nil {
		t.Error("Enqueue without transport succeeded")
	}
	if _, err := s.Enqueue(t.Context(), "t", nil); err == nil {
		t.Error("Enqueue of an empty stanza succeeded")
	}
}

// EnqueueMessage stores the stanza and its legacy id together, or neither.
func TestEnqueueMessage(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := t.Context()
	putAccount(t, s, "t", "alice@x")
	m := MessageID{Transport: "t", JID: "alice@x", LegacyID: "L1", XMPPID: "X1", Peer: "bob"}
	id, dup, err := s.EnqueueMessage(ctx, "t", []byte("<message id='X1'/>"), m)
	if err != nil || dup || id == 0 {
		t.Fatalf("first: id %d dup %v err %v", id, dup, err)
	}
	if got, err := s.MessageByLegacyID(ctx, "t", "alice@x", "L1"); err != nil || got.XMPPID != "X1" || got.Peer != "bob" {
		t.Fatalf("mapping: %+v %v", got, err)
	}
	// The same legacy message again (a replay): nothing stored.
	m.XMPPID = "X2"
	if _, dup, err := s.EnqueueMessage(ctx, "t", []byte("<message id='X2'/>"), m); err != nil || !dup {
		t.Fatalf("replay: dup %v err %v", dup, err)
	}
	// No account: refused, and the stanza is not queued either.
	orphan := MessageID{Transport: "t", JID: "nobody@x", LegacyID: "L9", XMPPID: "X9"}
	if _, _, err := s.EnqueueMessage(ctx, "t", []byte("<message id='X9'/>"), orphan); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no account: %v", err)
	}
	// An XMPP id already used for another legacy message: refused likewise.
	clash := MessageID{Transport: "t", JID: "alice@x", LegacyID: "L3", XMPPID: "X1"}
	if _, _, err := s.EnqueueMessage(ctx, "t", []byte("<message id='X1'/>"), clash); !errors.Is(err, ErrConflict) {
		t.Fatalf("xmpp id clash: %v", err)
	}
	items, err := s.Pending(ctx, "t", 0)
	if err != nil || len(items) != 1 || string(items[0].Stanza) != "<message id='X1'/>" {
		t.Fatalf("outbox: %v %v", items, err)
	}
	for _, bad := range []MessageID{{Transport: "t", JID: "alice@x", XMPPID: "X"}, {Transport: "t", JID: "alice@x", LegacyID: "L"}} {
		if _, _, err := s.EnqueueMessage(ctx, "t", []byte("<m/>"), bad); err == nil {
			t.Errorf("mapping %+v accepted", bad)
		}
	}
}

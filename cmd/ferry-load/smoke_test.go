package main

import (
	"io"
	"testing"
	"time"
)

// TestBurstSmoke runs the burst scenario at toy size against Ferry built
// from this tree, on a real Prosody and ngIRCd: a functional check of the
// tool and of Ferry's group-chat path (nothing lost, nothing twice), not a
// measurement. In CI a missing server fails it (internal/testenv).
func TestBurstSmoke(t *testing.T) {
	e := startEnv(t, io.Discard, false)
	o := defaultOptions()
	o.users, o.ircClients, o.messages = 2, 1, 3
	o.settle, o.deadline = 30*time.Second, 2*time.Minute
	g, err := startFerry(e)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.stop)
	r, err := (&burstScenario{}).measure(e, o, g)
	if err != nil {
		t.Fatal(err)
	}
	// Each XMPP user: 3 messages from each of the 3 senders (its own
	// reflected); the IRC client: the 6 from the two users.
	want := map[string]float64{rowExpected: 2*9 + 6, rowDelivered: 2*9 + 6, rowLost: 0, rowDuplicated: 0}
	for row, v := range want {
		m, ok := r.get(row)
		if !ok || !m.ok || m.value != v {
			t.Errorf("%s = %+v, want %v", row, m, v)
		}
	}
	for _, n := range r.notes {
		t.Errorf("note: %s", n)
	}
}

package imapwatch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// TestDovecot runs the worker against a real Dovecot: first sync with a
// backlog, IDLE pickup of delivered mail, a restart without duplicates, a
// server restart, Fetch and a refused login.
func TestDovecot(t *testing.T) {
	const user, pass = "alice@mail.test", "secret"
	d := testenv.StartDovecot(t, map[string]string{user: pass})
	s := Server{Addr: d.IMAPAddr, Security: Plain, Username: user, Password: pass, Timeout: 10 * time.Second}
	ctx := context.Background()
	deliver := func(subject string) []byte {
		raw := rfc822(subject)
		d.Deliver(t, user, raw)
		return raw
	}
	// The subject of a mail, as the worker got it.
	subject := func(m Mail) string {
		for _, subj := range []string{"A", "B", "C", "D", "E", "F"} {
			if bytes.Contains(m.Raw, fmt.Appendf(nil, "Subject: %s\r\n", subj)) {
				return subj
			}
		}
		return fmt.Sprintf("unknown mail %q", m.Raw)
	}
	expect := func(r *runner, uid uint32, subj string) Mail {
		t.Helper()
		m := r.mail()
		if m.UID != uid || subject(m) != subj {
			t.Fatalf("got mail UID %d %s, want UID %d %s", m.UID, subject(m), uid, subj)
		}
		return m
	}

	if err := Check(ctx, s); err != nil {
		t.Fatalf("Check: %v", err)
	}
	bad := s
	bad.Password = "not-the-secret"
	var ae *Error
	if err := Check(ctx, bad); !errors.As(err, &ae) || !ae.Auth {
		t.Errorf("Check with a wrong password: %v, want Auth", err)
	} else {
		t.Logf("wrong password: %v", ae)
	}

	// Two mails before the first sync: with Backlog 1 only the one with the
	// higher UID comes (Dovecot numbers a maildir's new mail in an order of
	// its own).
	deliver("A")
	deliver("B")
	store := newMemStore()
	cfg := Config{Server: s, Backlog: 1, PollInterval: time.Hour, IdleRestart: time.Hour, BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond}
	r := startRun(t, cfg, store, nil, hooks{})
	first := r.mail()
	if first.UID != 2 || (subject(first) != "A" && subject(first) != "B") {
		t.Fatalf("first sync delivered UID %d %s, want UID 2", first.UID, subject(first))
	}
	// Delivered while the worker idles: only EXISTS can wake it up.
	r.idle()
	rawC := deliver("C")
	c := expect(r, 3, "C")
	if !bytes.Equal(bytes.ReplaceAll(c.Raw, []byte("\r\n"), []byte("\n")), bytes.ReplaceAll(rawC, []byte("\r\n"), []byte("\n"))) {
		t.Errorf("raw mail %q, want %q", c.Raw, rawC)
	}
	r.idle()
	r.noMore()
	r.stop()

	// Delivered while stopped; after the restart it comes, and nothing
	// before it comes again.
	deliver("D")
	r = startRun(t, cfg, store, nil, hooks{})
	if ev := r.nextStatus(); !ev.connected {
		t.Fatalf("Status(%v, %v), want connected", ev.connected, ev.err)
	}
	expect(r, 4, "D")
	r.idle()
	r.noMore()
	deliver("E")
	expect(r, 5, "E")
	r.idle()

	// Dovecot restarts: the worker reconnects and goes on.
	d.Stop(t)
	if ev := r.nextStatus(); ev.connected || ev.err == nil {
		t.Fatalf("Status(%v, %v) after Dovecot stopped, want a disconnect with a reason", ev.connected, ev.err)
	} else {
		t.Logf("Dovecot stopped: %v", ev.err)
	}
	d.Start(t)
	for ev := r.nextStatus(); !ev.connected; ev = r.nextStatus() {
		t.Logf("while Dovecot restarts: %v", ev.err)
	}
	r.idle()
	deliver("F")
	expect(r, 6, "F")
	r.idle()
	r.noMore()
	r.stop()

	if st, _ := store.get("INBOX"); st.LastUID != 6 || st.UIDValidity != c.UIDValidity {
		t.Errorf("saved %+v, want {%d 6}", st, c.UIDValidity)
	}

	raw, err := Fetch(ctx, s, "INBOX", c.UIDValidity, c.UID)
	if err != nil || !bytes.Equal(raw, c.Raw) {
		t.Errorf("Fetch = %q, %v; want %q", raw, err, c.Raw)
	}
	if _, err := Fetch(ctx, s, "INBOX", c.UIDValidity+1, c.UID); err == nil {
		t.Error("Fetch with an old UIDVALIDITY succeeded")
	}
}

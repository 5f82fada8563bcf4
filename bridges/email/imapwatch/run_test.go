package imapwatch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFirstSyncBacklog(t *testing.T) {
	e := startMem(t)
	for i := 1; i <= 5; i++ {
		e.add(t, fmt.Sprintf("m%d", i))
	}
	store := newMemStore()
	r := startRun(t, Config{Server: e.server(), Backlog: 2}, store, nil, hooks{})
	got := r.expectUIDs(4, 5)
	r.idle()
	r.noMore()
	if !bytes.Equal(got[0].Raw, rfc822("m4")) || !bytes.Equal(got[1].Raw, rfc822("m5")) {
		t.Errorf("raw bodies differ: %q, %q", got[0].Raw, got[1].Raw)
	}
	v := e.status(t).UIDValidity
	for _, m := range got {
		if m.Folder != "INBOX" || m.UIDValidity != v || m.Truncated || m.Size != int64(len(m.Raw)) {
			t.Errorf("mail %+v: want folder INBOX, UIDValidity %d, not truncated, Size = len(Raw)", m, v)
		}
	}
	if st, ok := store.get("INBOX"); !ok || st != (State{UIDValidity: v, LastUID: 5}) {
		t.Errorf("saved state %+v, %v; want {%d 5}", st, ok, v)
	}
}

func TestFirstSyncBacklogNone(t *testing.T) {
	e := startMem(t)
	for i := 1; i <= 3; i++ {
		e.add(t, fmt.Sprintf("m%d", i))
	}
	store := newMemStore()
	r := startRun(t, Config{Server: e.server()}, store, nil, hooks{})
	r.idle()
	r.noMore()
	if st, _ := store.get("INBOX"); st.LastUID != 3 {
		t.Errorf("saved LastUID %d, want 3", st.LastUID)
	}
	r.expectUIDs() // none
	uid := e.add(t, "new")
	r.expectUIDs(uid)
}

func TestFirstSyncBacklogLargerThanFolder(t *testing.T) {
	e := startMem(t)
	for i := 1; i <= 3; i++ {
		e.add(t, fmt.Sprintf("m%d", i))
	}
	r := startRun(t, Config{Server: e.server(), Backlog: 10}, newMemStore(), nil, hooks{})
	r.expectUIDs(1, 2, 3)
	r.idle()
	r.noMore()
}

func TestFirstSyncEmptyFolder(t *testing.T) {
	e := startMem(t)
	r := startRun(t, Config{Server: e.server(), Backlog: 10}, newMemStore(), nil, hooks{})
	r.idle()
	r.noMore()
	r.expectUIDs(e.add(t, "first"))
}

func TestIdlePicksUpNewMail(t *testing.T) {
	e := startMem(t)
	e.add(t, "old")
	// Only EXISTS can wake the worker in time.
	cfg := Config{Server: e.server(), PollInterval: time.Hour, IdleRestart: time.Hour}
	r := startRun(t, cfg, newMemStore(), nil, hooks{})
	if ev := r.nextStatus(); !ev.connected || ev.err != nil {
		t.Fatalf("first Status(%v, %v), want (true, nil)", ev.connected, ev.err)
	}
	for i := range 3 {
		r.idle()
		uid := e.add(t, fmt.Sprintf("new%d", i))
		r.expectUIDs(uid)
	}
}

func TestPollIntervalWhileIdle(t *testing.T) {
	// A server whose IDLE never reports new mail: PollInterval is the
	// safety net.
	e := startMemWith(t, memOptions{insecureAuth: true, silentIdle: true})
	cfg := Config{Server: e.server(), PollInterval: 20 * time.Millisecond, IdleRestart: time.Hour}
	r := startRun(t, cfg, newMemStore(), nil, hooks{})
	r.idle()
	r.expectUIDs(e.add(t, "a"))
}

func TestPollWithoutIdle(t *testing.T) {
	e := startMem(t)
	cfg := Config{Server: e.server(), PollInterval: 20 * time.Millisecond}
	r := startRun(t, cfg, newMemStore(), nil, hooks{noIdle: true})
	r.idle()
	r.expectUIDs(e.add(t, "a"))
	r.idle()
	r.expectUIDs(e.add(t, "b"), e.add(t, "c"))
}

func TestRestartNoDuplicateNoGap(t *testing.T) {
	e := startMem(t)
	e.add(t, "m1")
	e.add(t, "m2")
	store := newMemStore()
	cfg := Config{Server: e.server(), Backlog: 1, PollInterval: time.Hour}

	r := startRun(t, cfg, store, nil, hooks{})
	r.expectUIDs(2)
	r.idle()
	r.expectUIDs(e.add(t, "m3"))
	r.stop()

	// Mail arriving while stopped is delivered after the restart, and
	// nothing delivered before is delivered again.
	e.add(t, "m4")
	e.add(t, "m5")
	r = startRun(t, cfg, store, nil, hooks{})
	r.expectUIDs(4, 5)
	r.idle()
	r.noMore()
	r.expectUIDs(e.add(t, "m6"))
	r.stop()

	// Restart with nothing new: "6:*" would return message 6 again.
	r = startRun(t, cfg, store, nil, hooks{})
	r.idle()
	r.noMore()
	r.expectUIDs(e.add(t, "m7"))
	r.stop()
	if st, _ := store.get("INBOX"); st.LastUID != 7 {
		t.Errorf("saved LastUID %d, want 7", st.LastUID)
	}
}

func TestHandlerErrorRetried(t *testing.T) {
	e := startMem(t)
	for i := 1; i <= 3; i++ {
		e.add(t, fmt.Sprintf("m%d", i))
	}
	store := newMemStore()
	var mu sync.Mutex
	var calls []uint32
	fails := 2
	taken := make(chan uint32, 10)
	h := func(ctx context.Context, m Mail) error {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, m.UID)
		if m.UID == 2 && fails > 0 {
			fails--
			// Nothing may be saved past mail 1 while 2 is refused.
			if st, _ := store.get("INBOX"); st.LastUID != 1 {
				t.Errorf("while mail 2 is refused, saved LastUID is %d, want 1", st.LastUID)
			}
			return errors.New("database locked")
		}
		taken <- m.UID
		return nil
	}
	r := startRun(t, Config{Server: e.server(), Backlog: 3}, store, h, hooks{})
	for _, want := range []uint32{1, 2, 3} {
		select {
		case got := <-taken:
			if got != want {
				t.Fatalf("taken %d, want %d", got, want)
			}
		case <-time.After(waitLong):
			t.Fatalf("mail %d not taken", want)
		}
	}
	r.idle()
	r.stop()
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(calls) != "[1 2 2 2 3]" {
		t.Errorf("handler calls %v, want [1 2 2 2 3]", calls)
	}
	if st, _ := store.get("INBOX"); st.LastUID != 3 {
		t.Errorf("saved LastUID %d, want 3", st.LastUID)
	}
}

func TestSaveErrorRetriedWithoutRedelivery(t *testing.T) {
	e := startMem(t)
	for i := 1; i <= 3; i++ {
		e.add(t, fmt.Sprintf("m%d", i))
	}
	store := newMemStore()
	failed := 0
	store.failSave = func(st State) bool {
		// The first-sync state once, and the state after mail 2 twice.
		if (st.LastUID == 0 && failed == 0) || (st.LastUID == 2 && failed < 3) {
			failed++
			return true
		}
		return false
	}
	r := startRun(t, Config{Server: e.server(), Backlog: 3}, store, nil, hooks{})
	r.expectUIDs(1, 2, 3)
	r.idle()
	r.noMore()
	r.stop()
	if st, _ := store.get("INBOX"); st.LastUID != 3 {
		t.Errorf("saved LastUID %d, want 3", st.LastUID)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if failed != 3 {
		t.Errorf("%d failed saves, want 3", failed)
	}
}

func TestUIDValidityChange(t *testing.T) {
	e := startMem(t)
	e.add(t, "old1")
	e.add(t, "old2")
	store := newMemStore()
	cfg := Config{Server: e.server(), Backlog: 1}
	r := startRun(t, cfg, store, nil, hooks{})
	old := r.expectUIDs(2)[0]
	r.idle()
	r.stop()

	// The folder is deleted and re-created: UIDs start again at 1 under a
	// new UIDVALIDITY.
	if err := e.user.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := e.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		e.add(t, fmt.Sprintf("new%d", i))
	}
	v := e.status(t).UIDValidity
	if v == old.UIDValidity {
		t.Fatal("test server kept UIDVALIDITY")
	}
	r = startRun(t, cfg, store, nil, hooks{})
	m := r.expectUIDs(3)[0]
	if m.UIDValidity != v || !bytes.Equal(m.Raw, rfc822("new3")) {
		t.Errorf("got UIDValidity %d raw %q; want %d, new3", m.UIDValidity, m.Raw, v)
	}
	r.idle()
	r.noMore()
	if st, _ := store.get("INBOX"); st != (State{UIDValidity: v, LastUID: 3}) {
		t.Errorf("saved %+v, want {%d 3}", st, v)
	}
}

func TestResumeState(t *testing.T) {
	saved := State{UIDValidity: 7, LastUID: 10}
	for _, tc := range []struct {
		name           string
		saved          State
		have           bool
		validity, next uint32
		want           State
		first, fixed   bool
	}{
		{"no state", State{}, false, 7, 20, State{}, true, false},
		{"same validity", saved, true, 7, 20, saved, false, false},
		{"same validity, no UIDNEXT", saved, true, 7, 0, saved, false, false},
		{"validity changed", saved, true, 8, 20, State{}, true, false},
		{"validity changed to 0", saved, true, 0, 20, State{}, true, false},
		{"LastUID = UIDNEXT-1", saved, true, 7, 11, saved, false, false},
		{"LastUID beyond UIDNEXT", saved, true, 7, 5, State{UIDValidity: 7, LastUID: 4}, false, true},
		{"LastUID = UIDNEXT", saved, true, 7, 10, State{UIDValidity: 7, LastUID: 9}, false, true},
	} {
		st, first, fixed := resumeState(tc.saved, tc.have, tc.validity, tc.next)
		if first != tc.first || fixed != tc.fixed || (!first && st != tc.want) {
			t.Errorf("%s: got %+v first=%v fixed=%v, want %+v first=%v fixed=%v", tc.name, st, first, fixed, tc.want, tc.first, tc.fixed)
		}
	}
}

func TestFirstSyncLastUID(t *testing.T) {
	// A folder of 5 messages with UIDs 3, 5, 8, 9, 12 (sequence numbers 1-5).
	uids := []uint32{3, 5, 8, 9, 12}
	for _, tc := range []struct {
		uidNext, num uint32
		backlog      int
		want         uint32
		lookups      string
	}{
		{13, 5, 0, 12, "[]"},
		{20, 5, 0, 19, "[]"}, // later mail was expunged
		{0, 5, 0, 12, "[5]"}, // no UIDNEXT: the newest message's UID
		{13, 5, 1, 11, "[5]"},
		{13, 5, 2, 8, "[4]"},
		{13, 5, 5, 2, "[1]"},
		{13, 5, 50, 2, "[1]"},
		{0, 5, 2, 8, "[4]"},
		{1, 0, 3, 0, "[]"},
		{9, 0, 3, 8, "[]"}, // empty, but UIDs 1-8 were used
		{0, 0, 3, 0, "[]"},
		{13, 5, -1, 12, "[]"},
	} {
		var lookups []uint32
		got, err := firstSyncLastUID(tc.uidNext, tc.num, tc.backlog, func(seq uint32) (uint32, error) {
			lookups = append(lookups, seq)
			return uids[seq-1], nil
		})
		if err != nil || got != tc.want || fmt.Sprint(lookups) != tc.lookups && !(tc.lookups == "[]" && lookups == nil) {
			t.Errorf("firstSyncLastUID(%d, %d, %d) = %d, %v after looking up %v; want %d after %s", tc.uidNext, tc.num, tc.backlog, got, err, lookups, tc.want, tc.lookups)
		}
	}
	boom := errors.New("boom")
	if _, err := firstSyncLastUID(13, 5, 2, func(uint32) (uint32, error) { return 0, boom }); err != boom {
		t.Errorf("lookup error not returned: %v", err)
	}
}

func TestMarkRead(t *testing.T) {
	for _, markRead := range []bool{false, true} {
		t.Run(fmt.Sprint(markRead), func(t *testing.T) {
			e := startMem(t)
			e.add(t, "m1")
			e.add(t, "m2")
			e.add(t, "m3")
			r := startRun(t, Config{Server: e.server(), Backlog: 2, MarkRead: markRead}, newMemStore(), nil, hooks{})
			r.expectUIDs(2, 3)
			r.idle()
			want := uint32(3)
			if markRead {
				want = 1 // only the mail before the backlog
			}
			if got := *e.status(t).NumUnseen; got != want {
				t.Errorf("%d unseen, want %d", got, want)
			}
		})
	}
}

func TestTruncated(t *testing.T) {
	e := startMem(t)
	big := append(rfc822("big"), bytes.Repeat([]byte("0123456789abcdef\r\n"), 100)...)
	e.addRaw(t, "INBOX", big)
	exact := rfc822("exact")
	e.addRaw(t, "INBOX", exact)
	r := startRun(t, Config{Server: e.server(), Backlog: 2, MaxSize: int64(len(exact))}, newMemStore(), nil, hooks{})
	ms := r.expectUIDs(1, 2)
	if m := ms[0]; !m.Truncated || m.Size != int64(len(big)) || !bytes.Equal(m.Raw, big[:len(exact)]) {
		t.Errorf("big mail: Truncated %v, Size %d, %d bytes; want true, %d, the first %d bytes", m.Truncated, m.Size, len(m.Raw), len(big), len(exact))
	}
	if m := ms[1]; m.Truncated || m.Size != int64(len(exact)) || !bytes.Equal(m.Raw, exact) {
		t.Errorf("mail of exactly MaxSize: Truncated %v, Size %d, %d bytes", m.Truncated, m.Size, len(m.Raw))
	}
}

func TestWrongPassword(t *testing.T) {
	e := startMem(t)
	s := e.server()
	s.Password = "wrong-pw-42"
	cfg := Config{Server: s, BackoffMin: time.Millisecond, BackoffMax: 300 * time.Millisecond}
	r := startRun(t, cfg, newMemStore(), nil, hooks{})
	var prev time.Time
	for i := range 3 {
		ev := r.nextStatus()
		var e *Error
		if ev.connected || !errors.As(ev.err, &e) || !e.Auth {
			t.Fatalf("Status(%v, %#v), want (false, *Error with Auth)", ev.connected, ev.err)
		}
		if want := "login refused by 127.0.0.1: [AUTHENTICATIONFAILED] Authentication failed"; e.Text != want {
			t.Errorf("Text %q, want %q", e.Text, want)
		}
		if strings.Contains(e.Text, s.Password) || strings.Contains(e.Error(), s.Password) {
			t.Errorf("error text contains the password: %q", e.Text)
		}
		if i > 0 {
			if d := ev.at.Sub(prev); d < cfg.BackoffMax {
				t.Errorf("retried after %v, want at least BackoffMax %v", d, cfg.BackoffMax)
			}
		}
		prev = ev.at
	}
}

func TestReconnectAfterCut(t *testing.T) {
	e := startMem(t)
	p := startProxy(t, e.addr)
	s := e.server()
	s.Addr = p.addr()
	store := newMemStore()
	r := startRun(t, Config{Server: s, PollInterval: time.Hour}, store, nil, hooks{})
	if ev := r.nextStatus(); !ev.connected {
		t.Fatalf("Status(%v, %v), want connected", ev.connected, ev.err)
	}
	r.idle()
	r.expectUIDs(e.add(t, "m1"))
	r.idle()

	p.cut()
	ev := r.nextStatus()
	var pe *Error
	if ev.connected || !errors.As(ev.err, &pe) || pe.Auth {
		t.Fatalf("Status(%v, %#v) after cut, want (false, *Error without Auth)", ev.connected, ev.err)
	}
	t.Logf("after cut: %v", ev.err)
	if ev := r.nextStatus(); !ev.connected {
		t.Fatalf("Status(%v, %v), want reconnected", ev.connected, ev.err)
	}
	e.add(t, "m2")
	r.expectUIDs(2)
	r.idle()
	r.noMore()
}

func TestDeadConnectionNoticed(t *testing.T) {
	e := startMem(t)
	p := startProxy(t, e.addr)
	s := e.server()
	s.Addr = p.addr()
	s.Timeout = 2 * time.Second
	r := startRun(t, Config{Server: s, PollInterval: 100 * time.Millisecond}, newMemStore(), nil, hooks{})
	if ev := r.nextStatus(); !ev.connected {
		t.Fatalf("Status(%v, %v), want connected", ev.connected, ev.err)
	}
	r.idle()
	p.freeze()
	ev := r.nextStatus()
	var pe *Error
	if ev.connected || !errors.As(ev.err, &pe) || !errors.Is(pe, errTimeout) {
		t.Fatalf("Status(%v, %v) after freeze, want (false, timeout)", ev.connected, ev.err)
	}
	if want := "did not answer within 2s"; !strings.Contains(pe.Text, want) {
		t.Errorf("Text %q, want it to contain %q", pe.Text, want)
	}
	if ev := r.nextStatus(); !ev.connected {
		t.Fatalf("Status(%v, %v), want reconnected", ev.connected, ev.err)
	}
	r.expectUIDs(e.add(t, "after"))
}

func TestCancelPromptly(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		e := startMem(t)
		r := startRun(t, Config{Server: e.server(), PollInterval: time.Hour, IdleRestart: time.Hour}, newMemStore(), nil, hooks{})
		r.idle()
		r.stop() // checks the time it takes
		if ev := r.nextStatus(); !ev.connected {
			t.Fatal("want connected first")
		}
		if ev := r.nextStatus(); ev.connected || ev.err != nil {
			t.Errorf("last Status(%v, %v), want (false, nil)", ev.connected, ev.err)
		}
	})
	t.Run("backoff", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // connection refused from now on
		s := Server{Addr: addr, Security: Plain, Username: testUser, Password: testPass}
		r := startRun(t, Config{Server: s, BackoffMin: time.Hour, BackoffMax: time.Hour}, newMemStore(), nil, hooks{})
		ev := r.nextStatus()
		var e *Error
		if !errors.As(ev.err, &e) || e.Auth || !strings.HasPrefix(e.Text, "cannot connect to "+addr+": ") {
			t.Errorf("Status(%v, %v), want cannot connect", ev.connected, ev.err)
		}
		r.stop()
	})
	t.Run("handler", func(t *testing.T) {
		e := startMem(t)
		e.add(t, "m1")
		inHandler := make(chan struct{})
		h := func(ctx context.Context, m Mail) error {
			close(inHandler)
			<-ctx.Done()
			return ctx.Err()
		}
		r := startRun(t, Config{Server: e.server(), Backlog: 1}, newMemStore(), h, hooks{})
		select {
		case <-inHandler:
		case <-time.After(waitLong):
			t.Fatal("handler not called")
		}
		r.stop()
	})
	t.Run("silent server", func(t *testing.T) {
		// A server that accepts connections and never says a word.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		accepted := make(chan net.Conn, 10)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted <- c
			}
		}()
		t.Cleanup(func() {
			ln.Close()
			for {
				select {
				case c := <-accepted:
					c.Close()
				default:
					return
				}
			}
		})
		s := Server{Addr: ln.Addr().String(), Security: Plain, Username: testUser, Password: testPass, Timeout: time.Hour}
		r := startRun(t, Config{Server: s}, newMemStore(), nil, hooks{})
		select {
		case c := <-accepted:
			accepted <- c
		case <-time.After(waitLong):
			t.Fatal("no connection")
		}
		r.stop()
	})
}

func TestRunNeedsStoreAndHandler(t *testing.T) {
	if err := Run(context.Background(), Config{}, nil, func(context.Context, Mail) error { return nil }); err == nil {
		t.Error("nil store accepted")
	}
	if err := Run(context.Background(), Config{}, newMemStore(), nil); err == nil {
		t.Error("nil handler accepted")
	}
}

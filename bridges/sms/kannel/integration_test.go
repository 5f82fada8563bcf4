package kannel

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges/sms/gateway"
	"github.com/ferry-xmpp/ferry/internal/testenv"
)

const waitKannel = 10 * time.Second

// flakySink records everything and fails the first failures calls.
type flakySink struct {
	mu       sync.Mutex
	failures int
	inbound  []gateway.Inbound // every call, failed ones too
	reports  []gateway.Report
	failed   []bool // per inbound call
}

func (s *flakySink) Inbound(_ context.Context, m gateway.Inbound) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inbound = append(s.inbound, m)
	fail := s.failures > 0
	s.failed = append(s.failed, fail)
	if fail {
		s.failures--
		return errors.New("store unavailable")
	}
	return nil
}

func (s *flakySink) Report(_ context.Context, r gateway.Report) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports = append(s.reports, r)
	return nil
}

// waitInbound waits until the sink has n calls whose body is body, and
// returns them.
func (s *flakySink) waitInbound(t *testing.T, body string, n int) ([]gateway.Inbound, []bool) {
	t.Helper()
	deadline := time.Now().Add(waitKannel)
	for {
		s.mu.Lock()
		var got []gateway.Inbound
		var failed []bool
		for i, m := range s.inbound {
			if m.Body == body {
				got = append(got, m)
				failed = append(failed, s.failed[i])
			}
		}
		s.mu.Unlock()
		if len(got) >= n {
			return got, failed
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d inbound text(s) %q within %v, want %d; all: %+v", len(got), body, waitKannel, n, s.allInbound())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *flakySink) allInbound() []gateway.Inbound {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]gateway.Inbound(nil), s.inbound...)
}

// waitReports waits for the reports with id to include every state in want.
func (s *flakySink) waitReports(t *testing.T, id string, want ...gateway.DeliveryState) []gateway.Report {
	t.Helper()
	deadline := time.Now().Add(waitKannel)
	for {
		s.mu.Lock()
		var got []gateway.Report
		seen := map[gateway.DeliveryState]bool{}
		for _, r := range s.reports {
			if r.ID == id {
				got = append(got, r)
				seen[r.State] = true
			}
		}
		s.mu.Unlock()
		all := true
		for _, st := range want {
			all = all && seen[st]
		}
		if all {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("reports for %s within %v: %+v, want states %v", id, waitKannel, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func toNumber(n string) func(testenv.FakeSMS) bool {
	return func(m testenv.FakeSMS) bool { return m.To == n }
}

// TestWithKannel runs the provider against a real Kannel (bearerbox,
// smsbox, fake SMSC) with fakesmsc as the phone.
func TestWithKannel(t *testing.T) {
	testenv.NeedKannel(t)
	const secret = "it-secret"
	sink := &flakySink{}
	// Kannel must know the post-url before the provider can know Kannel's
	// sendsms URL: the server is up first, the handler set once both are.
	var handler atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := handler.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "not yet", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	start := time.Now()
	k := testenv.StartKannel(t, testenv.KannelOptions{PostURL: PostURL(srv.URL, secret)})
	t.Logf("Kannel ready in %v", time.Since(start))
	cfg := Config{SendSMSURL: k.SendSMSURL, Username: k.Username, Password: k.Password, PublicURL: srv.URL, Secret: secret}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handler(sink)
	handler.Store(&h)
	ctx := context.Background()

	send := func(t *testing.T, m gateway.Outbound) {
		t.Helper()
		res, err := p.Send(ctx, m)
		if err != nil || res != (gateway.SendResult{}) {
			t.Fatalf("Send(%+v): %+v, %v", m, res, err)
		}
	}

	t.Run("short text with delivery reports", func(t *testing.T) {
		send(t, gateway.Outbound{ID: "m1", From: "+15550001", To: "+15551001", Body: "Hello from Ferry"})
		m := k.ExpectAtPhone(t, waitKannel, toNumber("+15551001"))
		if m.From != "+15550001" || m.Text != "Hello from Ferry" || m.Coding != 0 || m.Parts != 1 {
			t.Errorf("phone got %s", m)
		}
		// The fake SMSC acknowledges (8) and delivers (1) at once; smsbox
		// may call back in either order.
		reps := sink.waitReports(t, "m1", gateway.Accepted, gateway.Delivered)
		for _, r := range reps {
			if r.Provider != "kannel" || r.Text != "" || r.ProviderID != "" {
				t.Errorf("report %+v", r)
			}
		}
	})

	t.Run("long text is concatenated", func(t *testing.T) {
		long := strings.Repeat("Ferry carries long texts. ", 8) // 208 characters
		send(t, gateway.Outbound{ID: "m2", From: "+15550001", To: "+15551002", Body: long})
		m := k.ExpectAtPhone(t, waitKannel, toNumber("+15551002"))
		if m.Text != long || m.Parts != 2 || m.Coding != 0 {
			t.Errorf("phone got %s", m)
		}
	})

	t.Run("unicode", func(t *testing.T) {
		for i, text := range []string{
			"Grüße 😀 — ça va? 中文",
			strings.Repeat("emoji 🚢 ", 20), // 180 UTF-16 units: 3 parts
		} {
			to := "+1555200" + string(rune('0'+i))
			send(t, gateway.Outbound{From: "+15550001", To: to, Body: text})
			m := k.ExpectAtPhone(t, waitKannel, toNumber(to))
			if m.Text != text || m.Coding != 2 {
				t.Errorf("phone got %s", m)
			}
		}
	})

	t.Run("GSM 7-bit with extension characters", func(t *testing.T) {
		text := "Prix: 5€ [env.] ~ {ok} à l'écoute ¿Qué? Ø"
		send(t, gateway.Outbound{From: "+15550001", To: "+15553001", Body: text})
		m := k.ExpectAtPhone(t, waitKannel, toNumber("+15553001"))
		if m.Text != text || m.Coding != 0 {
			t.Errorf("phone got %s", m)
		}
	})

	t.Run("media links and line breaks", func(t *testing.T) {
		send(t, gateway.Outbound{From: "+15550001", To: "+15553002", Body: "look\nat this", MediaURLs: []string{"https://ferry.example/m/1.jpg"}})
		m := k.ExpectAtPhone(t, waitKannel, toNumber("+15553002"))
		if m.Text != "look\nat this\nhttps://ferry.example/m/1.jpg" {
			t.Errorf("phone got %s", m)
		}
	})

	t.Run("texts from the phone", func(t *testing.T) {
		for i, text := range []string{"  Hi Ferry! 100% ", "Grüße 😀\nzweite Zeile", strings.Repeat("long reply ", 30)} {
			to := "+1555400" + string(rune('0'+i))
			before := time.Now().Add(-2 * time.Second)
			k.SendFromPhone(t, "+15551001", to, text)
			got, _ := sink.waitInbound(t, text, 1)
			in := got[0]
			if in.Provider != "kannel" || in.From != "+15551001" || in.To != to || in.ProviderID == "" ||
				in.Time.Before(before.Truncate(time.Second)) || in.Time.After(time.Now()) {
				t.Errorf("inbound %+v", in)
			}
		}
		// A concatenated text comes as one.
		k.SendRawFromPhone(t, "+15551001 +15554009 udh-text %05%00%03%07%02%01 The first half, ")
		k.SendRawFromPhone(t, "+15551001 +15554009 udh-text %05%00%03%07%02%02 and the second.")
		sink.waitInbound(t, "The first half, and the second.", 1)
	})

	t.Run("sink failure is retried by Kannel", func(t *testing.T) {
		sink.mu.Lock()
		sink.failures = 1
		sink.mu.Unlock()
		k.SendFromPhone(t, "+15551001", "+15554010", "retry me")
		got, failed := sink.waitInbound(t, "retry me", 2)
		if !failed[0] || failed[1] || got[0].ProviderID != got[1].ProviderID || got[0].ProviderID == "" {
			t.Errorf("calls %+v, failed %v", got, failed)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		bad := cfg
		bad.Password = "wrong"
		pb, err := New(bad)
		if err != nil {
			t.Fatal(err)
		}
		_, err = pb.Send(ctx, gateway.Outbound{ID: "m9", From: "+15550001", To: "+15559001", Body: "nope"})
		var se *gateway.SendError
		if !errors.As(err, &se) || se.Temporary || se.Code != "403" || !strings.Contains(se.Text, "Authorization failed") {
			t.Errorf("Send: %v", err)
		}
		k.ExpectNoneAtPhone(t, 1500*time.Millisecond, toNumber("+15559001"))
	})

	t.Run("Kannel down", func(t *testing.T) {
		k.Stop(t)
		_, err := p.Send(ctx, gateway.Outbound{ID: "m10", From: "+15550001", To: "+15559002", Body: "later"})
		var se *gateway.SendError
		if !errors.As(err, &se) || !se.Temporary || se.Code != "network" || strings.Contains(err.Error(), k.Password) {
			t.Errorf("Send: %v", err)
		}
	})
}

package relay

import (
	"strings"
	"testing"
	"time"
)

func TestNormalizeAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Alice@Relay.Example.ORG", "alice@relay.example.org"},
		{"alice@bücher.example", "alice@xn--bcher-kva.example"},
		{"Alice", ""}, // as go-smtp passes <"Alice"@x>: see requote
		{"a b@x.org", `"a b"@x.org`},
		{`a"b@x.org`, `"a\"b"@x.org`},
		{"a@b@x.org", `"a@b"@x.org`},
		{"a..b@x.org", `"a..b"@x.org`},
		{"a\x00b@x.org", ""},
		{"a\rb@x.org", ""},
		{"a@x.org\n", ""},
		{"@x.org", ""},
		{"a@", ""},
		{"a@[192.0.2.1]", ""},
		{"a@x..org", ""},
		{strings.Repeat("a", 65) + "@x.org", ""},
	} {
		got, err := normalizeAddress(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("normalizeAddress(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("normalizeAddress(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNormalizeSender(t *testing.T) {
	long := strings.Repeat("B", 70)
	for _, tc := range []struct{ in, want string }{
		{"Boss@X.org", "boss@x.org"},
		{long + "@Mailer.Example", strings.ToLower(long) + "@mailer.example"},
		{"postmaster@[192.0.2.1]", "postmaster@[192.0.2.1]"},
		{"postmaster@[IPv6:2001:db8::1]", "postmaster@[ipv6:2001:db8::1]"},
		{"a b@x.org", `"a b"@x.org`},
		{"a\x00b@x.org", ""},
		{"a\rb@" + strings.Repeat("x", 70) + ".org", ""},
		{long + "\x00@x.org", ""},
		{long + "@x\x00.org", ""},
		{long + "@x..org", ""},
		{long + "@x org", ""},
		{long + "@[1.2.3.4", ""},
		{long + "@[1.2\x01]", ""},
		{long + "\xff@x.org", ""},
		{"@x.org", ""},
		{long + "@", ""},
		{strings.Repeat("a", 250) + "@x.org", ""},
	} {
		got, err := normalizeSender(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("normalizeSender(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("normalizeSender(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestSenderAllowed(t *testing.T) {
	list := []string{"boss@x.org", "@y.org", "@"}
	for _, tc := range []struct {
		from string
		ok   bool
	}{
		{"boss@x.org", true},
		{"BOSS@x.org", true},
		{"eve@x.org", false},
		{"anyone@y.org", true},
		{"anyone@sub.y.org", false},
		{"anyone@y.org.evil", false},
		{"", false},
	} {
		if got := senderAllowed(tc.from, list); got != tc.ok {
			t.Errorf("senderAllowed(%q) = %v", tc.from, got)
		}
	}
	if !senderAllowed("", nil) || !senderAllowed("x@y.org", nil) {
		t.Error("an empty list must allow everyone")
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "unknown",
		"mx.example.net":         "mx.example.net",
		"[192.0.2.1]":            "[192.0.2.1]",
		"evil\rX-Injected: 1":    "evil_X-Injected:_1",
		"a(b)c;d\x00":            "a_b_c_d_",
		strings.Repeat("a", 300): strings.Repeat("a", maxHeloLen),
	} {
		if got := sanitizeHelo(in); got != want {
			t.Errorf("sanitizeHelo(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"192.0.2.1":   "[192.0.2.1]",
		"2001:db8::1": "[IPv6:2001:db8::1]",
		"pipe":        "pipe",
		"@foo bar":    "_foo_bar",
	} {
		if got := addressLiteral(in); got != want {
			t.Errorf("addressLiteral(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReceivedNoInjection(t *testing.T) {
	s := &Server{cfg: Config{Hostname: "mx.relay.test"}}
	ss := &session{srv: s, remote: "192.0.2.1"}
	tx := &transaction{id: "0123", helo: "x\r\nBcc: y"}
	evil := Recipient{Address: "a@relay.example.org>\r\nX-Evil: 1"}
	h := ss.received(tx, []Recipient{evil}, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	want := "Received: from x__Bcc:_y ([192.0.2.1])\r\n\tby mx.relay.test with ESMTP id 0123; " +
		"Tue, 02 Jan 2024 03:04:05 +0000\r\n"
	if h != want {
		t.Errorf("received = %q, want %q", h, want)
	}
}

func TestLimiter(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(2)
	l.now = func() time.Time { return now }
	for i, want := range []bool{true, true, false} {
		if got := l.allow("a"); got != want {
			t.Fatalf("allow #%d = %v", i, got)
		}
	}
	now = now.Add(30 * time.Minute) // one token back
	for i, want := range []bool{true, false} {
		if got := l.allow("a"); got != want {
			t.Fatalf("after 30 minutes: allow #%d = %v, want exactly one more", i, got)
		}
	}
	l.allow("b")
	mustEqual(t, "buckets", l.size(), 2)

	// Once full again, buckets are pruned: memory stays bounded.
	now = now.Add(2 * time.Hour)
	if !l.allow("c") {
		t.Fatal("c refused")
	}
	mustEqual(t, "buckets after prune", l.size(), 1)
	for i, want := range []bool{true, true, false} {
		if got := l.allow("a"); got != want {
			t.Fatalf("pruned bucket: allow #%d = %v, want a full bucket", i, got)
		}
	}
}

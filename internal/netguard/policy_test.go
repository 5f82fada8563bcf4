package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestPolicy(t *testing.T) {
	p, err := NewPolicy(false, []string{"Mail.Internal.Example.", "10.0.0.5", "192.168.7.0/24", "fd00:1::/32", "::ffff:172.16.9.0/120", "[fd00:2::1]"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host, addr string
		ok         bool
	}{
		{"imap.example.net", "8.8.8.8", true},
		{"imap.example.net", "10.0.0.1", false},
		{"imap.example.net", "100.100.100.200", false},
		{"imap.example.net", "::ffff:127.0.0.1", false},
		{"imap.example.net", "2002:7f00:1::1", false},
		// Named hosts are trusted with whatever they resolve to.
		{"mail.internal.example", "10.9.9.9", true},
		{"MAIL.internal.example.", "127.0.0.1", true},
		{"mail2.internal.example", "10.9.9.9", false},
		// Allowed addresses and ranges, however they are written.
		{"x", "10.0.0.5", true},
		{"x", "::ffff:10.0.0.5", true},
		{"x", "10.0.0.6", false},
		{"x", "192.168.7.200", true},
		{"x", "192.168.8.1", false},
		{"x", "fd00:1:abcd::1", true},
		{"x", "fd00:3::1", false},
		{"x", "172.16.9.77", true},
		{"x", "fd00:2::1", true},
		// An allowed IPv4 address is not reachable through a 6to4 or
		// NAT64 form of it: that would be another host.
		{"x", "2002:a00:5::1", false},
		{"x", "64:ff9b::a00:5", false},
	}
	for _, tc := range tests {
		err := p.Permits(tc.host, netip.MustParseAddr(tc.addr))
		var r *Refused
		if tc.ok != (err == nil) || err != nil && !errors.As(err, &r) {
			t.Errorf("Permits(%s, %s) = %v, want ok %v", tc.host, tc.addr, err, tc.ok)
		}
	}
	all, _ := NewPolicy(true, nil)
	if err := all.Permits("x", netip.MustParseAddr("127.0.0.1")); err != nil {
		t.Errorf("allow all: %v", err)
	}
	for _, bad := range []string{"10.0.0.0/33", "not a host!", "", "a..b", "-x.example"} {
		if _, err := NewPolicy(false, []string{bad}); err == nil {
			t.Errorf("NewPolicy accepted %q", bad)
		}
	}
}

func TestRefusedSaysWhy(t *testing.T) {
	p, _ := NewPolicy(false, nil)
	err := p.Permits("evil.example", netip.MustParseAddr("2002:6464:64c8::1"))
	if err == nil || !strings.Contains(err.Error(), "6to4") || !strings.Contains(err.Error(), "100.100.100.200") {
		t.Fatalf("refusal: %v", err)
	}
}

// TestDialerVetsTheAddressDialled: the dialer refuses a special address
// even when the name looked public before (its Control sees the address
// actually dialled), and lets allowed ones through.
func TestDialerVetsTheAddressDialled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ctx := context.Background()
	closed, _ := NewPolicy(false, nil)
	_, err = closed.Dialer("rebound.example").DialContext(ctx, "tcp", ln.Addr().String())
	var r *Refused
	if !errors.As(err, &r) || r.Block.Name != "loopback" || r.Host != "rebound.example" {
		t.Fatalf("dial to loopback: %v", err)
	}
	for _, p := range []*Policy{mustPolicy(t, false, "127.0.0.1"), mustPolicy(t, false, "mail.internal"), mustPolicy(t, true)} {
		c, err := p.Dialer("mail.internal").DialContext(ctx, "tcp", ln.Addr().String())
		if err != nil {
			t.Fatalf("allowed dial: %v", err)
		}
		c.Close()
	}
}

func mustPolicy(t *testing.T, all bool, allowed ...string) *Policy {
	t.Helper()
	p, err := NewPolicy(all, allowed)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type fakeResolver map[string][]netip.Addr

func (r fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestCheckHost(t *testing.T) {
	r := fakeResolver{
		"public.example": {netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("2001:4860::1")},
		"mixed.example":  {netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("100.100.100.200")},
		"meta.example":   {netip.MustParseAddr("169.254.169.254")},
	}
	p := mustPolicy(t, false, "meta.example")
	ctx := context.Background()
	var refused *Refused
	var dnsErr *net.DNSError
	for host, check := range map[string]func(error) bool{
		"public.example":  func(err error) bool { return err == nil },
		"mixed.example":   func(err error) bool { return errors.As(err, &refused) && refused.Addr.String() == "100.100.100.200" },
		"meta.example":    func(err error) bool { return err == nil }, // allowed by name
		"missing.example": func(err error) bool { return errors.As(err, &dnsErr) },
		"127.0.0.1":       func(err error) bool { return errors.As(err, &refused) },
		"[::1]":           func(err error) bool { return errors.As(err, &refused) },
		"8.8.4.4":         func(err error) bool { return err == nil },
	} {
		if err := p.CheckHost(ctx, r, host); !check(err) {
			t.Errorf("CheckHost(%s) = %v", host, err)
		}
	}
}

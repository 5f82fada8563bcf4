package netguard

import (
	"net/netip"
	"testing"
)

func TestSpecial(t *testing.T) {
	tests := []struct {
		addr  string
		block string // "" = public
	}{
		// Public.
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"172.32.0.1", ""},
		{"198.20.0.1", ""},
		{"223.255.255.255", ""},
		{"2001:4860:4860::8888", ""},
		{"2a00:1450:4001::1", ""},
		{"2001:200::1", ""},
		{"::ffff:8.8.8.8", ""},
		// IPv4 special-purpose blocks.
		{"0.0.0.0", `"this network"`},
		{"0.1.2.3", `"this network"`},
		{"10.1.2.3", "private use"},
		{"100.64.0.1", "shared address space (carrier-grade NAT, cloud metadata, Tailscale)"},
		{"100.100.100.200", "shared address space (carrier-grade NAT, cloud metadata, Tailscale)"},
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"169.254.169.254", "link local"},
		{"172.16.0.1", "private use"},
		{"172.31.255.255", "private use"},
		{"192.0.0.1", "IETF protocol assignments"},
		{"192.0.0.170", "IETF protocol assignments"},
		{"192.0.2.1", "documentation (TEST-NET-1)"},
		{"192.31.196.1", "AS112"},
		{"192.52.193.1", "AMT"},
		{"192.88.99.1", "6to4 relay anycast"},
		{"192.168.1.1", "private use"},
		{"192.175.48.1", "AS112 direct delegation"},
		{"198.18.0.1", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"198.51.100.7", "documentation (TEST-NET-2)"},
		{"203.0.113.9", "documentation (TEST-NET-3)"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"240.0.0.1", "reserved (and limited broadcast)"},
		{"255.255.255.255", "reserved (and limited broadcast)"},
		// IPv4-mapped: judged as the IPv4 address.
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:100.100.100.200", "shared address space (carrier-grade NAT, cloud metadata, Tailscale)"},
		{"::ffff:10.0.0.1", "private use"},
		// IPv6 outside 2000::/3.
		{"::", "unspecified"},
		{"::1", "loopback"},
		{"::127.0.0.1", "IPv4-compatible (deprecated)"},
		{"::8.8.8.8", "IPv4-compatible (deprecated)"},
		{"64:ff9b::127.0.0.1", "IPv4/IPv6 translation (NAT64)"},
		{"64:ff9b::8.8.8.8", "IPv4/IPv6 translation (NAT64)"},
		{"64:ff9b:1::a00:1", "local-use IPv4/IPv6 translation"},
		{"100::1", "discard-only"},
		{"100:0:0:1::1", "dummy prefix"},
		{"5f00::1", "segment routing (SRv6) SIDs"},
		{"fc00::1", "unique local"},
		{"fd12:3456::1", "unique local"},
		{"fe80::1", "link local"},
		{"fe80::1%eth0", "link local"},
		{"fec0::1", "site local (deprecated)"},
		{"ff02::1", "multicast"},
		{"1000::1", "reserved by the IETF (outside 2000::/3)"},
		{"4000::1", "reserved by the IETF (outside 2000::/3)"},
		// IPv6 special blocks within 2000::/3.
		{"2001::1", "Teredo"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"},
		{"2001:2::1", "IETF protocol assignments"},
		{"2001:10::1", "IETF protocol assignments"},
		{"2001:1ff::1", "IETF protocol assignments"},
		{"2001:db8::1", "documentation"},
		{"2002:7f00:1::1", "6to4"},
		{"2002:808:808::1", "6to4"},
		{"2620:4f:8000::1", "AS112 direct delegation"},
		{"3fff::1", "documentation"},
	}
	for _, tc := range tests {
		a := netip.MustParseAddr(tc.addr)
		b, special := Special(a)
		if special != (tc.block != "") || special && b.Name != tc.block {
			t.Errorf("Special(%s) = %v %v, want %q", tc.addr, b, special, tc.block)
		}
	}
	if b, special := Special(netip.Addr{}); !special || b.Name != "not an IP address" {
		t.Errorf("zero Addr: %v %v", b, special)
	}
}

func TestEmbedded(t *testing.T) {
	for addr, want := range map[string]string{
		"::ffff:127.0.0.1":                     "127.0.0.1",
		"::127.0.0.1":                          "127.0.0.1",
		"64:ff9b::a9fe:a9fe":                   "169.254.169.254",
		"2002:7f00:1::1":                       "127.0.0.1",
		"2002:6464:64c8::":                     "100.100.100.200",
		"2001:0:4136:e378:8000:63bf:3fff:fdd2": "192.0.2.45",
		"::1":                                  "",
		"::":                                   "",
		"2001:4860::1":                         "",
		"10.0.0.1":                             "",
	} {
		got := Embedded(netip.MustParseAddr(addr))
		if want == "" && got.IsValid() || want != "" && got != netip.MustParseAddr(want) {
			t.Errorf("Embedded(%s) = %v, want %q", addr, got, want)
		}
	}
}

// FuzzSpecial: whatever the address, an IPv4 address and its IPv4-mapped
// form get the same answer; what passes is never loopback, private, link
// local, multicast or unspecified by the standard library's reckoning,
// never carries an IPv4 address, and an IPv6 address that passes is in
// 2000::/3.
func FuzzSpecial(f *testing.F) {
	for _, s := range []string{"8.8.8.8", "127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::1", "2001:4860::1", "fe80::1", "64:ff9b::1"} {
		a := netip.MustParseAddr(s)
		b := a.As16()
		f.Add(b[:], a.Is4())
	}
	f.Fuzz(func(t *testing.T, raw []byte, is4 bool) {
		var b [16]byte
		copy(b[:], raw)
		a := netip.AddrFrom16(b)
		if is4 {
			a = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		}
		block, special := Special(a)
		if a.Is4() {
			if b6, s6 := Special(netip.AddrFrom16(a.As16())); s6 != special || b6 != block {
				t.Fatalf("%s: %v %v, but its mapped form: %v %v", a, block, special, b6, s6)
			}
		}
		if special {
			if block.Name == "" {
				t.Fatalf("%s refused without a name", a)
			}
			return
		}
		u := a.Unmap()
		if u.IsLoopback() || u.IsPrivate() || u.IsLinkLocalUnicast() || u.IsLinkLocalMulticast() ||
			u.IsInterfaceLocalMulticast() || u.IsMulticast() || u.IsUnspecified() {
			t.Fatalf("%s passes", a)
		}
		if Embedded(a).IsValid() && !a.Is4In6() {
			t.Fatalf("%s passes although it carries %s", a, Embedded(a))
		}
		if u.Is6() && !globalUnicast.Contains(u) {
			t.Fatalf("%s passes outside 2000::/3", a)
		}
	})
}

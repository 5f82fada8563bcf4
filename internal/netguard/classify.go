// Package netguard decides which addresses Ferry may connect to on a
// user's behalf. A user who names a mail server must not make the gateway
// reach what only the gateway can reach: loopback, the operator's private
// networks, a cloud provider's metadata service (100.100.100.200 and
// 169.254.169.254), or any of those hidden inside an IPv6 form that
// carries an IPv4 address. Only ordinary public unicast addresses pass,
// plus what the operator allows explicitly (a Policy).
package netguard

import (
	"fmt"
	"net/netip"
)

// Block is a range of addresses Ferry does not connect to for users.
type Block struct {
	Prefix netip.Prefix
	Name   string
}

func (b Block) String() string { return fmt.Sprintf("%s (%s)", b.Prefix, b.Name) }

func block(prefix, name string) Block {
	return Block{Prefix: netip.MustParsePrefix(prefix), Name: name}
}

// ipv4Blocks are the IANA IPv4 Special-Purpose Address Registry's blocks
// (RFC 6890 and later), whether or not the registry calls them globally
// reachable (no mail server lives in an anycast or AS112 block), plus
// multicast and the reserved 240.0.0.0/4, which holds the limited
// broadcast address.
var ipv4Blocks = []Block{
	block("0.0.0.0/8", `"this network"`),
	block("10.0.0.0/8", "private use"),
	block("100.64.0.0/10", "shared address space (carrier-grade NAT, cloud metadata, Tailscale)"),
	block("127.0.0.0/8", "loopback"),
	block("169.254.0.0/16", "link local"),
	block("172.16.0.0/12", "private use"),
	block("192.0.0.0/24", "IETF protocol assignments"),
	block("192.0.2.0/24", "documentation (TEST-NET-1)"),
	block("192.31.196.0/24", "AS112"),
	block("192.52.193.0/24", "AMT"),
	block("192.88.99.0/24", "6to4 relay anycast"),
	block("192.168.0.0/16", "private use"),
	block("192.175.48.0/24", "AS112 direct delegation"),
	block("198.18.0.0/15", "benchmarking"),
	block("198.51.100.0/24", "documentation (TEST-NET-2)"),
	block("203.0.113.0/24", "documentation (TEST-NET-3)"),
	block("224.0.0.0/4", "multicast"),
	block("240.0.0.0/4", "reserved (and limited broadcast)"),
}

// IPv6 unicast addresses are assigned only from 2000::/3; every address
// outside it is special. ipv6Outside names the registry's blocks there;
// what none of them covers is "reserved by the IETF".
var ipv6Outside = []Block{
	block("::/128", "unspecified"),
	block("::1/128", "loopback"),
	// ::ffff:0:0/96, IPv4-mapped, is unmapped and judged as IPv4.
	{Prefix: compat, Name: "IPv4-compatible (deprecated)"},
	{Prefix: nat64, Name: "IPv4/IPv6 translation (NAT64)"},
	block("64:ff9b:1::/48", "local-use IPv4/IPv6 translation"),
	block("100::/64", "discard-only"),
	block("100:0:0:1::/64", "dummy prefix"),
	block("5f00::/16", "segment routing (SRv6) SIDs"),
	block("fc00::/7", "unique local"),
	block("fe80::/10", "link local"),
	block("fec0::/10", "site local (deprecated)"),
	block("ff00::/8", "multicast"),
}

// ipv6Inside are the registry's blocks within 2000::/3.
var ipv6Inside = []Block{
	{Prefix: teredo, Name: "Teredo"},
	block("2001::/23", "IETF protocol assignments"),
	block("2001:db8::/32", "documentation"),
	{Prefix: sixToFour, Name: "6to4"},
	block("2620:4f:8000::/48", "AS112 direct delegation"),
	block("3fff::/20", "documentation"),
}

// The IPv6 blocks whose addresses embed an IPv4 address.
var (
	compat    = netip.MustParsePrefix("::/96")
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	teredo    = netip.MustParsePrefix("2001::/32")
)

var (
	globalUnicast = netip.MustParsePrefix("2000::/3")
	ietfReserved  = Block{Prefix: netip.MustParsePrefix("::/0"), Name: "reserved by the IETF (outside 2000::/3)"}
	invalid       = Block{Name: "not an IP address"}
)

// Special reports whether addr is outside ordinary public unicast: in a
// special-purpose block, multicast or reserved. An IPv4-mapped address
// (::ffff:a.b.c.d) is judged as the IPv4 address it maps, which is where
// a connection to it goes; every other IPv6 form that embeds an IPv4
// address (NAT64, 6to4, Teredo, IPv4-compatible) is special whatever it
// embeds: Embedded says what that is, for the log.
func Special(addr netip.Addr) (b Block, special bool) {
	addr = addr.Unmap().WithZone("")
	switch {
	case !addr.IsValid():
		return invalid, true
	case addr.Is4():
		return first(ipv4Blocks, addr)
	case !globalUnicast.Contains(addr):
		if b, ok := longest(ipv6Outside, addr); ok {
			return b, true
		}
		return ietfReserved, true
	}
	return longest(ipv6Inside, addr)
}

func first(blocks []Block, addr netip.Addr) (Block, bool) {
	for _, b := range blocks {
		if b.Prefix.Contains(addr) {
			return b, true
		}
	}
	return Block{}, false
}

// longest is the most specific block holding addr (Teredo within the IETF
// assignments, NAT64 within the IPv4-compatible-looking ::/96 neighbours).
func longest(blocks []Block, addr netip.Addr) (Block, bool) {
	var found Block
	ok := false
	for _, b := range blocks {
		if b.Prefix.Contains(addr) && (!ok || b.Prefix.Bits() > found.Prefix.Bits()) {
			found, ok = b, true
		}
	}
	return found, ok
}

// Embedded is the IPv4 address an IPv6 address carries by one of the
// standard mappings, or the zero Addr: IPv4-mapped and IPv4-compatible
// (the last 32 bits), NAT64 (RFC 6052: the last 32 bits of 64:ff9b::/96),
// 6to4 (RFC 3056: bits 16 to 47) and Teredo (RFC 4380: the client, the
// last 32 bits inverted). It is for saying what a refused address would
// have reached.
func Embedded(addr netip.Addr) netip.Addr {
	addr = addr.WithZone("")
	if !addr.Is6() {
		return netip.Addr{}
	}
	a := addr.As16()
	last := func(invert byte) netip.Addr {
		return netip.AddrFrom4([4]byte{a[12] ^ invert, a[13] ^ invert, a[14] ^ invert, a[15] ^ invert})
	}
	switch {
	case addr.Is4In6(), nat64.Contains(addr):
		return last(0)
	case compat.Contains(addr) && !addr.IsUnspecified() && !addr.IsLoopback():
		return last(0)
	case sixToFour.Contains(addr):
		return netip.AddrFrom4([4]byte{a[2], a[3], a[4], a[5]})
	case teredo.Contains(addr):
		return last(0xff)
	}
	return netip.Addr{}
}

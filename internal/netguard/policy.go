package netguard

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// Policy is what users may make Ferry connect to: public addresses, and
// the hosts and networks the operator allows although they are special.
type Policy struct {
	allowAll bool
	names    map[string]bool // host names, lower case, without a final dot
	prefixes []netip.Prefix
}

// NewPolicy builds a policy. allowAll lets everything through (a test
// set-up, a gateway used only by its operator). allowed lists what users
// may name although it is not public: host names (trusted with whatever
// they resolve to, so the operator's own mail server may live on a
// private address), IP addresses and CIDR prefixes.
func NewPolicy(allowAll bool, allowed []string) (*Policy, error) {
	p := &Policy{allowAll: allowAll, names: map[string]bool{}}
	for _, entry := range allowed {
		e := strings.TrimSpace(entry)
		switch {
		case strings.Contains(e, "/"):
			pfx, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR prefix such as 10.0.0.0/24", entry)
			}
			p.prefixes = append(p.prefixes, unmapPrefix(pfx.Masked()))
		default:
			if a, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
				a = a.Unmap()
				p.prefixes = append(p.prefixes, netip.PrefixFrom(a, a.BitLen()))
				continue
			}
			name := HostKey(e)
			if !validName(name) {
				return nil, fmt.Errorf("%q is not a host name, an IP address or a CIDR prefix", entry)
			}
			p.names[name] = true
		}
	}
	return p, nil
}

// unmapPrefix turns ::ffff:a.b.c.d/N (N >= 96) into a.b.c.d/(N-96), so an
// allowed range matches addresses however they are written.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// HostKey is how host names are compared: lower case, no final dot.
func HostKey(host string) string { return strings.TrimSuffix(strings.ToLower(host), ".") }

func validName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Refused is a connection the policy does not allow. Its text is for the
// operator's log; users get one text for every host they cannot reach,
// refused or not, so that refusals tell them nothing about the network.
type Refused struct {
	Host     string     // as the user named it
	Addr     netip.Addr // what it resolved to
	Block    Block
	Embedded netip.Addr // the IPv4 address Addr carries, if any
}

func (r *Refused) Error() string {
	s := fmt.Sprintf("netguard: %s is %s, in %s", r.Host, r.Addr, r.Block)
	if r.Embedded.IsValid() {
		s += fmt.Sprintf(", carrying %s", r.Embedded)
	}
	return s + ": not a public address, and not allowed by the operator"
}

// Permits reports whether Ferry may connect to addr, which host (as the
// user named it) resolved to: nil, or a *Refused.
func (p *Policy) Permits(host string, addr netip.Addr) error {
	if p.allowAll || p.names[HostKey(host)] {
		return nil
	}
	plain := addr.Unmap().WithZone("")
	for _, pfx := range p.prefixes {
		if pfx.Contains(plain) {
			return nil
		}
	}
	if b, special := Special(addr); special {
		return &Refused{Host: host, Addr: addr, Block: b, Embedded: Embedded(addr)}
	}
	return nil
}

// Dialer returns a dialer for connections to host whose Control vets the
// address actually dialled, after name resolution: a name that resolves
// to a public address at registration and to a private one later (DNS
// rebinding) is refused then too.
func (p *Policy) Dialer(host string) *net.Dialer {
	if p.allowAll {
		return &net.Dialer{}
	}
	return &net.Dialer{Control: func(_, address string, _ syscall.RawConn) error {
		h, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		addr, err := netip.ParseAddr(h)
		if err != nil {
			return err
		}
		return p.Permits(host, addr)
	}}
}

// Resolver looks host names up (net.DefaultResolver in production).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CheckHost resolves host and vets every address it has, so a
// registration naming a refused host is answered at once rather than
// after a connection attempt. The error is a *Refused or the resolver's.
func (p *Policy) CheckHost(ctx context.Context, r Resolver, host string) error {
	if p.allowAll || p.names[HostKey(host)] {
		return nil
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return p.Permits(host, a)
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if err := p.Permits(host, a); err != nil {
			return err
		}
	}
	return nil
}

package tlshint

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestExplain(t *testing.T) {
	cert := &x509.Certificate{DNSNames: []string{"irc.example.net"}}
	wrap := func(err error) error { return fmt.Errorf("dial: %w", &tls.CertificateVerificationError{Err: err}) }
	tests := []struct {
		name string
		err  error
		want string // substring; "" means not a TLS failure
	}{
		{"unknown authority", wrap(x509.UnknownAuthorityError{Cert: cert}), "trust it with ca_file"},
		{"wrong name", wrap(x509.HostnameError{Certificate: cert, Host: "irc.other.net"}), "not valid for irc.other.net (it is for irc.example.net)"},
		{"expired", wrap(x509.CertificateInvalidError{Cert: cert, Reason: x509.Expired}), "has expired"},
		{"plain port", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, "does not speak TLS on this port"},
		{"alert", fmt.Errorf("handshake: %w", tls.AlertError(40)), "ended the TLS handshake (handshake failure)"},
		{"not TLS", io.EOF, ""},
		{"plain error", errors.New("connection refused"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Explain(tc.err)
			if tc.want == "" {
				if ok {
					t.Fatalf("explained %v as %q", tc.err, got)
				}
				return
			}
			if !ok || !strings.Contains(got, tc.want) {
				t.Fatalf("Explain = %q, %v; want %q", got, ok, tc.want)
			}
			for _, jargon := range []string{"x509", "tls:", "crypto"} {
				if strings.Contains(got, jargon) {
					t.Errorf("%q shows %q", got, jargon)
				}
			}
		})
	}
}

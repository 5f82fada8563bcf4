package irc

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// handshake dials a TLS server presenting cert with cfg and reports the
// client's verdict.
func handshake(t *testing.T, cert tls.Certificate, cfg *tls.Config) error {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_ = c.(*tls.Conn).Handshake()
		c.Close()
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), cfg)
	if err == nil {
		c.Close()
	}
	return err
}

// verify_cert and fingerprint on a server the user named: by default the
// chain must verify; a pinned fingerprint replaces the chain; verify_cert
// off accepts any certificate.
func TestCertificateChecks(t *testing.T) {
	cert, pool := testenv.SelfSigned(t, "irc.example.org")
	sum := sha256.Sum256(cert.Certificate[0])
	right := hex.EncodeToString(sum[:])
	wrong := strings.Repeat("00", 32)
	nw := Network{Name: "irc.example.org", Address: "127.0.0.1:6697", TLS: true, UserNamed: true}
	tests := []struct {
		name  string
		roots bool // trust the certificate's CA
		set   map[string]string
		ok    bool
		error string
	}{
		{"trusted CA", true, nil, true, ""},
		{"unknown CA", false, nil, false, "unknown authority"},
		{"unknown CA, not checked", false, map[string]string{setVerifyCert: "false"}, true, ""},
		{"pinned", false, map[string]string{setFingerprint: right}, true, ""},
		{"pinned, another certificate", true, map[string]string{setFingerprint: wrong}, false, "not the one pinned"},
		{"pinned wins over verify_cert off", false, map[string]string{setFingerprint: wrong, setVerifyCert: "false"}, false, "not the one pinned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := nw
			if tt.roots {
				n.RootCAs = pool
			}
			cfg := n.tlsConfig()
			applyCertChecks(cfg, tt.set)
			err := handshake(t, cert, cfg)
			if tt.ok != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.error) {
				t.Fatalf("handshake: %v; want ok=%v (%q)", err, tt.ok, tt.error)
			}
		})
	}
}

package irc

import (
	"context"
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/bridges"
)

func testBridge(t testing.TB, raw map[string]any) *Bridge {
	t.Helper()
	b, err := Factory("irc.gw", raw, bridges.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return b.(*Bridge)
}

func TestValidateMakesAClientCertificateOnce(t *testing.T) {
	b := testBridge(t, map[string]any{"network": []map[string]any{{"name": "irc.test", "address": "127.0.0.1:1", "tls": false}}})
	v, err := b.Validate(context.Background(), bridges.Registration{JID: "a@x", Values: map[string]string{"nick": "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	pair := v["client_cert"]
	fp256, fp512, err := fingerprints(pair)
	if err != nil || len(fp256) != 64 || len(fp512) != 128 {
		t.Fatalf("fingerprints %q %q %v", fp256, fp512, err)
	}
	again, err := b.Validate(context.Background(), bridges.Registration{JID: "a@x", Values: v})
	if err != nil || again["client_cert"] != pair {
		t.Fatal("a stored certificate was replaced")
	}
	// EXTERNAL over a plain connection cannot work: refused with a reason.
	v["sasl_mechanism"], v["server"] = "EXTERNAL", "irc.test"
	if _, err := b.Validate(context.Background(), bridges.Registration{JID: "a@x", Values: v}); err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("EXTERNAL without TLS: %v", err)
	}
}

func TestDialConfig(t *testing.T) {
	b := testBridge(t, map[string]any{"network": []map[string]any{
		{"name": "tls.test", "address": "127.0.0.1:6697"},
		{"name": "plain.test", "address": "127.0.0.1:6667", "tls": false},
	}})
	pair, err := newClientCert("alice")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, server string
		values       map[string]string
		sasl, user   string
		cert         bool
		wantErr      string
	}{
		{"plain, no sasl", "plain.test", map[string]string{"client_cert": pair}, "", "", false, ""},
		{"tls presents the certificate", "tls.test", map[string]string{"client_cert": pair}, "", "", true, ""},
		{"sasl plain defaults the account to the nick", "tls.test", map[string]string{"sasl_password": "pw"}, "PLAIN", "alice", false, ""},
		{"sasl external", "tls.test", map[string]string{"client_cert": pair, "sasl_mechanism": "EXTERNAL"}, "EXTERNAL", "", true, ""},
		{"external without tls", "plain.test", map[string]string{"sasl_mechanism": "EXTERNAL"}, "", "", false, "TLS"},
		{"unknown server", "other.test", nil, "", "", false, "does not connect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := b.dialConfig("alice@example.org", tc.server, tc.values, "alice")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.SASL != tc.sasl || cfg.SASLUser != tc.user {
				t.Errorf("SASL %q/%q", cfg.SASL, cfg.SASLUser)
			}
			hasCert := cfg.TLSConfig != nil && len(cfg.TLSConfig.Certificates) == 1
			if hasCert != tc.cert {
				t.Errorf("client certificate presented: %v", hasCert)
			}
			if tc.server == "tls.test" && cfg.TLSConfig.ServerName != "tls.test" {
				t.Errorf("ServerName %q: an IP address must verify against the network name", cfg.TLSConfig.ServerName)
			}
		})
	}
}

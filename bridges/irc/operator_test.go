package irc

import (
	"strings"
	"testing"
)

const testHashKey = "0123456789abcdef-test-key"

func webircNetwork(extra map[string]any) map[string]any {
	n := map[string]any{"name": "irc.test", "address": "127.0.0.1:6667", "tls": false}
	for k, v := range extra {
		n[k] = v
	}
	return n
}

// Every operator option is checked at startup, each problem naming its key.
func TestParseOperatorOptions(t *testing.T) {
	tests := []struct {
		name    string
		raw     map[string]any
		wantErr string // "" = valid
		check   func(t *testing.T, o Options)
	}{
		{"defaults", map[string]any{}, "", func(t *testing.T, o Options) {
			if o.Operator.Ident != identUsername || o.Operator.IdentdListen != "" || o.Operator.MaxNetworksPerUser != 0 {
				t.Errorf("%+v", o.Operator)
			}
		}},
		{"webirc", map[string]any{"user_hash_key": testHashKey, "network": []map[string]any{webircNetwork(map[string]any{
			"webirc_password": "pw", "webirc_ip": "192.0.2.1"})}}, "", func(t *testing.T, o Options) {
			if w := o.Networks["irc.test"].Operator; w.WebIRCPassword != "pw" || w.WebIRCGateway != "ferry" || w.WebIRCIP != "192.0.2.1" {
				t.Errorf("%+v", w)
			}
		}},
		{"webirc without ip", map[string]any{"user_hash_key": testHashKey, "network": []map[string]any{webircNetwork(map[string]any{
			"webirc_password": "pw"})}}, "network[0].webirc_ip: must be set", nil},
		{"webirc without key", map[string]any{"network": []map[string]any{webircNetwork(map[string]any{
			"webirc_password": "pw", "webirc_ip": "192.0.2.1"})}}, "user_hash_key: must be set when a network has webirc_password", nil},
		{"webirc ip not an ip", map[string]any{"user_hash_key": testHashKey, "network": []map[string]any{webircNetwork(map[string]any{
			"webirc_password": "pw", "webirc_ip": "gw.example"})}}, "network[0].webirc_ip: must be an IP address", nil},
		{"webirc password with a space", map[string]any{"user_hash_key": testHashKey, "network": []map[string]any{webircNetwork(map[string]any{
			"webirc_password": "p w", "webirc_ip": "192.0.2.1"})}}, "network[0].webirc_password: must be one word", nil},
		{"webirc ip without password", map[string]any{"network": []map[string]any{webircNetwork(map[string]any{
			"webirc_ip": "192.0.2.1"})}}, "network[0].webirc_password: must be set with the other webirc_ options", nil},
		{"bad host suffix", map[string]any{"user_hash_key": testHashKey, "network": []map[string]any{webircNetwork(map[string]any{
			"webirc_password": "pw", "webirc_ip": "192.0.2.1", "webirc_host_suffix": "a b"})}}, "network[0].webirc_host_suffix: must be a domain name", nil},
		{"short hash key", map[string]any{"user_hash_key": "short"}, "user_hash_key: must be a secret of at least 16", nil},
		{"hashed ident", map[string]any{"ident": "hashed", "user_hash_key": testHashKey}, "", func(t *testing.T, o Options) {
			if o.Operator.Ident != identHashed {
				t.Errorf("%+v", o.Operator)
			}
		}},
		{"hashed ident without key", map[string]any{"ident": "hashed"}, "user_hash_key: must be set when ident is", nil},
		{"unknown ident", map[string]any{"ident": "random"}, "ident: must be", nil},
		{"identd listen", map[string]any{"identd_listen": "0.0.0.0:113"}, "", func(t *testing.T, o Options) {
			if o.Operator.IdentdListen != "0.0.0.0:113" {
				t.Errorf("%+v", o.Operator)
			}
		}},
		{"identd listen without port", map[string]any{"identd_listen": "0.0.0.0"}, "identd_listen: must be host:port", nil},
		{"identd port out of range", map[string]any{"identd_listen": ":70000"}, "identd_listen: must be host:port", nil},
		{"limits", map[string]any{"max_networks_per_user": int64(3), "max_connections_per_network": int64(100),
			"network": []map[string]any{webircNetwork(map[string]any{"max_connections": int64(2)})}, "allow_other_servers": true}, "",
			func(t *testing.T, o Options) {
				if o.Operator.MaxNetworksPerUser != 3 || o.Networks["irc.test"].Operator.MaxConnections != 2 {
					t.Errorf("%+v", o)
				}
				if n, _ := o.network("irc.other.example"); n.Operator.MaxConnections != 100 {
					t.Errorf("a server a user named: %+v", n.Operator)
				}
			}},
		{"negative limit", map[string]any{"max_networks_per_user": int64(-1)}, "max_networks_per_user: must be a whole number", nil},
		{"limit not a number", map[string]any{"network": []map[string]any{webircNetwork(map[string]any{"max_connections": "2"})}},
			"network[0].max_connections: must be a whole number", nil},
		{"banner", map[string]any{"network": []map[string]any{webircNetwork(map[string]any{"banner": "Rules: be nice."})}}, "",
			func(t *testing.T, o Options) {
				if o.Networks["irc.test"].Operator.Banner != "Rules: be nice." {
					t.Errorf("%+v", o.Networks["irc.test"].Operator)
				}
			}},
		{"banner too long", map[string]any{"network": []map[string]any{webircNetwork(map[string]any{"banner": strings.Repeat("x", maxBanner+1)})}},
			"network[0].banner: must be at most", nil},
		{"network typo", map[string]any{"network": []map[string]any{webircNetwork(map[string]any{"webirc_pasword": "x"})}},
			`network[0].webirc_pasword: unknown option (did you mean "webirc_password"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, o)
		})
	}
}

// The WEBIRC host name and the hashed ident are stable per user, differ
// between users and never contain the JID.
func TestUserNames(t *testing.T) {
	o, err := parseOptions(map[string]any{"user_hash_key": testHashKey, "ident": "hashed", "network": []map[string]any{
		webircNetwork(map[string]any{"webirc_password": "pw", "webirc_ip": "::1"})}})
	if err != nil {
		t.Fatal(err)
	}
	b := &Bridge{domain: "irc.gw.example", opts: o}
	nw := o.Networks["irc.test"]
	alice, again, bob := b.webirc(nw, "alice@example.org"), b.webirc(nw, "alice@example.org"), b.webirc(nw, "bob@example.org")
	if alice.Hostname != again.Hostname || alice.Hostname == bob.Hostname {
		t.Errorf("host names: %s, %s, %s", alice.Hostname, again.Hostname, bob.Hostname)
	}
	if !strings.HasSuffix(alice.Hostname, ".users.irc.gw.example") || len(alice.Hostname) != 16+len(".users.irc.gw.example") ||
		strings.Contains(alice.Hostname, "alice") {
		t.Errorf("host name %q", alice.Hostname)
	}
	if alice.IP != "0::1" || alice.Password != "pw" || alice.Gateway != "ferry" {
		t.Errorf("%+v", alice)
	}
	if b.webirc(Network{}, "alice@example.org") != nil {
		t.Error("WEBIRC for a network without a password")
	}
	id := b.ident("alice@example.org", map[string]string{"username": "ali"}, "alice")
	if id != b.ident("alice@example.org", nil, "other") || id == b.ident("bob@example.org", nil, "bob") || len(id) != 9 || strings.Contains(id, "ali") {
		t.Errorf("hashed ident %q", id)
	}
	b.opts.Operator.Ident = identUsername
	for _, tc := range []struct {
		values map[string]string
		want   string
	}{{map[string]string{"username": "ali"}, "ali"}, {map[string]string{}, "alice"}} {
		if got := b.ident("alice@example.org", tc.values, "alice"); got != tc.want {
			t.Errorf("ident(%v) = %q, want %q", tc.values, got, tc.want)
		}
	}
	// Another key, other names: nobody without the key can compute them.
	other := &Bridge{domain: "irc.gw.example", opts: o}
	other.opts.Operator.UserHashKey = "another-key-of-16-chars"
	if other.webirc(nw, "alice@example.org").Hostname == alice.Hostname {
		t.Error("the host name does not depend on the key")
	}
}

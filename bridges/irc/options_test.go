package irc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/ratelimit"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		raw     map[string]any
		check   func(t *testing.T, o Options)
		wantErr string
	}{
		{"defaults", nil, func(t *testing.T, o Options) {
			if !o.AllowOtherServers || o.PingInterval != 90*time.Second {
				t.Errorf("%+v", o)
			}
		}, ""},
		{"networks close other servers", map[string]any{"network": []map[string]any{{"name": "Irc.Test", "address": "127.0.0.1:6667", "tls": false}}},
			func(t *testing.T, o Options) {
				n, ok := o.network("irc.test")
				if !ok || n.Address != "127.0.0.1:6667" || n.TLS || o.AllowOtherServers {
					t.Errorf("%+v %+v", n, o)
				}
				if _, ok := o.network("irc.other"); ok {
					t.Error("other server allowed")
				}
			}, ""},
		{"network from a TOML array of tables", map[string]any{"network": []any{map[string]any{"name": "irc.test"}}},
			func(t *testing.T, o Options) {
				if n, _ := o.network("irc.test"); n.Address != "irc.test:6697" || !n.TLS {
					t.Errorf("%+v", n)
				}
			}, ""},
		{"other servers default to TLS 6697", nil, func(t *testing.T, o Options) {
			if n, ok := o.network("irc.example.net"); !ok || n.Address != "irc.example.net:6697" || !n.TLS {
				t.Errorf("%+v", n)
			}
		}, ""},
		{"fixed server", map[string]any{"fixed_server": "irc.test"}, func(t *testing.T, o Options) {
			if o.AllowOtherServers || o.FixedServer != "irc.test" {
				t.Errorf("%+v", o)
			}
		}, ""},
		{"unknown key", map[string]any{"colour": "blue"}, nil, "colour: unknown option"},
		{"bad burst", map[string]any{"burst": int64(0)}, nil, "burst:"},
		{"defaults pace like biboumi", map[string]any{}, func(t *testing.T, o Options) {
			if o.Burst != 10 || o.Rate != 1 {
				t.Errorf("burst %d rate %v, want 10 and 1", o.Burst, o.Rate)
			}
		}, ""},
		{"rate 0 switches pacing off", map[string]any{"rate": int64(0)}, func(t *testing.T, o Options) {
			if o.Rate != 0 {
				t.Errorf("rate %v", o.Rate)
			}
		}, ""},
		{"login limits", map[string]any{"login_limit_user": map[string]any{"burst": int64(1), "every": "1m"},
			"login_limit_network": map[string]any{"every": "0s"}}, func(t *testing.T, o Options) {
			if o.LoginPerUser != (ratelimit.Limit{Burst: 1, Every: time.Minute}) || o.LoginPerNetwork != (ratelimit.Limit{Burst: 10}) {
				t.Errorf("%v %v", o.LoginPerUser, o.LoginPerNetwork)
			}
		}, ""},
		{"bad login limit", map[string]any{"login_limit_user": "3"}, nil, "login_limit_user: must be a table"},
		{"negative rate", map[string]any{"rate": -1.0}, nil, "rate:"},
		{"bad duration", map[string]any{"ping_interval": "soon"}, nil, "ping_interval:"},
		{"min above max", map[string]any{"reconnect_min": "10m", "reconnect_max": "1m"}, nil, "reconnect_min:"},
		{"network without name", map[string]any{"network": []map[string]any{{"address": "x:1"}}}, nil, "network[0]"},
		{"missing CA file", map[string]any{"network": []map[string]any{{"name": "a.b", "ca_file": "/nonexistent"}}}, nil, "ca_file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseOptions(tc.raw)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, o)
		})
	}
}

func TestRanks(t *testing.T) {
	pm := prefixMap{modes: "qaohv", symbols: "~&@%+"}
	tests := []struct{ modes, aff, role string }{
		{"", "none", "participant"},
		{"v", "member", "participant"},
		{"h", "member", "moderator"},
		{"o", "admin", "moderator"},
		{"vo", "admin", "moderator"},
		{"a", "admin", "moderator"},
		{"q", "owner", "moderator"},
	}
	for _, tc := range tests {
		if aff, role := pm.rank(tc.modes); aff != tc.aff || role != tc.role {
			t.Errorf("rank(%q) = %s/%s, want %s/%s", tc.modes, aff, role, tc.aff, tc.role)
		}
	}
	if modes, nick := pm.split("@+bob"); modes != "ov" || nick != "bob" {
		t.Errorf("split = %q %q", modes, nick)
	}
}

func TestNicks(t *testing.T) {
	for nick, ok := range map[string]bool{"alice": true, "al_ice-2": true, "": false, "a b": false, "1abc": false,
		"#chan": false, "a\r\nQUIT": false, "x,y": false, "-dash": false} {
		if validNick(nick) != ok {
			t.Errorf("validNick(%q) = %v", nick, !ok)
		}
	}
	b := &Bridge{opts: defaultOptions()}
	for _, tc := range []struct{ jid, hint, want string }{
		{"alice@x", "Alicia", "Alicia"},
		{"alice@x", "bad nick", "alice"},
		{"été@x", "", "t"},
		{"123@x", "", "ferry123"},
	} {
		v, ok := b.ImplicitRegistration(tc.jid, tc.hint)
		if !ok || v["nick"] != tc.want {
			t.Errorf("ImplicitRegistration(%q, %q) = %v", tc.jid, tc.hint, v)
		}
	}
	b.opts.RequireRegistration = true
	if _, ok := b.ImplicitRegistration("a@x", "a"); ok {
		t.Error("implicit registration despite require_registration")
	}
}

// A server a user names may not lead into the operator's network: refused
// at registration with one text for every such host, unless the operator
// allows it.
func TestUserNamedServersAreVetted(t *testing.T) {
	b, err := Factory("irc.gw", map[string]any{}, bridges.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "10.1.2.3", "100.100.100.200", "169.254.169.254", "0.0.0.0"} {
		_, err := b.Validate(context.Background(), bridges.Registration{JID: "a@x", Values: map[string]string{"nick": "alice", "server": host}})
		var be *bridges.Error
		if !errors.As(err, &be) || be.Condition != bridges.RemoteServerNotFnd || be.Text != host+" cannot be reached from this gateway (check its name)" {
			t.Errorf("%s: %v", host, err)
		}
	}
	allowed, err := Factory("irc.gw", map[string]any{"allowed_private_hosts": []any{"127.0.0.1"}}, bridges.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := allowed.Validate(context.Background(), bridges.Registration{JID: "a@x", Values: map[string]string{"nick": "alice", "server": "127.0.0.1"}}); err != nil {
		t.Errorf("allowed host refused: %v", err)
	}
	if _, err := Factory("irc.gw", map[string]any{"allowed_private_hosts": []any{"10.0.0.0/99"}}, bridges.Deps{}); err == nil || !strings.Contains(err.Error(), "allowed_private_hosts") {
		t.Errorf("bad allowed_private_hosts: %v", err)
	}
}

// public_history opens a listed network's channels, or with the
// transport-wide key every network's; never a nick's conversation.
func TestPublicHistory(t *testing.T) {
	nets := []any{
		map[string]any{"name": "open.test", "address": "127.0.0.1:6667", "tls": false, "public_history": true},
		map[string]any{"name": "closed.test", "address": "127.0.0.1:6668", "tls": false},
	}
	cases := []struct {
		name string
		raw  map[string]any
		room string
		want bool
	}{
		{"a public network's channel", map[string]any{"network": nets}, "#chan%open.test", true},
		{"another network's channel", map[string]any{"network": nets}, "#chan%closed.test", false},
		{"a nick on a public network", map[string]any{"network": nets}, "nick%open.test", false},
		{"not an address", map[string]any{"network": nets}, "%%", false},
		{"off by default", nil, "#chan%irc.example.net", false},
		{"every network", map[string]any{"public_history": true}, "#chan%irc.example.net", true},
		{"every network, listed ones too", map[string]any{"public_history": true, "network": nets}, "#chan%closed.test", true},
		{"the fixed server", map[string]any{"fixed_server": "irc.test", "public_history": true}, "#chan", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := Factory("irc.gw", c.raw, bridges.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Describe().PublicHistory(c.room); got != c.want {
				t.Errorf("PublicHistory(%q) = %v, want %v", c.room, got, c.want)
			}
		})
	}
	if _, err := parseOptions(map[string]any{"public_history": "yes please"}); err == nil || !strings.Contains(err.Error(), "public_history") {
		t.Errorf("a bad public_history: %v", err)
	}
}

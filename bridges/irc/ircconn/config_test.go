package ircconn

import "testing"

func TestConfigDefaults(t *testing.T) {
	for _, tc := range []struct {
		addr string
		tls  bool
		want string
	}{
		{"irc.example.net", true, "irc.example.net:6697"},
		{"irc.example.net", false, "irc.example.net:6667"},
		{"irc.example.net:7000", true, "irc.example.net:7000"},
		{"[::1]", true, "[::1]:6697"},
	} {
		cfg := Config{Addr: tc.addr, TLS: tc.tls, Nick: "n"}
		if _, err := cfg.withDefaults(); err != nil {
			t.Fatal(err)
		}
		if cfg.Addr != tc.want {
			t.Errorf("%q: Addr %q, want %q", tc.addr, cfg.Addr, tc.want)
		}
	}
	cfg := Config{Addr: "x", Nick: "n"}
	cfg.withDefaults()
	if cfg.Burst != DefaultBurst || cfg.Rate != DefaultRate || cfg.QueueSize != DefaultQueueSize ||
		cfg.User != "n" || cfg.Realname != "n" || cfg.PingInterval != DefaultPingInterval {
		t.Errorf("defaults: %+v", cfg)
	}
	for _, bad := range []Config{
		{Nick: "n"},
		{Addr: "x"},
		{Addr: "x", Nick: "a b"},
		{Addr: "x", Nick: "#chan"},
		{Addr: "x", Nick: "n", Realname: "a\r\nQUIT"},
		{Addr: "x", Nick: "n", Password: "p\n"},
		{Addr: "x", Nick: "n", SASL: "SCRAM-SHA-256"},
		{Addr: "x", Nick: "n", SASL: "PLAIN"},
		{Addr: "x", Nick: "n", SASL: "EXTERNAL"},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

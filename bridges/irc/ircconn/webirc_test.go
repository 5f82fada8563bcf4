package ircconn

import (
	"strings"
	"testing"
)

// WEBIRC goes first, before PASS and CAP, as the spec and ngIRCd want.
func TestWebIRCSentFirst(t *testing.T) {
	s := newFakeServer(t)
	cfg := baseConfig(s.addr())
	cfg.Password = "serverpw"
	cfg.WebIRC = &WebIRC{Password: "gwpw", Gateway: "ferry", Hostname: "ab12.users.gw.example", IP: "192.0.2.7"}
	ch := dialAsync(cfg)
	p := s.accept()
	p.expect("WEBIRC gwpw ferry ab12.users.gw.example 192.0.2.7", "PASS serverpw")
	p.expect("CAP LS 302", "NICK alice", "USER alice 0 * alice")
	p.send(":srv CAP * LS :")
	p.expect("CAP END")
	p.welcome("alice")
	closeQuick(mustDial(t, ch))
}

// A 464 after WEBIRC without PASS is the gateway's password refused: the
// operator's to fix, not the user's.
func TestWebIRCPasswordRefused(t *testing.T) {
	tests := []struct {
		name     string
		password string
		want     ErrorKind
	}{
		{"no server password", "", KindWebIRC},
		{"with a server password", "serverpw", KindPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeServer(t)
			cfg := baseConfig(s.addr())
			cfg.Password = tt.password
			cfg.WebIRC = &WebIRC{Password: "wrong", Gateway: "ferry", Hostname: "h.users.gw.example", IP: "192.0.2.7"}
			ch := dialAsync(cfg)
			p := s.accept()
			p.readLine()
			p.send(":srv 464 * :Invalid password")
			_, err := waitDial(t, ch)
			e := wantErrKind(t, err, tt.want, "464")
			if tt.want == KindWebIRC && !strings.Contains(e.Error(), "WEBIRC") {
				t.Errorf("error %q does not say WEBIRC", e)
			}
		})
	}
}

func TestWebIRCCheck(t *testing.T) {
	good := WebIRC{Password: "pw", Gateway: "ferry", Hostname: "h.example", IP: "2001:db8::1"}
	tests := []struct {
		name   string
		mutate func(w *WebIRC)
		ok     bool
	}{
		{"good", func(*WebIRC) {}, true},
		{"space in password", func(w *WebIRC) { w.Password = "a b" }, false},
		{"empty gateway", func(w *WebIRC) { w.Gateway = "" }, false},
		{"colon first", func(w *WebIRC) { w.Hostname = ":h" }, false},
		{"line break", func(w *WebIRC) { w.Hostname = "h\r\nQUIT" }, false},
		{"not an IP", func(w *WebIRC) { w.IP = "gw.example" }, false},
	}
	for _, tt := range tests {
		w := good
		tt.mutate(&w)
		cfg := Config{Addr: "127.0.0.1:1", Nick: "alice", WebIRC: &w}
		if _, err := cfg.withDefaults(); (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
}

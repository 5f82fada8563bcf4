package irctext

import "testing"

func TestCTCP(t *testing.T) {
	tests := []struct {
		text      string
		cmd, args string
		ok        bool
	}{
		{"\x01ACTION waves\x01", "ACTION", "waves", true},
		{"\x01ACTION waves", "ACTION", "waves", true}, // closing \x01 omitted
		{"\x01action waves\x01", "ACTION", "waves", true},
		{"\x01ACTION\x01", "ACTION", "", true},
		{"\x01ACTION \x01", "ACTION", "", true},
		{"\x01ACTION  two  spaces \x01", "ACTION", " two  spaces ", true},
		{"\x01VERSION\x01", "VERSION", "", true},
		{"\x01PING 123 456\x01", "PING", "123 456", true},
		{"plain text", "", "", false},
		{"", "", "", false},
		{"\x01", "", "", false},
		{"\x01\x01", "", "", false},
		{"\x01 ACTION\x01", "", "", false},
		{"x\x01ACTION y\x01", "", "", false},
		{"\x01ACTION a\x01\x01VERSION\x01", "", "", false},
		{"\x01AC\x02TION x\x01", "", "", false},
	}
	for _, tt := range tests {
		cmd, args, ok := CTCP(tt.text)
		if cmd != tt.cmd || args != tt.args || ok != tt.ok {
			t.Errorf("CTCP(%q) = %q, %q, %v; want %q, %q, %v", tt.text, cmd, args, ok, tt.cmd, tt.args, tt.ok)
		}
	}
}

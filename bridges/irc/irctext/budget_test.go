package irctext

import (
	"strings"
	"testing"
)

func TestBudget(t *testing.T) {
	prefix := "nick!user@host.example" // 22 bytes
	tests := []struct {
		name                    string
		command, target, prefix string
		want                    int
	}{
		// 512 - ":" - 22 - " " - "PRIVMSG" - " " - "#chan" - " :" - "\r\n"
		{"known prefix", "PRIVMSG", "#chan", prefix, 512 - 1 - 22 - 1 - 7 - 1 - 5 - 2 - 2},
		{"unknown prefix", "PRIVMSG", "#chan", "", 512 - 1 - 105 - 1 - 7 - 1 - 5 - 2 - 2},
		{"notice", "NOTICE", "bob", prefix, 512 - 1 - 22 - 1 - 6 - 1 - 3 - 2 - 2},
		{"no room", "PRIVMSG", strings.Repeat("#", 500), prefix, 512 - 1 - 22 - 1 - 7 - 1 - 500 - 2 - 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Budget(tt.command, tt.target, tt.prefix); got != tt.want {
				t.Errorf("Budget = %d, want %d", got, tt.want)
			}
			if got := ActionBudget(tt.command, tt.target, tt.prefix); got != tt.want-9 {
				t.Errorf("ActionBudget = %d, want %d", got, tt.want-9)
			}
		})
	}
}

// TestBudgetExact checks the arithmetic against a real relayed line: text of
// exactly Budget bytes makes the line exactly MaxLine long.
func TestBudgetExact(t *testing.T) {
	for _, prefix := range []string{"n!u@h", "nick!~user@some.very.long.host.example.org"} {
		for _, action := range []bool{false, true} {
			b := Budget("PRIVMSG", "#chan", prefix)
			text := strings.Repeat("x", b)
			if action {
				b = ActionBudget("PRIVMSG", "#chan", prefix)
				text = "\x01ACTION " + strings.Repeat("x", b) + "\x01"
			}
			line := ":" + prefix + " PRIVMSG #chan :" + text + "\r\n"
			if len(line) != MaxLine {
				t.Errorf("prefix %q action %v: relayed line is %d bytes, want %d", prefix, action, len(line), MaxLine)
			}
		}
	}
}

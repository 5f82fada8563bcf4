package irc

import (
	"strings"
	"testing"
)

func TestUndeliveredText(t *testing.T) {
	tests := []struct{ body, reason, want string }{
		{"", "", "Your message was not delivered"},
		{"hi", "no such user", `Your message was not delivered ("hi"): no such user`},
		{"two\r\nlines", "bad\nreason", `Your message was not delivered ("two lines"): bad reason`},
		{strings.Repeat("é", 100), "", `Your message was not delivered ("` + strings.Repeat("é", 80) + `…")`},
	}
	for _, tt := range tests {
		if got := undeliveredText(tt.body, tt.reason); got != tt.want {
			t.Errorf("undeliveredText(%q, %q) = %q, want %q", tt.body, tt.reason, got, tt.want)
		}
	}
}

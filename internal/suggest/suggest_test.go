package suggest

import "testing"

func TestNearest(t *testing.T) {
	keys := []string{"address", "server_domain", "ping_interval", "ping_timeout", "queue_size"}
	tests := []struct{ key, want string }{
		{"adress", "address"},
		{"addresss", "address"},
		{"server_domian", "server_domain"},
		{"ping_intervall", "ping_interval"},
		{"queuesize", "queue_size"},
		{"ping", ""},       // too short to guess
		{"frobnicate", ""}, // nothing close
		{"address", "address"},
	}
	for _, tc := range tests {
		if got := Nearest(tc.key, keys); got != tc.want {
			t.Errorf("Nearest(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

package irc

import (
	"context"
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/bridges"
)

func TestCheckField(t *testing.T) {
	b, err := Factory("irc.gw", map[string]any{"network": []map[string]any{{"name": "irc.test", "address": "127.0.0.1:6667", "tls": false}}}, bridges.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	c := b.(*Bridge)
	tests := []struct{ field, value, want, wantErr string }{
		{"nick", "alice", "alice", ""},
		{"nick", "1alice", "", "not a valid IRC nickname: up to 64 characters"},
		{"nick", "al ice", "", "not a valid IRC nickname"},
		{"server", "IRC.test", "irc.test", ""},
		{"server", "irc.elsewhere", "", "does not connect to irc.elsewhere (choose one of: irc.test)"},
		{"server", "", "", ""},
		{"on_connect", "a\nb", "", "one line"},
	}
	for _, tc := range tests {
		got, err := c.CheckField(context.Background(), tc.field, tc.value, nil)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s=%q: err %v, want %q", tc.field, tc.value, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s=%q: %q, %v; want %q", tc.field, tc.value, got, err, tc.want)
		}
	}
	d := c.Describe()
	if strings.Join(d.QuickFields, " ") != "nick server" {
		t.Errorf("quick fields %v", d.QuickFields)
	}
	for _, f := range d.Fields {
		if f.Advanced != (f.Var != "nick" && f.Var != "server" && !f.Hidden) {
			t.Errorf("%s: advanced = %v", f.Var, f.Advanced)
		}
	}
}

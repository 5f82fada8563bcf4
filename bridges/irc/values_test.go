package irc

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircconn"
)

// TestValuesThatCanNeverWork: registration refuses what the connection
// would refuse on every attempt, and the connection refuses it too.
func TestValuesThatCanNeverWork(t *testing.T) {
	b := testBridge(t, map[string]any{"network": []map[string]any{{"name": "irc.test", "address": "127.0.0.1:1", "tls": false}}})
	tests := []struct {
		name   string
		values map[string]string
		field  string // in the error text
	}{
		{"user name with CR LF", map[string]string{"nick": "alice", "username": "al\r\nQUIT"}, "user name"},
		{"user name with a space", map[string]string{"nick": "alice", "username": "al ice"}, "user name"},
		{"real name with LF", map[string]string{"nick": "alice", "realname": "Alice\nQUIT :bye"}, "real name"},
		{"real name with NUL", map[string]string{"nick": "alice", "realname": "Alice\x00"}, "real name"},
		{"real name of 100 KB", map[string]string{"nick": "alice", "realname": strings.Repeat("r", 100<<10)}, "real name"},
		{"nick with a colour code", map[string]string{"nick": "al\x03ice"}, "nickname"},
		{"nick of 100 bytes", map[string]string{"nick": strings.Repeat("n", 100)}, "nickname"},
		{"server password with LF", map[string]string{"nick": "alice", "server_password": "pw\nQUIT"}, "server password"},
		{"SASL password with NUL", map[string]string{"nick": "alice", "sasl_user": "alice", "sasl_password": "p\x00w"}, "SASL password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Validate(context.Background(), bridges.Registration{JID: "a@x", Values: clone(tc.values)})
			var be *bridges.Error
			if !errors.As(err, &be) || be.Condition != bridges.NotAcceptable || !strings.Contains(be.Text, tc.field) {
				t.Fatalf("Validate: %v, want not-acceptable naming the %s", err, tc.field)
			}
			// The connection applies the same rules: had the value been
			// stored, no connection could ever have been made with it.
			cfg, err := b.dialConfig("alice@example.org", "irc.test", tc.values, tc.values["nick"])
			if err != nil {
				t.Fatal(err)
			}
			_, err = ircconn.Dial(context.Background(), cfg)
			var ie *ircconn.Error
			if !errors.As(err, &ie) || ie.Kind != ircconn.KindConfig {
				t.Fatalf("Dial: %v, want a configuration error", err)
			}
		})
	}
	// Commands after connecting are refused as SendRaw would refuse them.
	_, err := b.Validate(context.Background(), bridges.Registration{JID: "a@x",
		Values: map[string]string{"nick": "alice", "on_connect": "PRIVMSG NickServ :IDENTIFY " + strings.Repeat("x", 600)}})
	if err == nil || !strings.Contains(err.Error(), "command after connecting") {
		t.Fatalf("on_connect: %v", err)
	}
	if _, err := b.Validate(context.Background(), bridges.Registration{JID: "a@x",
		Values: map[string]string{"nick": "alice", "realname": "Alice :) Liddell", "on_connect": "MODE alice +x; PRIVMSG NickServ :hi"}}); err != nil {
		t.Fatalf("valid values refused: %v", err)
	}
}

func clone(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

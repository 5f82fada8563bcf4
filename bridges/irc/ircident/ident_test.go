package ircident

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	ok := Identity{Nick: "alice", User: "alice", Realname: "Alice Liddell"}
	with := func(f func(*Identity)) Identity { id := ok; f(&id); return id }
	tests := []struct {
		name  string
		id    Identity
		field Field // "" = valid
	}{
		{"plain", ok, ""},
		{"brackets and pipes", with(func(i *Identity) { i.Nick = "[a]_b|c^{d}`" }), ""},
		{"non-ASCII nick (servers with UTF-8 nicks)", with(func(i *Identity) { i.Nick = "zoë" }), ""},
		{"nick at the limit", with(func(i *Identity) { i.Nick = strings.Repeat("n", MaxNickLen) }), ""},
		{"empty nick", with(func(i *Identity) { i.Nick = "" }), Nick},
		{"long nick", with(func(i *Identity) { i.Nick = strings.Repeat("n", MaxNickLen+1) }), Nick},
		{"nick with a space", with(func(i *Identity) { i.Nick = "a b" }), Nick},
		{"nick with CR LF", with(func(i *Identity) { i.Nick = "a\r\nQUIT" }), Nick},
		{"nick with a colour code", with(func(i *Identity) { i.Nick = "a\x034b" }), Nick},
		{"nick like a channel", with(func(i *Identity) { i.Nick = "#chan" }), Nick},
		{"nick with a dot", with(func(i *Identity) { i.Nick = "a.b" }), Nick},
		{"nick with a digit first", with(func(i *Identity) { i.Nick = "9lives" }), Nick},
		{"nick with a dash first", with(func(i *Identity) { i.Nick = "-x" }), Nick},
		{"user with a space", with(func(i *Identity) { i.User = "a b" }), User},
		{"user with @", with(func(i *Identity) { i.User = "a@b" }), User},
		{"user with a colon first", with(func(i *Identity) { i.User = ":x" }), User},
		{"user with NUL", with(func(i *Identity) { i.User = "a\x00" }), User},
		{"empty user", with(func(i *Identity) { i.User = "" }), User},
		{"real name with LF", with(func(i *Identity) { i.Realname = "a\nQUIT" }), Realname},
		{"real name with NUL", with(func(i *Identity) { i.Realname = "a\x00" }), Realname},
		{"real name of 100 KB", with(func(i *Identity) { i.Realname = strings.Repeat("r", 100<<10) }), Realname},
		{"real name filling the line", with(func(i *Identity) { i.Realname = strings.Repeat("r", 510-len("USER alice 0 * :")) }), ""},
		{"real name one byte over", with(func(i *Identity) { i.Realname = strings.Repeat("r", 511-len("USER alice 0 * :")) }), Realname},
		{"user name over the line", with(func(i *Identity) { i.User = strings.Repeat("u", 600) }), User},
		{"real name with spaces and colours", with(func(i *Identity) { i.Realname = ":) \x02bold\x02 name" }), ""},
		{"password with CR", with(func(i *Identity) { i.Password = "pw\rQUIT" }), Password},
		{"password too long", with(func(i *Identity) { i.Password = strings.Repeat("p", 600) }), Password},
		{"password with a space", with(func(i *Identity) { i.Password = "pass word" }), ""},
		{"SASL password with NUL", with(func(i *Identity) { i.SASLUser, i.SASLPass = "alice", "a\x00b" }), SASLPassword},
		{"SASL account with NUL", with(func(i *Identity) { i.SASLUser, i.SASLPass = "al\x00ice", "pw" }), SASLUser},
		{"SASL password with LF (base64 carries it)", with(func(i *Identity) { i.SASLUser, i.SASLPass = "alice", "a\nb" }), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.id.Check()
			var p *Problem
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.field != "" && !errors.As(err, &p):
				t.Fatalf("accepted, want a problem with the %s", tc.field)
			case tc.field != "" && p.Field != tc.field:
				t.Fatalf("problem with the %s (%v), want the %s", p.Field, err, tc.field)
			}
		})
	}
}

func TestCommands(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		bad  bool
	}{
		{"", nil, false},
		{"PRIVMSG NickServ :IDENTIFY pw; MODE alice +x ;", []string{"PRIVMSG NickServ :IDENTIFY pw", "MODE alice +x"}, false},
		{"PRIVMSG a :b\r\nQUIT", nil, true},
		{"PRIVMSG a :" + strings.Repeat("x", 600), nil, true},
		{":", nil, true},
	}
	for _, tc := range tests {
		got, err := Commands(tc.in)
		if (err != nil) != tc.bad || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("Commands(%.30q) = %q, %v", tc.in, got, err)
		}
	}
}

package component

import (
	"testing"

	"mellium.im/xmpp/jid"
)

func TestOccupantResource(t *testing.T) {
	tests := []struct {
		nick, want string
	}{
		{"alice", "alice"},
		{"[m]bob", "[m]bob"},
		{"with space", "with space"},
		{"zoë", "zoë"},
		{"\xe9t\xe9", `\e9t\e9`},                   // Latin-1, not UTF-8
		{"a\x01b", `a\01b`},                        // a control character
		{`back\slash` + "\xff", `back\5cslash\ff`}, // the escape itself is escaped
	}
	for _, tc := range tests {
		got := occupantResource(tc.nick)
		if got != tc.want {
			t.Errorf("occupantResource(%q) = %q, want %q", tc.nick, got, tc.want)
		}
		if j, err := jid.New("room", "gw.test", got); err != nil || j.Resourcepart() != got {
			t.Errorf("occupantResource(%q) = %q is not a resourcepart as it is: %v", tc.nick, got, err)
		}
	}
	if occupantResource("\xe9") == occupantResource("\xe8") {
		t.Error("two nicks share a resourcepart")
	}
}

// FuzzOccupantResource: whatever the nick, the result is a resourcepart
// PRECIS leaves unchanged, and valid nicks map to themselves.
func FuzzOccupantResource(f *testing.F) {
	for _, s := range []string{"alice", "zoë", "\xe9t\xe9", "a\x00b", `x\y`, "🙂", "\u0301", " lead", "\uFFFE"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, nick string) {
		if nick == "" || len(nick) > 200 {
			return
		}
		got := occupantResource(nick)
		j, err := jid.New("room", "gw.test", got)
		if err != nil || j.Resourcepart() != got {
			t.Fatalf("occupantResource(%q) = %q: not a canonical resourcepart (%v)", nick, got, err)
		}
		if r, err := jid.New("room", "gw.test", nick); err == nil && r.Resourcepart() != got {
			t.Fatalf("valid nick %q mapped to %q, not to its canonical form %q", nick, got, r.Resourcepart())
		}
	})
}

// The fast paths agree with PRECIS: a part they accept comes back from
// jid.New unchanged.
func FuzzCanonicalParts(f *testing.F) {
	for _, s := range []string{"bob%irc.example.org", "#chan%irc", "Alice", "a b", "x@y", "\\5c", "~!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if canonicalLocal(s) {
			j, err := jid.New(s, "gw.test", "")
			if err != nil || j.Localpart() != s {
				t.Fatalf("canonicalLocal(%q) but jid.New gives %q, %v", s, j.Localpart(), err)
			}
		}
		if canonicalResource(s) {
			j, err := jid.New("x", "gw.test", s)
			if err != nil || j.Resourcepart() != s {
				t.Fatalf("canonicalResource(%q) but jid.New gives %q, %v", s, j.Resourcepart(), err)
			}
		}
	})
}

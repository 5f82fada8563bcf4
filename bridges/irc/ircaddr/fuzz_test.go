package ircaddr

import (
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and that every Address it accepts
// has a canonical local part that parses back to it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "irc.x", "#chan%irc.x", "nick%irc.x", "NiCk%IRC.X", `\26chan%irc.x`,
		`a\20b%irc.x`, `foo\5cbar%irc.x`, `foo\bar%irc.x`, `a\5c20b%irc.x`, `\5C\3A%irc.x`,
		"%irc.x", "#chan%", "%", "a%b%c", `#c%\3a\3a1`, `#c%fe80\3a\3a1%eth0`,
		"\xff%irc.x", "#a\ab%irc.x", `\3afoo%irc.x`, `\`, `x\`, `\5`, "#100%",
	} {
		f.Add(s, "", false)
		f.Add(s, "#+", true)
	}
	f.Fuzz(func(t *testing.T, local, chantypes string, fixedMode bool) {
		m := Mapper{Domain: "irc.gw"}
		if fixedMode {
			m.FixedServer = "irc.example.org"
		}
		a, err := m.Parse(local, chantypes)
		if err != nil {
			return
		}
		lp, err := m.LocalPart(a)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, but LocalPart: %v", local, a, err)
		}
		// Whatever the IRC name, the local part holds none of the characters
		// RFC 7622 forbids there, and no space.
		if strings.ContainsAny(lp, ` "&'/:<>@`) {
			t.Fatalf("LocalPart(%+v) = %q holds a forbidden character", a, lp)
		}
		again, err := m.Parse(lp, chantypes)
		if err != nil || again != a {
			t.Fatalf("Parse(%q) = %+v; Parse(LocalPart) = Parse(%q) = %+v, %v", local, a, lp, again, err)
		}
		if lp2, _ := m.LocalPart(again); lp2 != lp {
			t.Fatalf("LocalPart not canonical: %q then %q", lp, lp2)
		}
	})
}

// FuzzRoundTrip builds Addresses from arbitrary IRC names and checks that
// whatever LocalPart accepts, Parse gives back (lower-cased), and that a JID,
// when one is possible, leads back to the same Address.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range [][2]string{
		{"irc.x", "#chan"}, {"IRC.X", "NiCk"}, {"irc.x", `foo\bar`}, {"irc.x", `foo\5cbar`},
		{"irc.x", `a"&'/:<>@\b`}, {"irc.x", "a b"}, {"irc.x", "&chan"}, {"::1", "#c"},
		{"2001:DB8::1", "nick"}, {"irc.x", ""}, {"", "#c"}, {"irc.x", "a%b"},
		{"irc.x", ":x"}, {"irc.x", "Jürgen"}, {"irc.x", "ｆｏｏ"}, {"irc.x", "\\20"},
	} {
		f.Add(s[0], s[1], "", false)
		f.Add(s[0], s[1], "#&+", true)
	}
	f.Fuzz(func(t *testing.T, server, target, chantypes string, fixedMode bool) {
		m := Mapper{Domain: "irc.gw"}
		if fixedMode {
			m.FixedServer = server
		}
		a := Address{Kind: Server, Server: server}
		if target != "" {
			a.Kind = User
			a.Target = target
			if IsChannel(strings.ToLower(target), chantypes) {
				a.Kind = Channel
			}
		}
		lp, err := m.LocalPart(a)
		if err != nil {
			return
		}
		want := Address{Kind: a.Kind, Server: strings.ToLower(a.Server), Target: strings.ToLower(a.Target)}
		got, err := m.Parse(lp, chantypes)
		if err != nil || got != want {
			t.Fatalf("Parse(LocalPart(%+v) = %q) = %+v, %v; want %+v", a, lp, got, err, want)
		}
		j, err := m.JID(a)
		if err != nil {
			return
		}
		if got, err := m.Parse(j.Localpart(), chantypes); err != nil || got != want {
			t.Fatalf("Parse(JID(%+v).Localpart() = %q) = %+v, %v; want %+v", a, j.Localpart(), got, err, want)
		}
	})
}

package ircaddr

import (
	"errors"
	"testing"
)

var (
	normal = Mapper{Domain: "irc.gw"}
	fixed  = Mapper{Domain: "irc.gw", FixedServer: "IRC.Example.org"}
)

func chanAt(server, name string) Address { return Address{Kind: Channel, Server: server, Target: name} }
func userAt(server, name string) Address { return Address{Kind: User, Server: server, Target: name} }

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		m         Mapper
		local     string
		chantypes string
		want      Address
		err       error
	}{
		{"gateway", normal, "", "", Address{Kind: Gateway}, nil},
		{"server", normal, "irc.example.org", "", Address{Kind: Server, Server: "irc.example.org"}, nil},
		{"server mixed case", normal, "IRC.Example.ORG", "", Address{Kind: Server, Server: "irc.example.org"}, nil},
		{"server ipv4", normal, "127.0.0.1", "", Address{Kind: Server, Server: "127.0.0.1"}, nil},
		{"server ipv6", normal, `\3a\3a1`, "", Address{Kind: Server, Server: "::1"}, nil},
		{"channel", normal, "#chan%irc.x", "", chanAt("irc.x", "#chan"), nil},
		{"channel amp", normal, `\26chan%irc.x`, "", chanAt("irc.x", "&chan"), nil},
		{"channel mixed case", normal, "#ChAn%IRC.X", "", chanAt("irc.x", "#chan"), nil},
		{"channel ipv6 server", normal, `#c%2001\3adb8\3a\3a1`, "", chanAt("2001:db8::1", "#c"), nil},
		{"channel ipv4 server", normal, "#c%10.0.0.1", "", chanAt("10.0.0.1", "#c"), nil},
		{"user", normal, "nick%irc.x", "", userAt("irc.x", "nick"), nil},
		{"user mixed case", normal, "NiCk%Irc.X", "", userAt("irc.x", "nick"), nil},
		{"custom chantypes channel", normal, "+chan%irc.x", "#+", chanAt("irc.x", "+chan"), nil},
		{"default chantypes plus is nick", normal, "+chan%irc.x", "", userAt("irc.x", "+chan"), nil},
		{"hash not a chantype", normal, "#chan%irc.x", "&", userAt("irc.x", "#chan"), nil},
		{"bell allowed in nick", normal, "a\ab%irc.x", "", userAt("irc.x", "a\ab"), nil},
		{"colon inside nick", normal, `a\3ab%irc.x`, "", userAt("irc.x", "a:b"), nil},

		// The nine escapes IRC names can hold; space is rejected below.
		{"escape quote", normal, `a\22b%irc.x`, "", userAt("irc.x", `a"b`), nil},
		{"escape amp", normal, `a\26b%irc.x`, "", userAt("irc.x", "a&b"), nil},
		{"escape apos", normal, `a\27b%irc.x`, "", userAt("irc.x", "a'b"), nil},
		{"escape slash", normal, `a\2fb%irc.x`, "", userAt("irc.x", "a/b"), nil},
		{"escape colon", normal, `#a\3ab%irc.x`, "", chanAt("irc.x", "#a:b"), nil},
		{"escape lt", normal, `a\3cb%irc.x`, "", userAt("irc.x", "a<b"), nil},
		{"escape gt", normal, `a\3eb%irc.x`, "", userAt("irc.x", "a>b"), nil},
		{"escape at", normal, `a\40b%irc.x`, "", userAt("irc.x", "a@b"), nil},
		{"escape backslash", normal, `foo\5cbar%irc.x`, "", userAt("irc.x", `foo\bar`), nil},
		{"escape upper hex", normal, `foo\5Cbar%irc.x`, "", userAt("irc.x", `foo\bar`), nil},
		{"lone backslash literal", normal, `foo\bar%irc.x`, "", userAt("irc.x", `foo\bar`), nil},
		{"escaped backslash then digits", normal, `a\5c20b%irc.x`, "", userAt("irc.x", `a\20b`), nil},

		{"first percent splits", normal, "a%b%irc.x", "", Address{}, ErrInvalidServer},
		{"empty target", normal, "%irc.x", "", Address{}, ErrEmptyTarget},
		{"empty server", normal, "#chan%", "", Address{}, ErrEmptyServer},
		{"only percent", normal, "%", "", Address{}, ErrEmptyTarget},
		{"no percent is a server", normal, "#chan", "", Address{}, ErrInvalidServer},
		{"server with space", normal, `#chan%irc\20x`, "", Address{}, ErrInvalidServer},
		{"server with raw space", normal, "#chan%irc x", "", Address{}, ErrInvalidServer},
		{"server trailing dot", normal, "#chan%irc.x.", "", Address{}, ErrInvalidServer},
		{"server leading hyphen", normal, "#chan%-irc.x", "", Address{}, ErrInvalidServer},
		{"server empty label", normal, "#chan%irc..x", "", Address{}, ErrInvalidServer},
		{"server underscore", normal, "#chan%irc_x", "", Address{}, ErrInvalidServer},
		{"server ipv6 zone", normal, `#c%fe80\3a\3a1%eth0`, "", Address{}, ErrInvalidServer},
		{"server non-ascii", normal, "#c%bücher.de", "", Address{}, ErrInvalidServer},
		{"nick with space", normal, `a\20b%irc.x`, "", Address{}, ErrInvalidTarget},
		{"channel with space", normal, `#a\20b%irc.x`, "", Address{}, ErrInvalidTarget},
		{"nick with comma", normal, "a,b%irc.x", "", Address{}, ErrInvalidTarget},
		{"channel with comma", normal, "#a,#b%irc.x", "", Address{}, ErrInvalidTarget},
		{"channel with bell", normal, "#a\ab%irc.x", "", Address{}, ErrInvalidTarget},
		{"nick with NUL", normal, "a\x00b%irc.x", "", Address{}, ErrInvalidTarget},
		{"nick with CR", normal, "a\rb%irc.x", "", Address{}, ErrInvalidTarget},
		{"nick with LF", normal, "a\nb%irc.x", "", Address{}, ErrInvalidTarget},
		{"nick leading colon", normal, `\3afoo%irc.x`, "", Address{}, ErrInvalidTarget},
		{"invalid utf8", normal, "\xff%irc.x", "", Address{}, ErrInvalidTarget},

		{"fixed gateway", fixed, "", "", Address{Kind: Gateway}, nil},
		{"fixed channel", fixed, "#Chan", "", chanAt("irc.example.org", "#chan"), nil},
		{"fixed user", fixed, "Nick", "", userAt("irc.example.org", "nick"), nil},
		{"fixed escaped", fixed, `foo\5cbar\40x`, "", userAt("irc.example.org", `foo\bar@x`), nil},
		{"fixed percent is part of name", fixed, "#100%", "", chanAt("irc.example.org", "#100%"), nil},
		{"fixed biboumi form is a name", fixed, "#chan%irc.x", "", chanAt("irc.example.org", "#chan%irc.x"), nil},
		{"fixed no server form", fixed, "irc.example.org", "", userAt("irc.example.org", "irc.example.org"), nil},
		{"fixed space", fixed, `a\20b`, "", Address{}, ErrInvalidTarget},
		{"fixed bad server", Mapper{Domain: "irc.gw", FixedServer: "bad server"}, "nick", "", Address{}, ErrInvalidServer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.m.Parse(tt.local, tt.chantypes)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Parse(%q) error = %v, want %v", tt.local, err, tt.err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.local, got, tt.want)
			}
			if err != nil {
				return
			}
			// Parse → LocalPart → Parse gives the same Address.
			lp, err := tt.m.LocalPart(got)
			if err != nil {
				t.Fatalf("LocalPart(%+v): %v", got, err)
			}
			again, err := tt.m.Parse(lp, tt.chantypes)
			if err != nil || again != got {
				t.Fatalf("Parse(LocalPart(%+v)) = %+v, %v", got, again, err)
			}
		})
	}
}

func TestLocalPart(t *testing.T) {
	tests := []struct {
		name string
		m    Mapper
		a    Address
		want string
		err  error
	}{
		{"gateway", normal, Address{}, "", nil},
		{"server", normal, Address{Kind: Server, Server: "IRC.Example.org"}, "irc.example.org", nil},
		{"server ipv6", normal, Address{Kind: Server, Server: "::1"}, `\3a\3a1`, nil},
		{"channel", normal, chanAt("irc.x", "#chan"), "#chan%irc.x", nil},
		{"channel mixed case", normal, chanAt("IRC.X", "#ChAn"), "#chan%irc.x", nil},
		{"channel amp", normal, chanAt("irc.x", "&chan"), `\26chan%irc.x`, nil},
		{"user", normal, userAt("irc.x", "Nick"), "nick%irc.x", nil},
		{"escape quote", normal, userAt("irc.x", `a"b`), `a\22b%irc.x`, nil},
		{"escape amp", normal, userAt("irc.x", "a&b"), `a\26b%irc.x`, nil},
		{"escape apos", normal, userAt("irc.x", "a'b"), `a\27b%irc.x`, nil},
		{"escape slash", normal, userAt("irc.x", "a/b"), `a\2fb%irc.x`, nil},
		{"escape colon", normal, userAt("irc.x", "a:b"), `a\3ab%irc.x`, nil},
		{"escape lt", normal, userAt("irc.x", "a<b"), `a\3cb%irc.x`, nil},
		{"escape gt", normal, userAt("irc.x", "a>b"), `a\3eb%irc.x`, nil},
		{"escape at", normal, userAt("irc.x", "a@b"), `a\40b%irc.x`, nil},
		{"escape backslash", normal, userAt("irc.x", `foo\bar`), `foo\5cbar%irc.x`, nil},
		{"escape literal escape", normal, userAt("irc.x", `foo\5cbar`), `foo\5c5cbar%irc.x`, nil},
		{"escape ipv6 server", normal, chanAt("2001:DB8::1", "#c"), `#c%2001\3adb8\3a\3a1`, nil},
		{"fixed channel", fixed, chanAt("irc.example.org", "#Chan"), "#chan", nil},
		{"fixed server case-insensitive", fixed, userAt("IRC.EXAMPLE.ORG", "a@b"), `a\40b`, nil},
		{"fixed percent", fixed, chanAt("irc.example.org", "#100%"), "#100%", nil},
		{"fixed gateway", fixed, Address{}, "", nil},

		{"space", normal, userAt("irc.x", "a b"), "", ErrInvalidTarget},
		{"leading colon", normal, userAt("irc.x", ":a"), "", ErrInvalidTarget},
		{"channel bell", normal, chanAt("irc.x", "#a\ab"), "", ErrInvalidTarget},
		{"percent in name", normal, userAt("irc.x", "a%b"), "", ErrUnrepresentable},
		{"empty target", normal, userAt("irc.x", ""), "", ErrEmptyTarget},
		{"empty server", normal, chanAt("", "#c"), "", ErrEmptyServer},
		{"bad server", normal, chanAt("irc x", "#c"), "", ErrInvalidServer},
		{"invalid utf8", normal, userAt("irc.x", "\xff"), "", ErrInvalidTarget},
		{"gateway with server", normal, Address{Server: "irc.x"}, "", ErrInvalidAddress},
		{"server with target", normal, Address{Kind: Server, Server: "irc.x", Target: "#c"}, "", ErrInvalidAddress},
		{"unknown kind", normal, Address{Kind: 42, Server: "irc.x", Target: "x"}, "", ErrInvalidAddress},
		{"fixed server form", fixed, Address{Kind: Server, Server: "irc.example.org"}, "", ErrInvalidAddress},
		{"fixed other server", fixed, chanAt("irc.x", "#c"), "", ErrInvalidAddress},
		{"fixed empty server", fixed, chanAt("", "#c"), "", ErrEmptyServer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.m.LocalPart(tt.a)
			if !errors.Is(err, tt.err) {
				t.Fatalf("LocalPart(%+v) error = %v, want %v", tt.a, err, tt.err)
			}
			if got != tt.want {
				t.Fatalf("LocalPart(%+v) = %q, want %q", tt.a, got, tt.want)
			}
		})
	}
}

func TestJID(t *testing.T) {
	tests := []struct {
		name string
		m    Mapper
		a    Address
		want string
		err  error
	}{
		{"gateway", normal, Address{}, "irc.gw", nil},
		{"server", normal, Address{Kind: Server, Server: "irc.x"}, "irc.x@irc.gw", nil},
		{"channel", normal, chanAt("irc.x", "#Chan"), "#chan%irc.x@irc.gw", nil},
		{"user escaped", normal, userAt("irc.x", `A\B@c`), `a\5cb\40c%irc.x@irc.gw`, nil},
		{"non-ascii nick", normal, userAt("irc.x", "Jürgen"), "jürgen%irc.x@irc.gw", nil},
		{"fixed channel", fixed, chanAt("irc.example.org", "#chan"), "#chan@irc.gw", nil},
		{"fixed user", fixed, userAt("irc.example.org", "nick"), "nick@irc.gw", nil},
		// PRECIS width mapping would turn this into plain "foo".
		{"fullwidth nick", normal, userAt("irc.x", "ｆｏｏ"), "", ErrUnrepresentable},
		// Symbols are not allowed in a PRECIS IdentifierClass string.
		{"symbol nick", normal, userAt("irc.x", "☃"), "", ErrUnrepresentable},
		{"invalid address", normal, userAt("irc.x", "a b"), "", ErrInvalidTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := tt.m.JID(tt.a)
			if !errors.Is(err, tt.err) {
				t.Fatalf("JID(%+v) error = %v, want %v", tt.a, err, tt.err)
			}
			if err != nil {
				return
			}
			if got := j.String(); got != tt.want {
				t.Fatalf("JID(%+v) = %q, want %q", tt.a, got, tt.want)
			}
			back, err := tt.m.Parse(j.Localpart(), "")
			if err != nil {
				t.Fatalf("Parse(%q): %v", j.Localpart(), err)
			}
			if want, _ := tt.m.Parse(mustLocal(t, tt.m, tt.a), ""); back != want {
				t.Fatalf("Parse(JID(a).Localpart()) = %+v, want %+v", back, want)
			}
		})
	}

	if _, err := (Mapper{Domain: ""}).JID(Address{}); err == nil || errors.Is(err, ErrUnrepresentable) {
		t.Errorf("JID with empty domain: error = %v, want a domain error", err)
	}
}

func mustLocal(t *testing.T, m Mapper, a Address) string {
	t.Helper()
	lp, err := m.LocalPart(a)
	if err != nil {
		t.Fatal(err)
	}
	return lp
}

func TestOccupant(t *testing.T) {
	tests := []struct {
		name string
		m    Mapper
		room Address
		nick string
		want string
		err  error
	}{
		{"keeps case", normal, chanAt("irc.x", "#Chan"), "Nick", "#chan%irc.x@irc.gw/Nick", nil},
		{"no escaping in resource", normal, chanAt("irc.x", "#chan"), `We\ird@N/ck`, `#chan%irc.x@irc.gw/We\ird@N/ck`, nil},
		{"percent in resource", normal, chanAt("irc.x", "#chan"), "a%b", "#chan%irc.x@irc.gw/a%b", nil},
		{"fixed", fixed, chanAt("irc.example.org", "#chan"), "Nick", "#chan@irc.gw/Nick", nil},
		{"escaped room", normal, chanAt("irc.x", "&a:b"), "n", `\26a\3ab%irc.x@irc.gw/n`, nil},

		{"not a channel", normal, userAt("irc.x", "bob"), "Nick", "", ErrInvalidAddress},
		{"empty nick", normal, chanAt("irc.x", "#chan"), "", "", ErrEmptyTarget},
		{"nick with space", normal, chanAt("irc.x", "#chan"), "a b", "", ErrInvalidTarget},
		{"nick leading colon", normal, chanAt("irc.x", "#chan"), ":a", "", ErrInvalidTarget},
		{"nick invalid utf8", normal, chanAt("irc.x", "#chan"), "\xff", "", ErrInvalidTarget},
		// OpaqueString maps NO-BREAK SPACE to a space and normalises to NFC.
		{"nick nbsp", normal, chanAt("irc.x", "#chan"), "a\u00a0b", "", ErrUnrepresentable},
		{"nick not nfc", normal, chanAt("irc.x", "#chan"), "e\u0301", "", ErrUnrepresentable},
		{"bad room", normal, chanAt("irc.x", "#a b"), "n", "", ErrInvalidTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := tt.m.Occupant(tt.room, tt.nick)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Occupant(%+v, %q) error = %v, want %v", tt.room, tt.nick, err, tt.err)
			}
			if err != nil {
				return
			}
			if got := j.String(); got != tt.want {
				t.Fatalf("Occupant(%+v, %q) = %q, want %q", tt.room, tt.nick, got, tt.want)
			}
			if j.Resourcepart() != tt.nick {
				t.Fatalf("resource %q, want %q", j.Resourcepart(), tt.nick)
			}
		})
	}
}

func TestFromPrompt(t *testing.T) {
	tests := []struct {
		name      string
		m         Mapper
		prompt    string
		def       string
		chantypes string
		want      Address
		err       error
	}{
		{"channel on default", normal, "#Chan", "irc.x", "", chanAt("irc.x", "#chan"), nil},
		{"nick on default", normal, "  Nick \t", "IRC.X", "", userAt("irc.x", "nick"), nil},
		{"explicit server", normal, "nick%irc.y", "irc.x", "", userAt("irc.y", "nick"), nil},
		{"explicit server no default", normal, "#chan%IRC.Y", "", "", chanAt("irc.y", "#chan"), nil},
		{"raw backslash", normal, `foo\bar`, "irc.x", "", userAt("irc.x", `foo\bar`), nil},
		{"escape-looking text is literal", normal, `foo\5c`, "irc.x", "", userAt("irc.x", `foo\5c`), nil},
		{"at is part of the nick", normal, "nick@irc.y", "irc.x", "", userAt("irc.x", "nick@irc.y"), nil},
		{"custom chantypes", normal, "+chan", "irc.x", "+", chanAt("irc.x", "+chan"), nil},
		{"fixed channel", fixed, "#chan", "ignored.example", "", chanAt("irc.example.org", "#chan"), nil},
		{"fixed percent", fixed, "#100%", "", "", chanAt("irc.example.org", "#100%"), nil},

		{"empty", normal, "  ", "irc.x", "", Address{}, ErrEmptyTarget},
		{"no default server", normal, "nick", "", "", Address{}, ErrEmptyServer},
		{"empty target", normal, "%irc.x", "irc.x", "", Address{}, ErrEmptyTarget},
		{"empty explicit server", normal, "nick%", "irc.x", "", Address{}, ErrEmptyServer},
		{"bad server", normal, "nick%irc x", "", "", Address{}, ErrInvalidServer},
		{"space in nick", normal, "a b", "irc.x", "", Address{}, ErrInvalidTarget},
		{"comma", normal, "#a,#b", "irc.x", "", Address{}, ErrInvalidTarget},
		{"second percent", normal, "a%b%irc.x", "", "", Address{}, ErrInvalidServer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.m.FromPrompt(tt.prompt, tt.def, tt.chantypes)
			if !errors.Is(err, tt.err) {
				t.Fatalf("FromPrompt(%q) error = %v, want %v", tt.prompt, err, tt.err)
			}
			if got != tt.want {
				t.Fatalf("FromPrompt(%q) = %+v, want %+v", tt.prompt, got, tt.want)
			}
			if err != nil {
				return
			}
			lp := mustLocal(t, tt.m, got)
			if back, err := tt.m.Parse(lp, tt.chantypes); err != nil || back != got {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", lp, back, err, got)
			}
		})
	}
}

func TestIsChannel(t *testing.T) {
	tests := []struct {
		target, chantypes string
		want              bool
	}{
		{"#a", "", true},
		{"&a", "", true},
		{"+a", "", false},
		{"+a", "#+", true},
		{"#a", "\x00", false},
		{"", "", false},
		{"a", "", false},
	}
	for _, tt := range tests {
		if got := IsChannel(tt.target, tt.chantypes); got != tt.want {
			t.Errorf("IsChannel(%q, %q) = %v, want %v", tt.target, tt.chantypes, got, tt.want)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Gateway: "gateway", Server: "server", Channel: "channel", User: "user", 9: "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

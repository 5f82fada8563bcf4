package ircconn

import (
	"errors"
	"reflect"
	"testing"
)

func TestISupportApply(t *testing.T) {
	is := DefaultISupport()
	is.apply([]string{"CHANTYPES=#!", "PREFIX=(ov)@+", "NICKLEN=16", "CASEMAPPING=RFC1459", "NETWORK=Libera\\x2EChat", "EXCEPTS", "TOPICLEN=390", "CHANNELLEN=50"})
	if is.ChanTypes != "#!" || is.NickLen != 16 || is.CaseMapping != "rfc1459" || is.Network != "Libera.Chat" || is.TopicLen != 390 || is.ChannelLen != 50 {
		t.Fatalf("%+v", is)
	}
	if v, ok := is.Get("excepts"); !ok || v != "" {
		t.Errorf("Get(EXCEPTS) = %q, %v", v, ok)
	}
	if !is.IsChannel("!abc") || is.IsChannel("&abc") || is.IsChannel("") {
		t.Error("IsChannel")
	}
	if p, ok := is.PrefixForMode('o'); !ok || p != '@' {
		t.Error("PrefixForMode")
	}
	if m, ok := is.ModeForPrefix('+'); !ok || m != 'v' {
		t.Error("ModeForPrefix")
	}
	// Negation restores the default.
	is.apply([]string{"-CHANTYPES", "-NICKLEN", "PREFIX="})
	if is.ChanTypes != "#&" || is.NickLen != 0 || is.Prefixes != "" || is.PrefixModes != "" {
		t.Fatalf("%+v", is)
	}
	if _, ok := is.Get("CHANTYPES"); ok {
		t.Error("CHANTYPES still in Raw")
	}
	// A malformed PREFIX means no prefixes rather than a mismatched pair.
	is.apply([]string{"PREFIX=(ov)@"})
	if is.Prefixes != "" {
		t.Errorf("%+v", is)
	}
	is.apply([]string{"MAXNICKLEN=12"})
	if is.NickLen != 12 {
		t.Errorf("MAXNICKLEN: %+v", is)
	}
}

func TestCasefold(t *testing.T) {
	for _, tc := range []struct{ mapping, in, want string }{
		{"rfc1459", "Nick[]\\^", "nick{}|~"},
		{"strict-rfc1459", "Nick[]\\^", "nick{}|^"},
		{"ascii", "Nick[]\\^", "nick[]\\^"},
		{"rfc7613", "NÍCK", "níck"},
	} {
		is := DefaultISupport()
		is.CaseMapping = tc.mapping
		if got := is.Casefold(tc.in); got != tc.want {
			t.Errorf("%s: Casefold(%q) = %q, want %q", tc.mapping, tc.in, got, tc.want)
		}
	}
}

func TestErrorText(t *testing.T) {
	e := &Error{Kind: KindSASL, Code: "904", Text: "SASL authentication failed"}
	if got := e.Error(); got != "irc: SASL authentication failed: SASL authentication failed (904)" {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(e, &Error{Kind: KindSASL}) || errors.Is(e, &Error{Kind: KindNick}) {
		t.Error("errors.Is by kind")
	}
	closed := &Error{Kind: KindClosed, Err: ErrClosed}
	if closed.Error() != "irc: connection closed" || !errors.Is(closed, ErrClosed) {
		t.Errorf("%q", closed)
	}
}

// A connection told what another was told takes the other's value, so
// that the connections to one server share one ISupport.
func TestAdoptISupport(t *testing.T) {
	told := func(tokens ...string) ISupport {
		is := DefaultISupport().clone()
		is.apply(tokens)
		return is
	}
	first := told("CASEMAPPING=ascii", "NICKLEN=9", "NETWORK=Ferry")
	c := &Conn{isupport: told("CASEMAPPING=ascii", "NICKLEN=9", "NETWORK=Ferry")}
	if !c.AdoptISupport(first) {
		t.Fatal("the same tokens were not adopted")
	}
	if reflect.ValueOf(c.ISupport().raw).UnsafePointer() != reflect.ValueOf(first.raw).UnsafePointer() {
		t.Fatal("adopted, but the connection holds its own tokens")
	}
	other := &Conn{isupport: told("CASEMAPPING=ascii", "NICKLEN=30", "NETWORK=Ferry")}
	if other.AdoptISupport(first) || other.ISupport().NickLen != 30 {
		t.Fatalf("a different ISupport was adopted: %+v", other.ISupport())
	}
	if (&Conn{isupport: told("CASEMAPPING=ascii", "NICKLEN=9", "NETWORK=Ferry", "EXCEPTS")}).AdoptISupport(first) {
		t.Fatal("an ISupport with one more token was adopted")
	}
}

package irc

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges"
)

// userNamed is a bridge whose users may name servers themselves, paced
// at most 5 lines at once and 2 a second.
func userNamed(t *testing.T) *Bridge {
	return testBridge(t, map[string]any{"allow_other_servers": true, "burst": int64(5), "rate": 2.0,
		"network": []map[string]any{{"name": "irc.listed", "address": "127.0.0.1:6697"}}})
}

func fieldVars(fields []bridges.Field) []string {
	var out []string
	for _, f := range fields {
		out = append(out, f.Var)
	}
	return out
}

func TestAddressFields(t *testing.T) {
	b := userNamed(t)
	acct := bridges.Account{JID: "alice@x", Values: map[string]string{"nick": "alice"}}
	tests := []struct {
		local string
		want  []string
		cond  bridges.Condition
	}{
		{"irc.example.org", []string{"nick", "username", "realname", "pass", "sasl_user", "sasl_password", "tls_ports", "ports",
			"verify_cert", "fingerprint", "after_connect_commands", "encoding_in", "encoding_out", "throttle_burst", "throttle_limit"}, ""},
		// The operator's network: its address is shown, not offered.
		{"irc.listed", []string{"nick", "username", "realname", "pass", "sasl_user", "sasl_password", "address",
			"after_connect_commands", "encoding_in", "encoding_out", "throttle_burst", "throttle_limit"}, ""},
		{"#chan%irc.example.org", []string{"encoding_in", "encoding_out"}, ""},
		{"bob%irc.example.org", nil, bridges.ItemNotFound},
		{"", nil, bridges.ItemNotFound},
	}
	for _, tt := range tests {
		fields, err := b.AddressFields(acct, tt.local)
		if tt.cond != "" {
			var be *bridges.Error
			if !errors.As(err, &be) || be.Condition != tt.cond {
				t.Errorf("AddressFields(%q) = %v, %v; want %s", tt.local, fieldVars(fields), err, tt.cond)
			}
			continue
		}
		if err != nil || !slices.Equal(fieldVars(fields), tt.want) {
			t.Errorf("AddressFields(%q) = %v, %v\nwant %v", tt.local, fieldVars(fields), err, tt.want)
		}
	}
	// A gateway that serves only its listed networks offers no other.
	closed := testBridge(t, map[string]any{"network": []map[string]any{{"name": "irc.listed", "address": "127.0.0.1:6697"}}})
	if _, err := closed.AddressFields(acct, "irc.example.org"); err == nil {
		t.Error("settings offered for a server the gateway does not connect to")
	}
	// With one network, its settings are under its name, and channels
	// have no server part.
	fixed := testBridge(t, map[string]any{"fixed_server": "irc.one", "network": []map[string]any{{"name": "irc.one", "address": "127.0.0.1:6697"}}})
	if fields, err := fixed.AddressFields(acct, "irc.one"); err != nil || !slices.Contains(fieldVars(fields), setNick) {
		t.Errorf("fixed server's settings: %v, %v", fieldVars(fields), err)
	}
	if fields, err := fixed.AddressFields(acct, "#chan"); err != nil || !slices.Equal(fieldVars(fields), []string{setEncodingIn, setEncodingOut}) {
		t.Errorf("fixed server's channel settings: %v, %v", fieldVars(fields), err)
	}
	if got := codecsFor(fixed.mapper, map[string]map[string]string{"irc.one": {setEncodingIn: "KOI8-R"}, "#chan": {setEncodingIn: "ISO-8859-1"}}, "irc.one"); got.in.Name() != "KOI8-R" || got.chans["#chan"].in.Name() != "ISO-8859-1" {
		t.Errorf("fixed server's codecs: %s, %v", got.in.Name(), got.chans)
	}
	// Without pacing there is nothing to slow down.
	unpaced := testBridge(t, map[string]any{"rate": 0.0})
	fields, _ := unpaced.AddressFields(acct, "irc.example.org")
	if slices.Contains(fieldVars(fields), setRate) {
		t.Error("pacing offered on a gateway that does not pace")
	}
}

func TestCheckAddressSettings(t *testing.T) {
	b := userNamed(t)
	acct := bridges.Account{JID: "alice@x", Values: map[string]string{"nick": "alice"}}
	tests := []struct {
		name  string
		local string
		in    map[string]string
		want  map[string]string
		error string // in the refusal's text
	}{
		{"empty is all defaults", "irc.example.org", map[string]string{"nick": " ", "verify_cert": "true"}, map[string]string{}, ""},
		{"nick", "irc.example.org", map[string]string{"nick": "alice2"}, map[string]string{"nick": "alice2"}, ""},
		{"nick with a space", "irc.example.org", map[string]string{"nick": "al ice"}, nil, "Nickname: \"al ice\" is not a valid IRC nickname"},
		{"ports", "irc.example.org", map[string]string{"tls_ports": "6697, 7000", "ports": "6667\n6668"},
			map[string]string{"tls_ports": "6697 7000", "ports": "6667 6668"}, ""},
		{"port list that does not parse", "irc.example.org", map[string]string{"ports": "6667 sixty"}, nil, "Plain ports (no encryption): \"sixty\" is not a port number"},
		{"port out of range", "irc.example.org", map[string]string{"tls_ports": "70000"}, nil, "\"70000\" is not a port number"},
		{"too many ports", "irc.example.org", map[string]string{"ports": "1 2 3 4 5 6 7 8 9"}, nil, "at most 8 ports"},
		{"verify_cert off", "irc.example.org", map[string]string{"verify_cert": "no"}, map[string]string{"verify_cert": "false"}, ""},
		{"verify_cert garbage", "irc.example.org", map[string]string{"verify_cert": "maybe"}, nil, "answer yes or no"},
		{"fingerprint with colons", "irc.example.org", map[string]string{"fingerprint": strings.Repeat("AB:", 31) + "AB"},
			map[string]string{"fingerprint": strings.Repeat("ab", 32)}, ""},
		{"short fingerprint", "irc.example.org", map[string]string{"fingerprint": "abcd"}, nil, "64 hex digits"},
		{"encodings", "irc.example.org", map[string]string{"encoding_in": "latin1", "encoding_out": "cp1252"},
			map[string]string{"encoding_in": "ISO-8859-1", "encoding_out": "windows-1252"}, ""},
		{"unknown encoding", "irc.example.org", map[string]string{"encoding_in": "klingon"}, nil, "unknown character encoding"},
		{"channel encoding", "#chan%irc.example.org", map[string]string{"encoding_in": "koi8-r"}, map[string]string{"encoding_in": "KOI8-R"}, ""},
		{"pacing within bounds", "irc.example.org", map[string]string{"throttle_burst": "3", "throttle_limit": "0.5"},
			map[string]string{"throttle_burst": "3", "throttle_limit": "0.5"}, ""},
		{"burst above the operator's", "irc.example.org", map[string]string{"throttle_burst": "6"}, nil, "from 1 to 5"},
		{"rate above the operator's", "irc.example.org", map[string]string{"throttle_limit": "3"}, nil, "at most 2"},
		{"rate zero", "irc.example.org", map[string]string{"throttle_limit": "0"}, nil, "above 0"},
		{"commands after connect", "irc.example.org", map[string]string{"after_connect_commands": "PRIVMSG NickServ :IDENTIFY pw; JOIN #x"},
			map[string]string{"after_connect_commands": "PRIVMSG NickServ :IDENTIFY pw; JOIN #x"}, ""},
		{"bad command after connect", "irc.example.org", map[string]string{"after_connect_commands": ":::"}, nil, "command after connecting"},
		{"user name with a space", "irc.example.org", map[string]string{"username": "a b"}, nil, "user name cannot be used on IRC"},
		{"secrets kept with spaces", "irc.example.org", map[string]string{"pass": " p w ", "sasl_user": "al", "sasl_password": "s3"},
			map[string]string{"pass": " p w ", "sasl_user": "al", "sasl_password": "s3"}, ""},
		{"the address of a listed network is not the user's", "irc.listed", map[string]string{"address": "evil:1", "ports": "1"}, map[string]string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := b.CheckAddressSettings(context.Background(), acct, tt.local, tt.in)
			if tt.error != "" {
				var be *bridges.Error
				if !errors.As(err, &be) || be.Condition != bridges.NotAcceptable || !strings.Contains(be.Text, tt.error) {
					t.Fatalf("= %v, %v; want not-acceptable saying %q", got, err, tt.error)
				}
				if strings.Contains(be.Text, "s3") {
					t.Fatalf("refusal repeats a secret: %q", be.Text)
				}
				return
			}
			if err != nil || !maps.Equal(got, tt.want) {
				t.Fatalf("= %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestNetworkValuesReplaceRegistration(t *testing.T) {
	reg := map[string]string{"nick": "alice", "server_password": "old", "on_connect": "JOIN #a", "sasl_user": "al", "sasl_password": "x"}
	got := networkValues(reg, map[string]string{setNick: "al2", setPass: "new", setAfterConnect: "JOIN #b", setEncodingIn: "KOI8-R"})
	want := map[string]string{"nick": "al2", "server_password": "new", "on_connect": "JOIN #b", "sasl_user": "al", "sasl_password": "x"}
	if !maps.Equal(got, want) {
		t.Fatalf("networkValues = %v, want %v", got, want)
	}
	if reg["nick"] != "alice" {
		t.Fatal("networkValues changed the registration")
	}
}

func TestDialCandidates(t *testing.T) {
	named := Network{Name: "irc.example.org", Address: "irc.example.org:6697", TLS: true, UserNamed: true}
	listed := Network{Name: "irc.listed", Address: "10.0.0.1:6697", TLS: true}
	addrs := func(list []Network) []string {
		var out []string
		for _, n := range list {
			out = append(out, n.Address+map[bool]string{true: "+tls", false: ""}[n.TLS])
		}
		return out
	}
	set := map[string]string{setTLSPorts: "7000 6697", setPorts: "6667"}
	if got, want := addrs(dialCandidates(named, set)), []string{"irc.example.org:7000+tls", "irc.example.org:6697+tls", "irc.example.org:6667"}; !slices.Equal(got, want) {
		t.Errorf("user-named server = %v, want %v", got, want)
	}
	if got, want := addrs(dialCandidates(listed, set)), []string{"10.0.0.1:6697+tls"}; !slices.Equal(got, want) {
		t.Errorf("operator's network = %v, want %v (ports are the operator's)", got, want)
	}
	if got, want := addrs(dialCandidates(named, nil)), []string{"irc.example.org:6697+tls"}; !slices.Equal(got, want) {
		t.Errorf("no ports set = %v, want %v", got, want)
	}
}

// An IRC user on a Latin-1 channel is read right, and what the XMPP user
// writes reaches the channel in Latin-1; a character Latin-1 lacks is
// refused with a clear error, never sent as '?'.
func TestEncodingsOnTheWire(t *testing.T) {
	n, srv, rec := testNetwork(t)
	addrs := map[string]map[string]string{
		"irc.test":         {setEncodingIn: "ISO-8859-1", setEncodingOut: "ISO-8859-1"},
		"#russe%irc.test":  {setEncodingIn: "KOI8-R", setEncodingOut: "KOI8-R"},
		"#modern%irc.test": {setEncodingIn: "UTF-8", setEncodingOut: "UTF-8"},
	}
	n.text = codecsFor(n.s.b.mapper, addrs, "irc.test")
	for _, ch := range []string{"#latin", "#russe", "#modern"} {
		n.channels.Set(n.fold(ch), &channel{name: ch, local: ch + "%irc.test", members: memberList(nil), joined: true})
	}
	n.serverSays(t, ":bob!b@h PRIVMSG #latin :caf\xe9 cr\xe8me")
	n.serverSays(t, ":bob!b@h PRIVMSG #latin :d\xc3\xa9j\xc3\xa0 UTF-8")
	n.serverSays(t, ":ivan!i@h PRIVMSG #russe :\xf0\xd2\xc9\xd7\xc5\xd4")
	n.serverSays(t, ":bob!b@h PRIVMSG alice :na\xefve")
	want := []string{
		`room #latin%irc.test <bob> "café crème" id= time=- echo= origin=`,
		`room #latin%irc.test <bob> "déjà UTF-8" id= time=- echo= origin=`,
		`room #russe%irc.test <ivan> "Привет" id= time=- echo= origin=`,
		`receive bob%irc.test "naïve" id= time=-`,
	}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	n.userSends(t, "#latin", bridges.Message{Peer: "#latin%irc.test", Body: "très bien"})
	if got := srv.readLine(); got != "PRIVMSG #latin :tr\xe8s bien" {
		t.Fatalf("sent %q, want Latin-1", got)
	}
	n.userSends(t, "#russe", bridges.Message{Peer: "#russe%irc.test", Body: "да"})
	if got := srv.readLine(); got != "PRIVMSG #russe \xc4\xc1" {
		t.Fatalf("sent %q, want KOI8-R", got)
	}
	n.userSends(t, "#modern", bridges.Message{Peer: "#modern%irc.test", Body: "€ ok"})
	if got := srv.readLine(); got != "PRIVMSG #modern :€ ok" {
		t.Fatalf("sent %q, want UTF-8", got)
	}
	var err error
	_ = n.locked(context.Background(), func() { err = n.sendOrQueue("#latin", bridges.Message{Peer: "#latin%irc.test", Body: "5 €"}) })
	var be *bridges.Error
	if !errors.As(err, &be) || be.Condition != bridges.NotAcceptable || !strings.Contains(be.Text, "'€' cannot be written in ISO-8859-1") {
		t.Fatalf("unencodable message: %v, want not-acceptable naming €", err)
	}
}

// The zero textCodecs (a UTF-8 network) leaves a line as it is at no
// cost; this is the path of nearly every line.
func BenchmarkDecodeLine(b *testing.B) {
	m := ircmsgFor(b, ":bob!b@h PRIVMSG #chan :"+strings.Repeat("héllo ", 40))
	latin := codecsFor(testBridgeB(b).mapper, map[string]map[string]string{"irc.test": {setEncodingIn: "ISO-8859-1"}}, "irc.test")
	for _, bc := range []struct {
		name string
		t    textCodecs
	}{{"utf8-network", textCodecs{}}, {"latin1-network/utf8-line", latin}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.t.decode(&m) // valid UTF-8: m is left as it is
			}
		})
	}
}

func ircmsgFor(b *testing.B, line string) ircmsg.Message {
	m, err := ircmsg.ParseLine(line)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func testBridgeB(b *testing.B) *Bridge {
	br, err := Factory("irc.gw", map[string]any{}, bridges.Deps{})
	if err != nil {
		b.Fatal(err)
	}
	return br.(*Bridge)
}

// A topic and a reason are the user's words too: they go out in the
// channel's encoding; a topic it cannot write is refused, and a leave
// whose reason it cannot write goes without the reason.
func TestEncodingsOfTopicsAndReasons(t *testing.T) {
	n, srv, _ := testNetwork(t)
	n.text = codecsFor(n.s.b.mapper, map[string]map[string]string{"irc.test": {setEncodingIn: "ISO-8859-1", setEncodingOut: "ISO-8859-1"}}, "irc.test")
	n.channels.Set(n.fold("#latin"), &channel{name: "#latin", local: "#latin%irc.test", members: memberList(nil), joined: true})
	n.s.networks[n.server] = n
	ctx := context.Background()

	if err := n.s.SetSubject(ctx, "#latin%irc.test", "café"); err != nil {
		t.Fatal(err)
	}
	if got := srv.readLine(); got != "TOPIC #latin caf\xe9" {
		t.Fatalf("sent %q, want the topic in Latin-1", got)
	}
	err := n.s.SetSubject(ctx, "#latin%irc.test", "5 €")
	var be *bridges.Error
	if !errors.As(err, &be) || be.Condition != bridges.NotAcceptable {
		t.Fatalf("unencodable topic: %v, want not-acceptable", err)
	}
	var lines []error
	_ = n.locked(ctx, func() {
		lines = append(lines, n.queueWithText("#latin", "PART", []string{"#latin"}, "à bientôt"))
	})
	if lines[0] != nil {
		t.Fatal(lines[0])
	}
	if got := srv.readLine(); got != "PART #latin :\xe0 bient\xf4t" {
		t.Fatalf("sent %q, want the reason in Latin-1", got)
	}
}

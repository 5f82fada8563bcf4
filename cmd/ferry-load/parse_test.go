package main

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestParseLusers(t *testing.T) {
	tests := []struct {
		text string
		want int
		ok   bool
	}{
		{"There are 12 users and 0 services on 1 servers", 12, true},
		{"There are 3 users and 2 invisible on 1 servers", 5, true},
		{"no numbers here", 0, false},
	}
	for _, tt := range tests {
		if got, ok := parseLusers(tt.text); got != tt.want || ok != tt.ok {
			t.Errorf("parseLusers(%q) = %d, %v", tt.text, got, ok)
		}
	}
}

func TestParsePrivmsg(t *testing.T) {
	pm, err := parsePrivmsg([]byte(":fu1!~fu1@127.0.0.1 PRIVMSG #burstf :ld3.17 text"))
	if err != nil || pm.from != "fu1" || pm.target != "#burstf" || pm.text != "ld3.17 text" {
		t.Errorf("parsePrivmsg = %+v, %v", pm, err)
	}
	if _, err := parsePrivmsg([]byte(":irc.load.test 001 x :Welcome")); err == nil {
		t.Error("a numeric parsed as a PRIVMSG")
	}
}

func TestReadElement(t *testing.T) {
	stream := `<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='x'>` +
		`<presence from='#c%irc.load.test@irc.localhost/u1' to='u1@load.localhost/load'>` +
		`<x xmlns='http://jabber.org/protocol/muc#user'><item role='participant'/><status code='110'/><status code='100'/></x></presence>` +
		`<message type='groupchat' from='#c%irc.load.test@irc.localhost/v' to='u1@load.localhost/load'><body>a &amp; b</body></message>` +
		`<presence type='error' from='#d%irc.load.test@irc.localhost/u1' to='u1@load.localhost/load'><error type='cancel'><text>no</text><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>` +
		`</stream:stream>`
	dec := xml.NewDecoder(strings.NewReader(stream))
	if _, err := dec.RawToken(); err != nil { // the stream header
		t.Fatal(err)
	}
	p, err := readElement(dec)
	if err != nil {
		t.Fatal(err)
	}
	if p.name != "presence" || !p.hasStatus("110") || !p.hasStatus("100") || p.hasStatus("210") {
		t.Errorf("presence: %s, codes %v", describe(p), p.statusCodes())
	}
	if userIndex(p.attr("to")) != 1 {
		t.Errorf("userIndex(%q) = %d", p.attr("to"), userIndex(p.attr("to")))
	}
	m, err := readElement(dec)
	if err != nil {
		t.Fatal(err)
	}
	if m.child("body") == nil || m.child("body").text != "a & b" {
		t.Errorf("message: %s", describe(m))
	}
	e, err := readElement(dec)
	if err != nil {
		t.Fatal(err)
	}
	if c := e.errorCondition(); c != "item-not-found (no)" {
		t.Errorf("errorCondition = %q", c)
	}
	if _, err := readElement(dec); err != errStreamClosed {
		t.Errorf("after the last stanza: %v, want errStreamClosed", err)
	}
}

func TestUserIndex(t *testing.T) {
	for jid, want := range map[string]int{
		userJID(0):                 0,
		userJID(9999):              9999,
		"u12@other.example/load":   -1,
		"x1@" + loadDomain:         -1,
		"u1x@" + loadDomain:        -1,
		"u@" + loadDomain + "/res": -1,
		loadDomain:                 -1,
	} {
		if got := userIndex(jid); got != want {
			t.Errorf("userIndex(%q) = %d, want %d", jid, got, want)
		}
	}
}

func TestEscapeAttr(t *testing.T) {
	if got := escapeAttr(`a'b"c<d>&`); got != "a&#39;b&#34;c&lt;d&gt;&amp;" {
		t.Errorf("escapeAttr = %q", got)
	}
}

func TestDisconnects(t *testing.T) {
	log := `[15279:5    1] Write buffer space exhausted (connection 11, limit is 32768 bytes, 120 bytes new, 32712 bytes pending)
[15279:5    1] User "ffl0!~ffl0@127.0.0.1" unregistered (connection 9): Write buffer space exhausted.
[15279:5    5] User "ffl1!~ffl1@127.0.0.1" registered (connection 9).
[15279:5    6] User "ffl1!~ffl1@127.0.0.1" unregistered (connection 9): Write buffer space exhausted.
[15279:5   19] User "ffl0!~ffl0@127.0.0.1" unregistered (connection 11): Got QUIT command.
[15279:5   19] User "bfl0!~bfl0@127.0.0.1" unregistered (connection 8): Ping timeout: 20 seconds.
[15279:5   20] User "ffl2!~ffl2@127.0.0.1" unregistered (connection 12): Ping timeout: 20 seconds.`
	got := strings.Join(disconnects(log, "ffl"), ", ")
	want := `"Ping timeout: 20 seconds" ×1, "Write buffer space exhausted" ×2`
	if got != want {
		t.Errorf("disconnects = %s, want %s", got, want)
	}
	if d := disconnects(log, "xyz"); len(d) != 0 {
		t.Errorf("disconnects of nobody: %v", d)
	}
}

package xmlnode

import "testing"

var benchStanza = []byte(`<message xmlns="jabber:client" from="alice@example.org/phone" to="bob%irc.libera.chat@irc.example.org" type="chat" id="a1b2c3"><body>Hello there, this is a fairly ordinary chat message of about eighty bytes.</body><request xmlns="urn:xmpp:receipts"/><origin-id xmlns="urn:xmpp:sid:0" id="a1b2c3"/><active xmlns="http://jabber.org/protocol/chatstates"/></message>`)

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchStanza)))
	for b.Loop() {
		if _, err := Parse(benchStanza); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	n, err := Parse(benchStanza)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(n); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendXML is the component writer's case: one buffer reused
// for every stanza.
func BenchmarkAppendXML(b *testing.B) {
	n, err := Parse(benchStanza)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = n.AppendXML(buf[:0])
	}
}

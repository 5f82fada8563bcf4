package xmlnode

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
)

func TestParseRoundTrip(t *testing.T) {
	tests := []struct {
		name, in string
		check    func(t *testing.T, n *Node)
	}{
		{"body in stream namespace", `<message xmlns="jabber:client" to="a@b" type="chat"><body>hi &amp; bye</body></message>`,
			func(t *testing.T, n *Node) {
				if n.Space != "" || n.ChildText("", "body") != "hi & bye" || n.Attr("to") != "a@b" {
					t.Fatalf("got %s", n)
				}
			}},
		{"foreign namespace kept", `<iq type="get"><query xmlns="jabber:iq:register"><username>x</username></query></iq>`,
			func(t *testing.T, n *Node) {
				q := n.Child("jabber:iq:register", "query")
				if q == nil || q.ChildText("jabber:iq:register", "username") != "x" {
					t.Fatalf("got %s", n)
				}
			}},
		{"xml:lang kept", `<message><body xml:lang="fr">salut</body></message>`,
			func(t *testing.T, n *Node) {
				if n.Child("", "body").Attr("xml:lang") != "fr" {
					t.Fatalf("got %s", n)
				}
			}},
		{"prefixed namespace", `<message xmlns:r="urn:xmpp:receipts"><r:request/></message>`,
			func(t *testing.T, n *Node) {
				if n.Child("urn:xmpp:receipts", "request") == nil {
					t.Fatalf("got %s", n)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, n)
			// Rendering and parsing again must give the same tree.
			out, err := Marshal(n)
			if err != nil {
				t.Fatal(err)
			}
			n2, err := Parse(out)
			if err != nil {
				t.Fatalf("reparse %s: %v", out, err)
			}
			tc.check(t, n2)
			if n.String() != n2.String() {
				t.Fatalf("round trip changed:\n%s\n%s", n, n2)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	huge := `<message to="x@y"><body>` + strings.Repeat("a", 2000) + `</body></message><message/>`
	d := xml.NewDecoder(strings.NewReader(huge))
	start := nextStart(t, d)
	n, err := Decode(d, start, Limits{MaxBytes: 1000, MaxDepth: 8, MaxElements: 10})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if n.Attr("to") != "x@y" || len(n.Children) != 0 {
		t.Fatalf("node after limit: %s", n)
	}
	// The oversized stanza was consumed: the next one reads cleanly.
	if s := nextStart(t, d); s.Name.Local != "message" {
		t.Fatalf("next = %v", s.Name)
	}
	deep := strings.Repeat("<a>", 50) + strings.Repeat("</a>", 50)
	d = xml.NewDecoder(strings.NewReader(deep))
	if _, err := Decode(d, nextStart(t, d), DefaultLimits); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("deep: err = %v", err)
	}
}

func TestInvalidCharactersEscaped(t *testing.T) {
	n := New("", "message").Add(Elem("", "body", "a\x00b\x1bc"))
	out, err := Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(out); err != nil {
		t.Fatalf("output %q is not well-formed: %v", out, err)
	}
}

func nextStart(t *testing.T, d *xml.Decoder) xml.StartElement {
	t.Helper()
	for {
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := tok.(xml.StartElement); ok {
			return s
		}
	}
}

// FuzzParse: any input either fails cleanly or yields a tree that renders
// to well-formed XML which parses back to the same tree.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`<message><body>hi</body></message>`,
		`<iq type="set"><query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit"><field var="a"><value>1</value></field></x></query></iq>`,
		`<presence xmlns:a="urn:a"><a:x a:y="1" xml:lang="en"/></presence>`,
		`<a>&lt;&#x1;</a>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Parse(data)
		if err != nil {
			return
		}
		out, err := Marshal(n)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		n2, err := Parse(out)
		if err != nil {
			t.Fatalf("output not parseable: %q: %v", out, err)
		}
		if n.String() != n2.String() {
			t.Fatalf("round trip changed %q -> %q", n, n2)
		}
	})
}

// A stanza's own elements inherit the stream they are written to, but a
// jabber:client message forwarded inside another element (XEP-0297, as in
// carbons and XEP-0356) must keep declaring its namespace through a
// store-and-parse round trip, or a server reads it as a component stanza.
func TestForwardedMessageKeepsItsNamespace(t *testing.T) {
	in := `<message xmlns="jabber:client" to="h"><body>outer</body>` +
		`<forwarded xmlns="urn:xmpp:forward:0"><message xmlns="jabber:client" to="x"><body>inner</body></message></forwarded></message>`
	n, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if n.Space != "" || n.Child("", "body") == nil {
		t.Errorf("the stanza and its body should be in the stream namespace: %+v", n)
	}
	fwd := n.Child("urn:xmpp:forward:0", "forwarded").Child("jabber:client", "message")
	if fwd == nil {
		t.Fatalf("forwarded message lost its namespace: %s", n)
	}
	out, err := Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	want := `<message to="h"><body>outer</body><forwarded xmlns="urn:xmpp:forward:0"><message xmlns="jabber:client" to="x"><body>inner</body></message></forwarded></message>`
	if string(out) != want {
		t.Errorf("round trip:\n got %s\nwant %s", out, want)
	}
}

package xmlnode

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendXMLShapes(t *testing.T) {
	tests := []struct {
		name string
		node *Node
		want string
	}{
		{"empty element", New("", "presence").SetAttr("to", "a@b"), `<presence to="a@b"/>`},
		{"namespace only where it changes",
			New("", "iq").Add(New("urn:q", "query").Add(Elem("urn:q", "item", "x"), Elem("", "plain", "y"))),
			`<iq><query xmlns="urn:q"><item>x</item><plain>y</plain></query></iq>`},
		{"xml:lang", Elem("", "body", "salut").SetAttr("xml:lang", "fr"), `<body xml:lang="fr">salut</body>`},
		{"text escapes", Elem("", "body", `a<b>&"c"`+"\r\n\td"), "<body>a&lt;b&gt;&amp;\"c\"&#xD;\n\td</body>"},
		{"attribute escapes", New("", "m").SetAttr("id", "a\"<&>\n\t\r"), `<m id="a&quot;&lt;&amp;&gt;&#xA;&#x9;&#xD;"/>`},
		{"invalid characters", Elem("", "body", "a\x00b\x1bc\xffd\uFFFEe"), "<body>a\uFFFDb\uFFFDc\uFFFDd\uFFFDe</body>"},
		{"non-ASCII kept", Elem("", "body", "café 🙂"), "<body>café 🙂</body>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(tc.node.AppendXML(nil)); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// sanitize is what a text survives as: characters XML cannot carry become
// U+FFFD.
func sanitize(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if validChar(r, size) || r >= 0x20 && r < utf8.RuneSelf {
			b.WriteString(s[i : i+size])
		} else {
			b.WriteRune('\uFFFD')
		}
		i += size
	}
	return b.String()
}

// FuzzAppendXML: any text and attribute value renders to XML that parses
// back to exactly the sanitized input.
func FuzzAppendXML(f *testing.F) {
	for _, s := range []string{"hi", "a<b&c>\"'", "\r\n\t", "\x00\x01", "\xff\xfe", "\uFFFE\uFFFF", "日本語 🙂", "]]>"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, text, attr string) {
		n := New("", "message").SetAttr("id", attr).Add(Elem("urn:x", "body", text))
		out := n.AppendXML(nil)
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("output %q does not parse: %v", out, err)
		}
		if got, want := back.ChildText("urn:x", "body"), sanitize(text); got != want {
			t.Fatalf("text %q came back as %q, want %q", text, got, want)
		}
		if got, want := back.Attr("id"), sanitize(attr); got != want {
			t.Fatalf("attribute %q came back as %q, want %q", attr, got, want)
		}
	})
}

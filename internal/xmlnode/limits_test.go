package xmlnode

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
)

// TestLimitsCountEverything: every part of a stanza counts against
// MaxBytes, the root element's own attributes included, and a refused
// stanza keeps only short addressing attributes.
func TestLimitsCountEverything(t *testing.T) {
	lim := Limits{MaxBytes: 1000, MaxDepth: 8, MaxElements: 10}
	big := strings.Repeat("x", maxEchoed+1)
	tests := []struct {
		name      string
		in        string
		tooLarge  bool
		wantAttrs map[string]string // on the returned node
	}{
		{"small", `<message id="a" to="u@d"><body>hi</body></message>`, false, map[string]string{"id": "a", "to": "u@d"}},
		{"huge id on a childless root", `<message to="u@d" id="` + big + `"/>`, true, map[string]string{"to": "u@d", "id": ""}},
		{"huge unknown attribute on the root", `<message to="u@d" id="m1" foo="` + big + `"/>`, true, map[string]string{"to": "u@d", "id": "m1", "foo": ""}},
		{"huge namespace declaration on the root", `<message xmlns:z="` + big + `" id="m1"/>`, true, map[string]string{"id": "m1"}},
		{"many attributes on the root", `<iq type="get" id="q"` + manyAttrs(100) + `/>`, true, map[string]string{"type": "get", "id": "q", "a99": ""}},
		{"huge attribute on a child", `<message id="m1"><x y="` + big + `"/></message>`, true, map[string]string{"id": "m1"}},
		{"huge text", `<message id="m1"><body>` + big + `</body></message>`, true, map[string]string{"id": "m1"}},
		{"huge element name", `<message id="m1"><` + big + `/></message>`, true, map[string]string{"id": "m1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := xml.NewDecoder(strings.NewReader(tc.in + `<next/>`))
			n, err := Decode(d, nextStart(t, d), lim)
			if tc.tooLarge != errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want too large: %v", err, tc.tooLarge)
			}
			if !tc.tooLarge && err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.wantAttrs {
				if got := n.Attr(k); got != v {
					t.Errorf("attr %s = %.20q, want %q", k, got, v)
				}
			}
			if tc.tooLarge && (len(n.Children) != 0 || n.Text != "" || cost(n) > 100) {
				t.Errorf("refused node still carries %d bytes: %.80s", cost(n), n)
			}
			// The stanza was consumed whole: the next one reads cleanly.
			if s := nextStart(t, d); s.Name.Local != "next" {
				t.Fatalf("next = %v", s.Name)
			}
		})
	}
}

func manyAttrs(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(` a` + itoa(i) + `="` + strings.Repeat("v", 20) + `"`)
	}
	return b.String()
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// cost is what a decoded tree holds: names, attribute names and values,
// and text, over every element.
func cost(n *Node) int {
	c := len(n.Local) + len(n.Text)
	for _, a := range n.Attrs {
		c += len(a.Name) + len(a.Value)
	}
	for _, ch := range n.Children {
		c += cost(ch)
	}
	return c
}

func depth(n *Node) int {
	d := 0
	for _, ch := range n.Children {
		d = max(d, depth(ch))
	}
	return d + 1
}

func count(n *Node) int {
	c := 1
	for _, ch := range n.Children {
		c += count(ch)
	}
	return c
}

// FuzzDecodeLimits: whatever the input, a stanza Decode accepts stays
// within every limit, and one it refuses as too large keeps nothing but a
// bounded name and addressing attributes.
func FuzzDecodeLimits(f *testing.F) {
	for _, s := range []string{
		`<message id="` + strings.Repeat("i", 100) + `"/>`,
		`<message to="a@b" from="c@d/e" id="x" type="chat"><body>hello there</body></message>`,
		`<iq xmlns:q="urn:q" q:a="1" type="set"><q:x><q:y>zz</q:y></q:x></iq>`,
		`<presence><a><b><c><d><e/></d></c></b></a></presence>`,
		`<a b="1" c="2" d="3" e="4" f="5" g="6" h="7"/>`,
	} {
		f.Add([]byte(s))
	}
	lim := Limits{MaxBytes: 64, MaxDepth: 4, MaxElements: 6}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := xml.NewDecoder(strings.NewReader(string(data)))
		var start xml.StartElement
		for {
			tok, err := d.Token()
			if err != nil {
				return
			}
			if s, ok := tok.(xml.StartElement); ok {
				start = s
				break
			}
		}
		n, err := Decode(d, start, lim)
		switch {
		case err == nil:
			if c := cost(n); c > lim.MaxBytes {
				t.Fatalf("accepted a stanza of %d bytes (limit %d): %q", c, lim.MaxBytes, data)
			}
			if depth(n) > lim.MaxDepth || count(n) > lim.MaxElements {
				t.Fatalf("accepted depth %d, %d elements: %q", depth(n), count(n), data)
			}
		case errors.Is(err, ErrTooLarge):
			if len(n.Children) != 0 || n.Text != "" {
				t.Fatalf("refused node keeps content: %q", data)
			}
			for _, a := range n.Attrs {
				if len(a.Value) > maxEchoed {
					t.Fatalf("refused node keeps a %d-byte %s", len(a.Value), a.Name)
				}
				switch a.Name {
				case "to", "from", "id", "type", "xml:lang":
				default:
					t.Fatalf("refused node keeps attribute %s", a.Name)
				}
			}
		}
	})
}

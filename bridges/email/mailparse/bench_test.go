package mailparse

import (
	"strings"
	"testing"
)

// BenchmarkParse measures the mail → chat conversion per message kind;
// the figures go into the email bridge's notes.
func BenchmarkParse(b *testing.B) {
	for _, c := range parseCases {
		switch c.name {
		case "plain", "html only", "latin-1 quoted-printable", "mixed with pdf", "postfix dsn":
		default:
			continue
		}
		b.Run(strings.ReplaceAll(c.name, " ", "_"), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.raw)))
			for b.Loop() {
				if _, err := Parse(strings.NewReader(c.raw)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

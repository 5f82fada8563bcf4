package component

import (
	"fmt"
	"testing"

	"mellium.im/xmpp/jid"
)

// The cache answers what jid.Parse answers: the same normalised address,
// the same refusal, and it stays bounded.
func TestJIDCacheAgreesWithParse(t *testing.T) {
	c := newJIDCache()
	for _, s := range []string{"Alice@Example.ORG/Phone", "alice@example.org/Phone", "room@gw/ Nick", "@bad", "a@b/c", "a@b/c", "x@[::1]"} {
		for round := 0; round < 2; round++ { // parsed, then remembered
			got, gotErr := c.parse(s)
			want, wantErr := jid.Parse(s)
			if (gotErr != nil) != (wantErr != nil) || got.String() != want.String() {
				t.Errorf("%q (round %d): cache %v %v, jid.Parse %v %v", s, round, got, gotErr, want, wantErr)
			}
		}
	}
	for i := 0; i < 3*jidCacheSize; i++ {
		if _, err := c.parse(fmt.Sprintf("u%d@x.test/r", i)); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.m) > jidCacheSize {
		t.Fatalf("%d addresses remembered", len(c.m))
	}
}

func BenchmarkJIDParse(b *testing.B) {
	const s = "alice@example.org/phone-1234"
	b.Run("jid.Parse", func(b *testing.B) {
		for b.Loop() {
			_, _ = jid.Parse(s)
		}
	})
	b.Run("cache", func(b *testing.B) {
		c := newJIDCache()
		for b.Loop() {
			_, _ = c.parse(s)
		}
	})
}

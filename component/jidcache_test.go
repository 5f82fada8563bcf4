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
	remembered := map[string]bool{}
	for _, s := range []string{"Alice@Example.ORG/Phone", "alice@example.org/Phone", "room@gw/ Nick", "@bad", "a@b/c", "a@b/c", "x@[::1]"} {
		for round := 0; round < 2; round++ { // parsed, then from memory
			got, known, gotErr := c.parseKnown(s)
			want, wantErr := jid.Parse(s)
			if known != remembered[s] {
				t.Errorf("%q (round %d): known %v", s, round, known)
			}
			if (gotErr != nil) != (wantErr != nil) || got.String() != want.String() {
				t.Errorf("%q (round %d): cache %v %v, jid.Parse %v %v", s, round, got, gotErr, want, wantErr)
			}
			if gotErr == nil {
				c.remember(s, got)
				remembered[s] = true
			}
		}
	}
	if c.size() == 0 {
		t.Fatal("nothing remembered")
	}
	for i := 0; i < 3*jidCacheSize; i++ {
		s := fmt.Sprintf("u%d@x.test/r", i)
		j, err := c.parse(s)
		if err != nil {
			t.Fatal(err)
		}
		c.remember(s, j)
	}
	if n := c.size(); n > jidCacheSize {
		t.Fatalf("%d addresses remembered", n)
	}
}

// Parsing alone remembers nothing: only the actor decides what to keep.
func TestJIDCacheParseKeepsNothing(t *testing.T) {
	c := newJIDCache()
	for i := 0; i < 100; i++ {
		if _, err := c.parse(fmt.Sprintf("s%d@remote.test/r", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.size(); n != 0 {
		t.Fatalf("%d addresses kept", n)
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
		j, _ := jid.Parse(s)
		c.remember(s, j)
		for b.Loop() {
			_, _ = c.parse(s)
		}
	})
}

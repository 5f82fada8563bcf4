package component

import (
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// A ping's answer drops what it confirms; one read after the stream's end
// handed the unconfirmed stanzas to the next stream drops nothing (it
// panicked the reader once: found by go test -race -count=4).
func TestConfirmerAnswerAfterLeftover(t *testing.T) {
	var c confirmer
	a, b := xmlnode.New("", "message"), xmlnode.New("", "message")
	c.wrote([]*xmlnode.Node{a}, 0)
	n, _ := c.ping(time.Now())
	c.wrote([]*xmlnode.Node{b}, 7)
	c.confirmed(n, 0)
	if got := c.leftover(); len(got) != 1 || got[0] != b {
		t.Fatalf("after the first answer, left over %v, want the second stanza", got)
	}
	c.wrote([]*xmlnode.Node{a}, 0)
	n, d := c.ping(time.Now())
	carried := c.leftover() // the stream ends before the answer is read
	c.confirmed(n, d)
	if len(carried) != 1 || len(c.leftover()) != 0 {
		t.Fatalf("carried %d, %d left after the late answer", len(carried), len(c.leftover()))
	}
	if c.durableDone != 7 {
		t.Fatalf("stored id confirmed %d, want 7", c.durableDone)
	}
}

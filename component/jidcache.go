package component

import (
	"sync"

	"mellium.im/xmpp/jid"
)

// jidCache remembers the addresses of recent stanzas, parsed: the same few
// users and puppets write again and again, and parsing runs PRECIS on every
// part, which costs more than the rest of routing a message. Only what
// the actor has remembered is kept — the addresses of users it keeps state
// for — so a storm of strangers leaves nothing behind; when full, the
// cache starts over with a new map (clearing one keeps its buckets).
type jidCache struct {
	mu sync.Mutex
	m  map[string]jid.JID
}

// jidCacheSize bounds the addresses remembered.
const jidCacheSize = 4096

func newJIDCache() *jidCache { return &jidCache{m: make(map[string]jid.JID)} }

// parse is jid.Parse, from memory when s was remembered.
func (c *jidCache) parse(s string) (jid.JID, error) {
	j, _, err := c.parseKnown(s)
	return j, err
}

// parseKnown is parse, also telling whether s came from memory (then
// there is nothing to remember).
func (c *jidCache) parseKnown(s string) (j jid.JID, known bool, err error) {
	c.mu.Lock()
	j, known = c.m[s]
	c.mu.Unlock()
	if known {
		return j, true, nil
	}
	j, err = jid.Parse(s)
	return j, false, err
}

// remember keeps j, which s parsed to, for the next parse of s.
func (c *jidCache) remember(s string, j jid.JID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[s]; ok {
		return
	}
	if len(c.m) >= jidCacheSize {
		c.m = make(map[string]jid.JID)
	}
	c.m[s] = j
}

// size is how many addresses are remembered.
func (c *jidCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

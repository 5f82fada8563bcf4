package component

import (
	"sync"

	"mellium.im/xmpp/jid"
)

// jidCache remembers the addresses of recent stanzas, parsed: the same few
// users and puppets write again and again, and parsing runs PRECIS on every
// part, which costs more than the rest of routing a message. Only valid
// addresses are kept; when full, the cache starts over (a storm of new
// senders costs what it did before, never more memory).
type jidCache struct {
	mu sync.Mutex
	m  map[string]jid.JID
}

// jidCacheSize bounds the addresses remembered.
const jidCacheSize = 4096

func newJIDCache() *jidCache { return &jidCache{m: make(map[string]jid.JID)} }

// parse is jid.Parse, from memory when s was parsed before.
func (c *jidCache) parse(s string) (jid.JID, error) {
	c.mu.Lock()
	j, ok := c.m[s]
	c.mu.Unlock()
	if ok {
		return j, nil
	}
	j, err := jid.Parse(s)
	if err != nil {
		return j, err
	}
	c.mu.Lock()
	if len(c.m) >= jidCacheSize {
		clear(c.m)
	}
	c.m[s] = j
	c.mu.Unlock()
	return j, nil
}

// Package smallmap is a map from strings for the handful of entries most
// per-user state holds.
package smallmap

import (
	"iter"
	"slices"
	"strings"
)

// Map maps strings to values in a slice sorted by key. Each user's state
// holds several maps of one or two entries (a user's resources, a room's,
// the channels a connection rejoins), and a Go map takes a group of eight
// slots however few it holds: 288 bytes for one string value, 32 here.
// Every puppeted user pays for these, so they count at ten thousand
// users. Lookups are binary searches; a Set or Delete moves the entries
// after it, which stays cheap up to thousands of keys (a channel's
// members: 32 bytes each, against about twice that in a Go map), and
// SetEach adds a batch in one pass.
//
// The zero value is empty and ready to use. Do not Set or Delete while
// ranging over All.
type Map[V any] struct {
	entries []entry[V]
}

type entry[V any] struct {
	key string
	val V
}

func (m *Map[V]) find(key string) (int, bool) {
	return slices.BinarySearchFunc(m.entries, key, func(e entry[V], k string) int { return strings.Compare(e.key, k) })
}

// Get returns the value of key and whether it is there.
func (m *Map[V]) Get(key string) (V, bool) {
	if i, ok := m.find(key); ok {
		return m.entries[i].val, true
	}
	var zero V
	return zero, false
}

// Has reports whether key is there.
func (m *Map[V]) Has(key string) bool {
	_, ok := m.find(key)
	return ok
}

// Set adds key or replaces its value.
func (m *Map[V]) Set(key string, val V) {
	i, ok := m.find(key)
	if ok {
		m.entries[i].val = val
		return
	}
	if len(m.entries) == cap(m.entries) {
		// Grow by a quarter (at least one), not append's double: these
		// maps grow one key at a time and then stay as they are, for
		// every user, so the slack would be memory held per user.
		grown := make([]entry[V], len(m.entries), len(m.entries)+max(1, len(m.entries)/4))
		copy(grown, m.entries)
		m.entries = grown
	}
	m.entries = slices.Insert(m.entries, i, entry[V]{key, val})
}

// SetEach sets every key and value seq yields, as Set would one after
// the other, in one pass: k new keys into n cost O(n + k log k), not k
// moves of the entries after each (a NAMES reply of thousands).
func (m *Map[V]) SetEach(seq iter.Seq2[string, V]) {
	type yielded struct {
		entry[V]
		at int // the order seq yielded it in
	}
	var batch []yielded
	for k, v := range seq {
		if i, ok := m.find(k); ok {
			m.entries[i].val = v
			continue
		}
		batch = append(batch, yielded{entry[V]{k, v}, len(batch)})
	}
	if len(batch) == 0 {
		return
	}
	slices.SortFunc(batch, func(a, b yielded) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return a.at - b.at
	})
	// A key yielded twice keeps its last value, as with Set.
	fresh := make([]entry[V], 0, len(batch))
	for i, y := range batch {
		if i+1 < len(batch) && batch[i+1].key == y.key {
			continue
		}
		fresh = append(fresh, y.entry)
	}
	// Merge from the back: no key of fresh is in the map already.
	n := len(m.entries)
	m.entries = slices.Grow(m.entries, len(fresh))[:n+len(fresh)]
	i, j := n-1, len(fresh)-1
	for w := len(m.entries) - 1; j >= 0; w-- {
		if i >= 0 && m.entries[i].key > fresh[j].key {
			m.entries[w] = m.entries[i]
			i--
		} else {
			m.entries[w] = fresh[j]
			j--
		}
	}
}

// Delete removes key, if there; an emptied map lets its memory go.
func (m *Map[V]) Delete(key string) {
	if i, ok := m.find(key); ok {
		m.entries = slices.Delete(m.entries, i, i+1)
		if len(m.entries) == 0 {
			m.entries = nil
		}
	}
}

// DeleteFunc removes the keys for which del returns true, in key order.
func (m *Map[V]) DeleteFunc(del func(key string, val V) bool) {
	m.entries = slices.DeleteFunc(m.entries, func(e entry[V]) bool { return del(e.key, e.val) })
	if len(m.entries) == 0 {
		m.entries = nil
	}
}

// Len is how many keys there are.
func (m *Map[V]) Len() int { return len(m.entries) }

// All yields the keys and values in key order.
func (m *Map[V]) All() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		for _, e := range m.entries {
			if !yield(e.key, e.val) {
				return
			}
		}
	}
}

// Keys returns the keys in order, in a new slice.
func (m *Map[V]) Keys() []string {
	out := make([]string, len(m.entries))
	for i, e := range m.entries {
		out[i] = e.key
	}
	return out
}

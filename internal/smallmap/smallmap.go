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
// users. Lookups are binary searches, quick for the handful of keys these
// hold; a Set or Delete moves the entries after it, so a map that may
// grow to thousands of keys (a channel's members) wants a Go map.
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
	m.entries = slices.Insert(m.entries, i, entry[V]{key, val})
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

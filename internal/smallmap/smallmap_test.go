package smallmap

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestMap(t *testing.T) {
	type op struct {
		do  string // set, delete, each (key holds "k=v k=v"), deleteOdd
		key string
		val int
	}
	tests := []struct {
		name string
		ops  []op
		want string // key=value pairs in order
	}{
		{name: "empty", want: ""},
		{name: "sets come out sorted", ops: []op{{"set", "c", 3}, {"set", "a", 1}, {"set", "b", 2}}, want: "a=1 b=2 c=3"},
		{name: "a set replaces", ops: []op{{"set", "a", 1}, {"set", "a", 5}}, want: "a=5"},
		{name: "delete, and delete of a missing key", ops: []op{{"set", "a", 1}, {"set", "b", 2}, {"delete", "a", 0}, {"delete", "zz", 0}}, want: "b=2"},
		{name: "delete the last", ops: []op{{"set", "a", 1}, {"delete", "a", 0}}, want: ""},
		{name: "a batch merges in order, replaces, and keeps a repeated key's last value",
			ops: []op{{"set", "b", 2}, {"set", "d", 4}, {"each", "e=5 a=1 d=9 c=3 a=7", 0}}, want: "a=7 b=2 c=3 d=9 e=5"},
		{name: "a batch into an empty map", ops: []op{{"each", "b=2 a=1", 0}}, want: "a=1 b=2"},
		{name: "an empty batch", ops: []op{{"set", "a", 1}, {"each", "", 0}}, want: "a=1"},
		{name: "deleteFunc", ops: []op{{"set", "a", 1}, {"set", "b", 2}, {"set", "c", 3}, {"deleteOdd", "", 0}}, want: "b=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Map[int]
			for _, o := range tt.ops {
				switch o.do {
				case "set":
					m.Set(o.key, o.val)
				case "delete":
					m.Delete(o.key)
				case "each":
					m.SetEach(func(yield func(string, int) bool) {
						for _, kv := range strings.Fields(o.key) {
							k, v, _ := strings.Cut(kv, "=")
							n, _ := strconv.Atoi(v)
							if !yield(k, n) {
								return
							}
						}
					})
				case "deleteOdd":
					m.DeleteFunc(func(_ string, v int) bool { return v%2 == 1 })
				}
			}
			var got []string
			for k, v := range m.All() {
				got = append(got, fmt.Sprintf("%s=%d", k, v))
				if g, ok := m.Get(k); !ok || g != v || !m.Has(k) {
					t.Fatalf("get(%q) = %d, %v; has %v", k, g, ok, m.Has(k))
				}
			}
			if s := strings.Join(got, " "); s != tt.want {
				t.Fatalf("map %q, want %q", s, tt.want)
			}
			if m.Len() != len(got) || !slices.IsSorted(m.Keys()) || len(m.Keys()) != len(got) {
				t.Fatalf("len %d, keys %v for %v", m.Len(), m.Keys(), got)
			}
			if m.Len() == 0 && m.entries != nil {
				t.Fatal("an emptied map keeps its memory")
			}
			if _, ok := m.Get("missing"); ok || m.Has("missing") {
				t.Fatal("found a key never set")
			}
		})
	}
}

// Any sequence of operations leaves the same keys and values as a Go map.
func TestMapAgreesWithAGoMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var m Map[int]
	want := map[string]int{}
	for step := range 20000 {
		key := strconv.Itoa(rng.IntN(300))
		switch op := rng.IntN(10); {
		case op < 5:
			m.Set(key, step)
			want[key] = step
		case op < 8:
			m.Delete(key)
			delete(want, key)
		case op < 9:
			batch := map[string]int{}
			m.SetEach(func(yield func(string, int) bool) {
				for range rng.IntN(40) {
					k := strconv.Itoa(rng.IntN(300))
					batch[k] = step
					if !yield(k, step) {
						return
					}
				}
			})
			maps.Copy(want, batch)
		default:
			m.DeleteFunc(func(k string, v int) bool {
				if v%7 == 0 {
					delete(want, k)
					return true
				}
				return false
			})
		}
	}
	if m.Len() != len(want) || !slices.IsSorted(m.Keys()) {
		t.Fatalf("%d keys (sorted: %v), want %d", m.Len(), slices.IsSorted(m.Keys()), len(want))
	}
	for k, v := range want {
		if got, ok := m.Get(k); !ok || got != v {
			t.Fatalf("Get(%q) = %d, %v; want %d", k, got, ok, v)
		}
	}
}

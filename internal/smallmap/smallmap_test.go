package smallmap

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestMap(t *testing.T) {
	type op struct {
		do  string // set, delete, deleteOdd
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

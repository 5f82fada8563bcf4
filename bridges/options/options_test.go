package options

import (
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/internal/ratelimit"
)

func TestProblems(t *testing.T) {
	var p Problems
	var n int
	var size int64
	var b bool
	var d time.Duration
	var s string
	p.Int("good_int", int64(5), 1, 10, &n)
	p.Size("good_size", int64(4096), &size)
	p.Bool("good_bool", true, &b)
	p.Duration("good_duration", "2m", "30s", &d)
	p.String("good_string", "x", &s)
	p.Listen("good_listen", "127.0.0.1:1", false, "set public_url")
	p.Listen("published", "0.0.0.0:1", true, "set public_url")
	if err := p.Err(); err != nil || n != 5 || size != 4096 || !b || d != 2*time.Minute || s != "x" {
		t.Fatalf("good values: %v %d %d %v %v %q", err, n, size, b, d, s)
	}
	p.Int("z_int", int64(11), 1, 10, &n)
	p.Int("y_int", "5", 1, 10, &n)
	p.Size("size", int64(10), &size)
	p.Bool("bool", "yes", &b)
	p.Duration("duration", "-1s", "30s", &d)
	p.String("string", 3, &s)
	p.Listen("listen", "nohost", false, "")
	p.Listen("public", "0.0.0.0:1", false, "set public_url")
	want := []string{
		`bool: must be true or false`,
		`duration: must be a duration such as "30s"`,
		`listen: must be host:port`,
		`public: listens beyond loopback: set public_url`,
		`size: must be a size in bytes from 1024 to 1073741824`,
		`string: must be a string`,
		`y_int: must be a whole number from 1 to 10`,
		`z_int: must be a whole number from 1 to 10`,
	}
	if err := p.Err(); err == nil || err.Error() != strings.Join(want, "; ") {
		t.Errorf("problems:\n%v\nwant\n%s", err, strings.Join(want, "; "))
	}
	if n != 5 || d != 2*time.Minute {
		t.Errorf("a bad value overwrote a good one: %d %v", n, d)
	}
}

func TestLimit(t *testing.T) {
	tests := []struct {
		v       any
		want    ratelimit.Limit
		problem string
	}{
		{map[string]any{"burst": int64(5), "every": "1m"}, ratelimit.Limit{Burst: 5, Every: time.Minute}, ""},
		{map[string]any{"every": "0s"}, ratelimit.Limit{Burst: 3}, ""},
		{map[string]any{"burst": int64(0)}, ratelimit.Limit{Burst: 3, Every: 20 * time.Second}, "k.burst: must be a whole number from 1 to 10000"},
		{map[string]any{"every": "-1s"}, ratelimit.Limit{Burst: 3, Every: 20 * time.Second}, `k.every: must be a duration such as "20s" ("0s": no limit)`},
		{map[string]any{"rate": int64(1)}, ratelimit.Limit{Burst: 3, Every: 20 * time.Second}, "k.rate: unknown option"},
		{"3/20s", ratelimit.Limit{Burst: 3, Every: 20 * time.Second}, `k: must be a table such as { burst = 3, every = "20s" }`},
	}
	for _, tc := range tests {
		var p Problems
		got := ratelimit.Limit{Burst: 3, Every: 20 * time.Second}
		p.Limit("k", tc.v, &got)
		err := p.Err()
		if got != tc.want || (err == nil) != (tc.problem == "") || err != nil && err.Error() != tc.problem {
			t.Errorf("%v: %v, %v; want %v, %q", tc.v, got, err, tc.want, tc.problem)
		}
	}
}

func TestStrings(t *testing.T) {
	var p Problems
	var got []string
	p.Strings("a", []any{"x", "y"}, &got)
	if p.Err() != nil || strings.Join(got, ",") != "x,y" {
		t.Fatalf("%v %v", got, p.Err())
	}
	p.Strings("b", []any{"x", int64(1)}, &got)
	p.Strings("c", "x", &got)
	if err := p.Err(); err == nil || err.Error() != "b: must be a list of strings; c: must be a list of strings" || strings.Join(got, ",") != "x,y" {
		t.Fatalf("%v %v", got, err)
	}
}

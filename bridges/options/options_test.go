package options

import (
	"strings"
	"testing"
	"time"
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

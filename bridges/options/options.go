// Package options reads a bridge's [transport.options] table: typed
// readers that collect every problem, each naming its key, so that
// check-config can list them all at once.
package options

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/internal/ratelimit"
	"github.com/ferry-xmpp/ferry/internal/suggest"
)

// Problem is one thing wrong with an option.
type Problem struct {
	Key string // as written in [transport.options], e.g. "burst" or "network[1].tls"
	Msg string
}

// Error is every problem of an options table, sorted by key; the daemon
// shows each on a line of its own.
type Error struct{ Problems []Problem }

// Error joins the problems as "key: msg; key: msg".
func (e *Error) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Key + ": " + p.Msg
	}
	return strings.Join(parts, "; ")
}

// Problems collects what is wrong with an options table.
type Problems struct{ list []Problem }

// Bad records a problem with key.
func (p *Problems) Bad(key, format string, args ...any) {
	p.list = append(p.list, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// Unknown records a key the bridge does not know, suggesting the nearest
// of known when it looks like a typo. key may carry the path of the table
// it is in ("network[1].adress"); known are the names in that table.
func (p *Problems) Unknown(key string, known []string) {
	name := key[strings.LastIndexByte(key, '.')+1:]
	p.Bad(key, "unknown option%s", suggest.DidYouMean(name, known))
}

// Int reads a whole number from lo to hi into dst.
func (p *Problems) Int(key string, v any, lo, hi int64, dst *int) {
	n, ok := v.(int64)
	if !ok || n < lo || n > hi {
		p.Bad(key, "must be a whole number from %d to %d", lo, hi)
		return
	}
	*dst = int(n)
}

// Size reads a size in bytes from 1 KiB to 1 GiB into dst.
func (p *Problems) Size(key string, v any, dst *int64) {
	n, ok := v.(int64)
	if !ok || n < 1024 || n > 1<<30 {
		p.Bad(key, "must be a size in bytes from 1024 to 1073741824")
		return
	}
	*dst = n
}

// Bool reads true or false into dst (false when it is neither).
func (p *Problems) Bool(key string, v any, dst *bool) {
	b, ok := v.(bool)
	if !ok {
		p.Bad(key, "must be true or false")
	}
	*dst = b
}

// Duration reads a positive duration into dst; example is shown when it
// is not one ("30s").
func (p *Problems) Duration(key string, v any, example string, dst *time.Duration) {
	s, _ := v.(string)
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		p.Bad(key, "must be a duration such as %q", example)
		return
	}
	*dst = d
}

// String reads a string into dst.
func (p *Problems) String(key string, v any, dst *string) {
	s, ok := v.(string)
	if !ok {
		p.Bad(key, "must be a string")
	}
	*dst = s
}

// Strings reads a list of strings into dst.
func (p *Problems) Strings(key string, v any, dst *[]string) {
	var out []string
	switch list := v.(type) {
	case []string:
		out = append(out, list...)
	case []any:
		for _, item := range list {
			s, ok := item.(string)
			if !ok {
				p.Bad(key, "must be a list of strings")
				return
			}
			out = append(out, s)
		}
	default:
		p.Bad(key, "must be a list of strings")
		return
	}
	*dst = out
}

// Listen checks a listener's host:port. Listening beyond loopback is a
// problem unless published is set (the operator said how it is reached);
// hint says what to set then.
func (p *Problems) Listen(key, addr string, published bool, hint string) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		p.Bad(key, "must be host:port")
		return
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) && !published {
		p.Bad(key, "listens beyond loopback: %s", hint)
	}
}

// Limit reads a rate limit table { burst = N, every = "D" } into dst:
// N events at once, then one every D; every = "0s" lifts the limit.
// Either may be left out to keep dst's value.
func (p *Problems) Limit(key string, v any, dst *ratelimit.Limit) {
	m, ok := v.(map[string]any)
	if !ok {
		p.Bad(key, `must be a table such as { burst = 3, every = "20s" }`)
		return
	}
	for k, val := range m {
		switch k {
		case "burst":
			p.Int(key+".burst", val, 1, 10000, &dst.Burst)
		case "every":
			s, _ := val.(string)
			d, err := time.ParseDuration(s)
			if err != nil || d < 0 {
				p.Bad(key+".every", `must be a duration such as "20s" ("0s": no limit)`)
				continue
			}
			dst.Every = d
		default:
			p.Bad(key+"."+k, "unknown option")
		}
	}
}

// Err is every problem as an *Error, sorted by key, or nil.
func (p *Problems) Err() error {
	if len(p.list) == 0 {
		return nil
	}
	list := append([]Problem(nil), p.list...)
	sort.SliceStable(list, func(i, j int) bool { return list[i].Key < list[j].Key })
	return &Error{Problems: list}
}

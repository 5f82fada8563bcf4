package config

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/ferry-xmpp/ferry/internal/suggest"
)

// The raw form mirrors the file. Its leaf types never make the TOML decoder
// fail: they record whether the key was present and, when the value had the
// wrong type, what it was, so that validation can report every problem with
// its exact key instead of stopping at the first.

// rawConfig is the whole file.
type rawConfig struct {
	Database       value[string]   `toml:"database"`
	DatabaseSync   value[string]   `toml:"database_sync"`
	SecretsKeyFile value[string]   `toml:"secrets_key_file"`
	Admins         stringList      `toml:"admins"`
	XMPP           rawXMPP         `toml:"xmpp"`
	Registration   rawRegistration `toml:"registration"`
	HTTP           rawHTTP         `toml:"http"`
	Log            rawLog          `toml:"log"`
	Transport      []rawTransport  `toml:"transport"`
}

type rawXMPP struct {
	Address      value[string] `toml:"address"`
	ServerDomain value[string] `toml:"server_domain"`
	PingInterval duration      `toml:"ping_interval"`
	PingTimeout  duration      `toml:"ping_timeout"`
	ReconnectMin duration      `toml:"reconnect_min"`
	ReconnectMax duration      `toml:"reconnect_max"`
	QueueSize    value[int64]  `toml:"queue_size"`
}

type rawRegistration struct {
	Open           value[bool] `toml:"open"`
	AllowedDomains stringList  `toml:"allowed_domains"`
}

type rawHTTP struct {
	Listen      value[string] `toml:"listen"`
	AllowPublic value[bool]   `toml:"allow_public"`
	Pprof       value[bool]   `toml:"pprof"`
}

type rawLog struct {
	Level  value[string] `toml:"level"`
	Format value[string] `toml:"format"`
}

// rawTransport is one [[transport]] table. It decodes itself so that keys
// it does not know can be reported with the table's index.
type rawTransport struct {
	Kind       value[string]
	Domain     value[string]
	Name       value[string]
	Secret     value[string]
	SecretFile value[string]
	Options    value[map[string]any]
	// Unknown lists keys of this table that Ferry does not know, sorted.
	Unknown []string
	// Bad is the TOML type of the element when it is not a table.
	Bad string
}

// UnmarshalTOML implements toml.Unmarshaler.
func (t *rawTransport) UnmarshalTOML(data any) error {
	m, ok := data.(map[string]any)
	if !ok {
		t.Bad = tomlType(data)
		return nil
	}
	for k, v := range m {
		switch k {
		case "kind":
			t.Kind.from(v)
		case "domain":
			t.Domain.from(v)
		case "name":
			t.Name.from(v)
		case "secret":
			t.Secret.from(v)
		case "secret_file":
			t.SecretFile.from(v)
		case "options":
			t.Options.from(v)
		default:
			t.Unknown = append(t.Unknown, k)
		}
	}
	sort.Strings(t.Unknown)
	return nil
}

// value is a scalar (or table) setting of Go type T: string, bool, int64
// or map[string]any.
type value[T any] struct {
	Set bool   // the key is present
	Val T      // its value, when Bad is empty
	Bad string // the TOML type found, when it is not T
}

// UnmarshalTOML implements toml.Unmarshaler.
func (v *value[T]) UnmarshalTOML(data any) error {
	v.from(data)
	return nil
}

func (v *value[T]) from(data any) {
	v.Set = true
	if t, ok := data.(T); ok {
		v.Val = t
		return
	}
	v.Bad = tomlType(data)
}

// want names the TOML type T stands for, for messages.
func (v *value[T]) want() string {
	var zero T
	return tomlType(any(zero))
}

// stringList is an array-of-strings setting.
type stringList struct {
	Set   bool            // the key is present
	Elems []value[string] // its elements, each possibly of the wrong type
	Bad   string          // the TOML type found, when it is not an array
}

// UnmarshalTOML implements toml.Unmarshaler.
func (l *stringList) UnmarshalTOML(data any) error {
	l.Set = true
	arr, ok := data.([]any)
	if !ok {
		l.Bad = tomlType(data)
		return nil
	}
	l.Elems = make([]value[string], len(arr))
	for i, e := range arr {
		l.Elems[i].from(e)
	}
	return nil
}

// duration is a duration setting written as a string such as "30s". It
// implements encoding.TextUnmarshaler; a malformed value is kept in Err
// rather than returned so that decoding goes on.
type duration struct {
	Set  bool
	Val  time.Duration
	Text string // as written, for messages
	Err  error
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *duration) UnmarshalText(text []byte) error {
	d.Set = true
	d.Text = string(text)
	d.Val, d.Err = time.ParseDuration(d.Text)
	return nil
}

// tomlType names the TOML type of a decoded value.
func tomlType(data any) string {
	switch data.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64:
		return "integer"
	case float64:
		return "float"
	case map[string]any:
		return "table"
	case []any, []map[string]any:
		return "array"
	case time.Time:
		return "datetime"
	}
	return fmt.Sprintf("%T", data)
}

// decode parses data into the raw form. Syntax and structure errors are
// added to errs and make it return false; unknown keys are added to errs
// but decoding still succeeds.
func decode(data []byte, errs *Errors) (*rawConfig, bool) {
	raw := &rawConfig{}
	md, err := toml.Decode(string(data), raw)
	if err != nil {
		errs.Problems = append(errs.Problems, decodeProblem(err, data))
		return nil, false
	}
	for _, k := range unknownKeys(md) {
		errs.add(k.String(), "unknown key%s", suggest.DidYouMean(k[len(k)-1], tableKeys(k[:len(k)-1])))
	}
	for i, t := range raw.Transport {
		for _, k := range t.Unknown {
			errs.add(fmt.Sprintf("transport[%d].%s", i, toml.Key{k}), "unknown key%s", suggest.DidYouMean(k, transportKeys))
		}
	}
	return raw, true
}

// lastKeyRE picks the key and message out of the TOML decoder's type
// mismatch errors, which are plain errors of the form
// `toml: line 3 (last key "xmpp"): ...`.
var lastKeyRE = regexp.MustCompile(`^toml: (?:line \d+ )?\(last key "((?:[^"\\]|\\.)*)"\): `)

// decodeProblem turns a decoder error into a Problem. Only syntax errors and
// a section of the wrong shape (e.g. `xmpp = 5`, or [transport] where
// [[transport]] is meant) can get here; leaf values never fail to decode.
func decodeProblem(err error, data []byte) Problem {
	if pe, ok := err.(toml.ParseError); ok {
		return syntaxProblem(pe, data)
	}
	msg := err.Error()
	m := lastKeyRE.FindStringSubmatch(msg)
	if m == nil {
		return Problem{Msg: strings.TrimPrefix(msg, "toml: ")}
	}
	key := strings.ReplaceAll(m[1], `\"`, `"`)
	rest := msg[len(m[0]):]
	switch {
	case strings.Contains(rest, "destination has type slice"):
		return Problem{Key: key, Msg: "must be an array of tables: write [[" + key + "]] (double brackets) for each entry"}
	case strings.Contains(rest, "string-like"): // only durations decode from text
		return Problem{Key: key, Msg: `must be a duration string such as "30s", not ` + describeMismatch(rest)}
	}
	return Problem{Key: key, Msg: "must be a table, not " + describeMismatch(rest)}
}

// syntaxProblem says where a syntax error is, quoting the offending line:
//
//	line 2: expected a newline after the value, found '5' (column 27)
//	    address = "127.0.0.1:5347" 5347
func syntaxProblem(pe toml.ParseError, data []byte) Problem {
	msg := fmt.Sprintf("line %d: %s", pe.Position.Line, pe.Message)
	if pe.Position.Col > 0 {
		msg += fmt.Sprintf(" (column %d)", pe.Position.Col)
	}
	lines := strings.Split(string(data), "\n")
	if n := pe.Position.Line; n >= 1 && n <= len(lines) {
		if text := strings.TrimRight(lines[n-1], "\r"); strings.TrimSpace(text) != "" {
			msg += "\n    " + strings.TrimSpace(text)
		}
	}
	return Problem{Msg: msg}
}

// describeMismatch extracts the TOML type from the decoder's message, or
// returns the message itself.
func describeMismatch(msg string) string {
	for _, marker := range []string{"but found ", "TOML value has type "} {
		if i := strings.Index(msg, marker); i >= 0 {
			goType := strings.TrimSpace(msg[i+len(marker):])
			if j := strings.IndexAny(goType, ";"); j >= 0 {
				goType = goType[:j]
			}
			switch goType {
			case "int64":
				return "integer"
			case "float64":
				return "float"
			case "bool":
				return "boolean"
			case "string":
				return "string"
			case "[]any", "[]map[string]any":
				return "array"
			case "map[string]any":
				return "table"
			}
			return goType
		}
	}
	return msg
}

// unknownKeys lists, in file order, the outermost keys outside [[transport]]
// tables that do not name a setting. The decoder matches struct fields
// case-insensitively; TOML keys are case-sensitive and all of Ferry's are
// lower case, so any key with an upper-case letter is unknown too.
// Keys of transport tables are checked by rawTransport itself.
func unknownKeys(md toml.MetaData) []toml.Key {
	bad := map[string]bool{}
	for _, k := range md.Undecoded() {
		bad[k.String()] = true
	}
	var out []toml.Key
	var reported []toml.Key
	for _, k := range md.Keys() {
		if len(k) > 0 && k[0] == "transport" {
			continue
		}
		if !bad[k.String()] && !hasUpper(k) {
			continue
		}
		if slices.ContainsFunc(reported, func(r toml.Key) bool { return isPrefix(r, k) }) {
			continue // inside a table already reported
		}
		reported = append(reported, k)
		out = append(out, k)
	}
	return out
}

// transportKeys are the keys of a [[transport]] table.
var transportKeys = []string{"kind", "domain", "name", "secret", "secret_file", "options"}

// tableKeys lists the keys the table at path knows, read from the raw
// form's toml tags so that the list cannot drift from what is decoded.
func tableKeys(path toml.Key) []string {
	t := reflect.TypeOf(rawConfig{})
	for _, name := range path {
		f, ok := fieldByTag(t, name)
		if !ok || f.Type.Kind() != reflect.Struct {
			return nil
		}
		t = f.Type
	}
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("toml"); tag != "" {
			keys = append(keys, tag)
		}
	}
	return keys
}

func fieldByTag(t reflect.Type, tag string) (reflect.StructField, bool) {
	if t.Kind() != reflect.Struct {
		return reflect.StructField{}, false
	}
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("toml") == tag {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

func hasUpper(k toml.Key) bool {
	for _, p := range k {
		if strings.ToLower(p) != p {
			return true
		}
	}
	return false
}

// isPrefix reports whether p is k or one of its parents.
func isPrefix(p, k toml.Key) bool {
	return len(p) <= len(k) && slices.Equal(p, k[:len(p)])
}

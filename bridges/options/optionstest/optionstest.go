// Package optionstest checks a bridge's list of option keys against its
// parser, for the bridges' tests.
package optionstest

import (
	"errors"
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/bridges/options"
)

// KnownKeys checks that parse takes every key of keys (the list behind
// "did you mean" hints), and that a typo of the first one is answered with
// it as the suggestion.
func KnownKeys(t *testing.T, keys []string, parse func(map[string]any) error) {
	t.Helper()
	for _, k := range keys {
		if msg, bad := unknown(parse(map[string]any{k: "?"}))[k]; bad {
			t.Errorf("%s is listed as an option but the parser says: %s", k, msg)
		}
	}
	typo := keys[0][:len(keys[0])-1] + "x"
	if msg := unknown(parse(map[string]any{typo: "?"}))[typo]; !strings.Contains(msg, `did you mean "`+keys[0]+`"`) {
		t.Errorf("typo %s: %q", typo, msg)
	}
}

// unknown lists the keys an options error calls unknown.
func unknown(err error) map[string]string {
	out := map[string]string{}
	var oe *options.Error
	if errors.As(err, &oe) {
		for _, p := range oe.Problems {
			if strings.HasPrefix(p.Msg, "unknown option") {
				out[p.Key] = p.Msg
			}
		}
	}
	return out
}

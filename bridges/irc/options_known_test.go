package irc

import (
	"errors"
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/bridges/options"
)

// unknownKeysIn lists the keys an options error calls unknown.
func unknownKeysIn(err error) map[string]string {
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

// The key lists behind "did you mean" name exactly what the parser takes,
// and a typo gets the right suggestion.
func TestOptionKeysKnown(t *testing.T) {
	for _, k := range optionKeys {
		_, err := parseOptions(map[string]any{k: "?"})
		if msg, bad := unknownKeysIn(err)[k]; bad {
			t.Errorf("%s is listed as an option but parseOptions says: %s", k, msg)
		}
	}
	typo := optionKeys[0][:len(optionKeys[0])-1] + "x"
	_, err := parseOptions(map[string]any{typo: "?"})
	if msg := unknownKeysIn(err)[typo]; !strings.Contains(msg, `did you mean "`+optionKeys[0]+`"`) {
		t.Errorf("typo %s: %q", typo, msg)
	}
}

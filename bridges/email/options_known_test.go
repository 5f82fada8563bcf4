package email

import (
	"testing"

	"github.com/ferry-xmpp/ferry/bridges/options/optionstest"
)

// The key lists behind "did you mean" name exactly what the parser takes.
func TestOptionKeysKnown(t *testing.T) {
	optionstest.KnownKeys(t, optionKeys, func(raw map[string]any) error {
		_, err := parseOptions(raw)
		return err
	})
}

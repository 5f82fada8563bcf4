package ircaddr

import (
	"strings"
	"testing"
)

// Errors reach users as they are (an error on the stanza, a chat from the
// gateway): they must read as sentences, without this package's name.
func TestErrorsReadAsSentences(t *testing.T) {
	m := Mapper{Domain: "irc.gw"}
	var errs []error
	for _, prompt := range []string{"", "#", "nick%", "bad\x01nick%irc.example.net", "%irc.example.net"} {
		if _, err := m.FromPrompt(prompt, "", DefaultChanTypes); err != nil {
			errs = append(errs, err)
		}
	}
	for _, local := range []string{"%", "#chan%bad server", "a\xffb%irc.example.net"} {
		if _, err := m.Parse(local, DefaultChanTypes); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) < 5 {
		t.Fatalf("expected failures, got %v", errs)
	}
	for _, err := range errs {
		if msg := err.Error(); strings.Contains(msg, "ircaddr") || strings.Contains(msg, "PRECIS") {
			t.Errorf("error shown to users: %q", msg)
		}
	}
}

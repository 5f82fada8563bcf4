package config

import (
	"errors"
	"strings"
	"testing"
)

// minimal is the smallest valid file; tests append to it or replace parts.
const minimal = `
[xmpp]
address = "127.0.0.1:5347"

[[transport]]
kind = "irc"
domain = "irc.example.org"
secret = "s3cret"
`

// problemsOf returns the problems in err, failing the test if err is not a
// *Errors.
func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want problems")
	}
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error is %T (%v), want *Errors", err, err)
	}
	return errs.Problems
}

// checkProblems compares got with want: keys must match exactly and in
// order, and each want.Msg must be a substring of the matching message.
func checkProblems(t *testing.T, err error, want []Problem) {
	t.Helper()
	got := problemsOf(t, err)
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = got[i].Key == want[i].Key && strings.Contains(got[i].Msg, want[i].Msg)
	}
	if !ok {
		t.Errorf("problems:\n%s\nwant (messages as substrings):\n%s", (&Errors{got}).Error(), (&Errors{want}).Error())
	}
}

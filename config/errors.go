package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a configuration file.
type Problem struct {
	// Key names the offending setting, for example "xmpp.address",
	// "transport[1].domain" or "admins[0]". It is empty only for TOML
	// syntax errors, whose Msg carries the line and column instead.
	Key string
	// Msg says what is wrong, in words meant for the operator.
	Msg string
}

// String formats the problem as "KEY: MSG" (just MSG when Key is empty).
func (p Problem) String() string {
	if p.Key == "" {
		return p.Msg
	}
	return p.Key + ": " + p.Msg
}

// Errors lists every problem found in a configuration file, in a stable
// order: syntax or structure errors, then unknown keys, then invalid values.
// Parse and Load return it as a *Errors.
type Errors struct {
	Problems []Problem
}

// Error joins the problems one per line as "KEY: MSG".
func (e *Errors) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// add records a problem with key.
func (e *Errors) add(key, format string, args ...any) {
	e.Problems = append(e.Problems, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// err returns e as an error when it holds problems, nil otherwise (never a
// typed nil).
func (e *Errors) err() error {
	if len(e.Problems) == 0 {
		return nil
	}
	return e
}

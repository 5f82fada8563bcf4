// Package ircident holds the rules for the values a user identifies with
// on IRC: nick, user name, real name, server password and SASL
// credentials. Registration checks them with the same function the
// connection applies before dialling, so a value that could never work is
// refused when the user types it, not stored to fail on every connect.
package ircident

import (
	"fmt"
	"strings"
)

// Field names the value a Problem is about.
type Field string

// The fields checked.
const (
	Nick         Field = "nickname"
	User         Field = "user name"
	Realname     Field = "real name"
	Password     Field = "server password"
	SASLUser     Field = "SASL account"
	SASLPassword Field = "SASL password"
	Command      Field = "command after connecting"
)

// Problem is a value no IRC server can accept. Reason is user-safe.
type Problem struct {
	Field  Field
	Reason string
}

func (p *Problem) Error() string { return fmt.Sprintf("invalid %s: %s", p.Field, p.Reason) }

// MaxNickLen bounds a nick. Servers announce their own limit (NICKLEN,
// 9 to 32 on real networks); anything past this one is no nick at all.
const MaxNickLen = 64

// maxLine is what one IRC line may hold without its CR LF (RFC 1459
// §2.3: 512 bytes with them).
const maxLine = 510

// Identity is what a connection registers with. User and Realname are as
// sent: the caller has applied its defaults (the nick) already.
type Identity struct {
	Nick, User, Realname string
	Password             string // PASS, or ""
	SASLUser, SASLPass   string // SASL PLAIN credentials, or ""
}

// Check returns the first *Problem of id, or nil.
func (id Identity) Check() error {
	if err := CheckNick(id.Nick); err != nil {
		return err
	}
	if err := checkUser(id.User, id.Realname); err != nil {
		return err
	}
	if err := checkPassword(id.Password); err != nil {
		return err
	}
	return checkSASL(id.SASLUser, id.SASLPass)
}

// CheckNick applies the nick rules of RFC 2812 §2.3.1 that every server
// shares: no separators, wildcards or prefix characters anywhere, no
// control characters, and neither a digit nor '-' first.
func CheckNick(nick string) error {
	bad := func(reason string) error { return &Problem{Field: Nick, Reason: reason} }
	switch {
	case nick == "":
		return bad("it is empty")
	case len(nick) > MaxNickLen:
		return bad(fmt.Sprintf("it is longer than %d bytes", MaxNickLen))
	case hasControl(nick):
		return bad("it contains a control character")
	case strings.ContainsAny(nick, " ,*?!@.#&:$"):
		return bad("it contains one of space , * ? ! @ . # & : $")
	case nick[0] >= '0' && nick[0] <= '9' || nick[0] == '-':
		return bad("it starts with a digit or '-'")
	}
	return nil
}

// checkUser checks the USER line: the user name is one parameter (no
// space, no '@', which separates it from the host, no leading ':'), the
// real name is free text on one line, and the whole line fits.
func checkUser(user, realname string) error {
	switch {
	case user == "":
		return &Problem{Field: User, Reason: "it is empty"}
	case hasControl(user):
		return &Problem{Field: User, Reason: "it contains a control character"}
	case strings.ContainsAny(user, " @") || user[0] == ':':
		return &Problem{Field: User, Reason: "it contains a space or '@', or starts with ':'"}
	case hasLineBreak(realname):
		return &Problem{Field: Realname, Reason: "it must be one line (no CR, LF or NUL)"}
	}
	if n := len("USER ") + len(user) + len(" 0 * :") + len(realname); n > maxLine {
		field := Realname
		if len(user) > len(realname) {
			field = User
		}
		return &Problem{Field: field, Reason: fmt.Sprintf("user name and real name together are %d bytes too long for an IRC line", n-maxLine)}
	}
	return nil
}

func checkPassword(pw string) error {
	switch {
	case hasLineBreak(pw):
		return &Problem{Field: Password, Reason: "it contains CR, LF or NUL"}
	case len("PASS :")+len(pw) > maxLine:
		return &Problem{Field: Password, Reason: "it is too long for an IRC line"}
	}
	return nil
}

// checkSASL refuses what SASL PLAIN cannot carry: its message separates
// the account from the password with NUL.
func checkSASL(user, pass string) error {
	if strings.ContainsRune(user, 0) || hasControl(user) {
		return &Problem{Field: SASLUser, Reason: "it contains a control character"}
	}
	if strings.ContainsRune(pass, 0) {
		return &Problem{Field: SASLPassword, Reason: "it contains NUL"}
	}
	return nil
}

func hasLineBreak(s string) bool { return strings.ContainsAny(s, "\r\n\x00") }

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

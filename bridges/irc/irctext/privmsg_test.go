package irctext

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/ergochat/irc-go/ircmsg"
)

func TestPrivmsgs(t *testing.T) {
	const p = "nick!user@host"
	tests := []struct {
		name                          string
		command, target, prefix, body string
		action                        bool
		want                          []string
	}{
		{"simple", "PRIVMSG", "#chan", p, "hello world", false, []string{"PRIVMSG #chan :hello world"}},
		// irc-go only adds ':' when the parameter needs it; both forms parse the same.
		{"one word", "PRIVMSG", "#chan", p, "hello", false, []string{"PRIVMSG #chan hello"}},
		{"leading colon", "PRIVMSG", "#chan", p, ":)", false, []string{"PRIVMSG #chan ::)"}},
		{"lower-case command", "notice", "bob", p, "hi there", false, []string{"NOTICE bob :hi there"}},
		{"action", "PRIVMSG", "#chan", p, "waves", true, []string{"PRIVMSG #chan :\x01ACTION waves\x01"}},
		{"multi-line action", "PRIVMSG", "#chan", p, "waves\nsmiles", true,
			[]string{"PRIVMSG #chan :\x01ACTION waves\x01", "PRIVMSG #chan :\x01ACTION smiles\x01"}},
		{"multi-line", "PRIVMSG", "bob", p, "one\r\n\r\ntwo\n", false,
			[]string{"PRIVMSG bob one", "PRIVMSG bob : ", "PRIVMSG bob two"}},
		{"CRLF injection", "PRIVMSG", "#chan", p, "hi\r\nQUIT :bye", false,
			[]string{"PRIVMSG #chan hi", "PRIVMSG #chan :QUIT :bye"}},
		{"NUL injection", "PRIVMSG", "#chan", p, "a\x00b", false, []string{"PRIVMSG #chan ab"}},
		{"CTCP forgery", "PRIVMSG", "#chan", p, "\x01VERSION\x01", false, []string{"PRIVMSG #chan VERSION"}},
		{"empty body", "PRIVMSG", "#chan", p, "", false, nil},
		{"blank body", "PRIVMSG", "#chan", p, " \n\t\n", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Privmsgs(tt.command, tt.target, tt.prefix, tt.body, tt.action)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			checkPrivmsgs(t, tt.command, tt.target, tt.prefix, tt.body, tt.action, got)
		})
	}
}

func TestPrivmsgsLong(t *testing.T) {
	word := "lorem ipsum dolor sit amet, consectetur adipiscing élit 😀 "
	body := strings.Repeat(word, 40) + "\n" + strings.Repeat("x", 1000)
	for _, prefix := range []string{"", "n!u@h", "nick!~user@" + strings.Repeat("h", 63)} {
		for _, action := range []bool{false, true} {
			got, err := Privmsgs("PRIVMSG", "#channel", prefix, body, action)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) < 4 {
				t.Errorf("prefix %q: only %d lines for %d bytes", prefix, len(got), len(body))
			}
			checkPrivmsgs(t, "PRIVMSG", "#channel", prefix, body, action, got)
		}
	}
}

func TestPrivmsgsErrors(t *testing.T) {
	tests := []struct {
		name            string
		command, target string
		want            error
	}{
		{"empty target", "PRIVMSG", "", ErrBadTarget},
		{"space", "PRIVMSG", "#a b", ErrBadTarget},
		{"CR", "PRIVMSG", "#a\r", ErrBadTarget},
		{"LF", "PRIVMSG", "#a\nQUIT", ErrBadTarget},
		{"NUL", "PRIVMSG", "#a\x00", ErrBadTarget},
		{"comma", "PRIVMSG", "#a,#b", ErrBadTarget},
		{"colon", "PRIVMSG", ":#a", ErrBadTarget},
		{"tab", "PRIVMSG", "#a\tb", ErrBadTarget},
		{"empty command", "", "#a", ErrBadCommand},
		{"command with space", "PRIVMSG #b", "#a", ErrBadCommand},
		{"command with CRLF", "PRIVMSG\r\nQUIT", "#a", ErrBadCommand},
		{"numeric command", "001", "#a", ErrBadCommand},
		{"no room", "PRIVMSG", "#" + strings.Repeat("a", 400), ErrNoRoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Privmsgs(tt.command, tt.target, "", "hello", false)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if got != nil {
				t.Errorf("lines = %q, want none", got)
			}
		})
	}
}

// checkPrivmsgs asserts everything Privmsgs promises about lines, the result
// of Privmsgs(command, target, prefix, body, action).
func checkPrivmsgs(t *testing.T, command, target, prefix, body string, action bool, lines []string) {
	t.Helper()
	prefixLen := len(prefix)
	if prefixLen == 0 {
		prefixLen = WorstCasePrefix
	}
	// A prefix we can put on the line and parse back.
	validSource := prefix != "" && prefix[0] != ':' && prefix[0] != '@' &&
		!strings.ContainsAny(prefix, " \r\n\x00")

	var texts []string
	for _, line := range lines {
		if strings.ContainsAny(line, "\r\n\x00") {
			t.Fatalf("line contains CR, LF or NUL: %q", line)
		}
		if n := 1 + prefixLen + 1 + len(line) + 2; n > MaxLine {
			t.Fatalf("relayed line is %d bytes: %q", n, line)
		}
		msg, err := ircmsg.ParseLine(line)
		if err != nil {
			t.Fatalf("ParseLine(%q): %v", line, err)
		}
		if msg.Source != "" || msg.Command != strings.ToUpper(command) ||
			len(msg.Params) != 2 || msg.Params[0] != target {
			t.Fatalf("line %q parsed as %q %q %q", line, msg.Source, msg.Command, msg.Params)
		}
		if validSource {
			relayed := ":" + prefix + " " + line + "\r\n"
			rmsg, err := ircmsg.ParseLineStrict(relayed, false, MaxLine)
			if err != nil {
				t.Fatalf("ParseLineStrict(%q): %v", relayed, err)
			}
			if rmsg.Source != prefix || !slices.Equal(rmsg.Params, msg.Params) {
				t.Fatalf("relayed %q parsed as %q %q", relayed, rmsg.Source, rmsg.Params)
			}
		}
		text := msg.Params[1]
		if action {
			cmd, args, ok := CTCP(text)
			if !ok || cmd != "ACTION" || !strings.HasPrefix(text, "\x01ACTION ") || !strings.HasSuffix(text, "\x01") {
				t.Fatalf("not a CTCP ACTION: %q", text)
			}
			text = args
		}
		if text == "" || strings.IndexByte(text, '\x01') >= 0 {
			t.Fatalf("bad text %q", text)
		}
		texts = append(texts, text)
	}

	// The chunks partition the lines of the body, in order.
	rest := texts
	for _, want := range Lines(body) {
		var got strings.Builder
		for got.Len() < len(want) && len(rest) > 0 {
			got.WriteString(rest[0])
			rest = rest[1:]
		}
		if got.String() != want {
			t.Fatalf("chunks %q do not reassemble line %q", got.String(), want)
		}
	}
	if len(rest) != 0 {
		t.Fatalf("extra chunks %q", rest)
	}

	// Independently of Lines: all visible text arrives, nothing else.
	if got, want := visible(strings.Join(texts, "")), visible(body); got != want {
		t.Fatalf("visible text %q, want %q", got, want)
	}
}

// visible is s without whitespace and without the control characters an IRC
// line must not carry from a user, i.e. what a reader must see of s.
func visible(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || (r < 0x20 && !keepControl(byte(r))) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
}

// body2K is a realistic 2 KiB paste: prose, code and some non-ASCII.
var body2K = func() string {
	para := "Ferry carries this line across — ünïcödé, emoji 😀 and `code`.\n" +
		"\tfor i := range n { fmt.Println(i) } // indented code\n\n"
	var b strings.Builder
	for b.Len() < 2048 {
		b.WriteString(para)
	}
	return ircmsg.TruncateUTF8Safe(b.String(), 2048)
}()

func BenchmarkPrivmsgs(b *testing.B) {
	b.SetBytes(int64(len(body2K)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Privmsgs("PRIVMSG", "#channel", "", body2K, false); err != nil {
			b.Fatal(err)
		}
	}
}

package irc

import (
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
)

func TestTags(t *testing.T) {
	tests := []struct {
		line, id, time string
	}{
		{"@msgid=abc;time=2026-12-07T12:00:00.123Z :bob PRIVMSG #c :hi", "irc.test/abc", "2026-12-07T12:00:00.123Z"},
		{"@time=2026-12-07T13:00:00+01:00 :bob PRIVMSG #c :hi", "", "2026-12-07T12:00:00Z"},
		{"@msgid=a\\sb;time=yesterday :bob PRIVMSG #c :hi", "", "-"},
		{"@msgid=" + strings.Repeat("x", maxMsgIDLen+1) + " :bob PRIVMSG #c :hi", "", "-"},
		{":bob PRIVMSG #c :hi", "", "-"},
	}
	for _, tt := range tests {
		m, err := ircmsg.ParseLine(tt.line)
		if err != nil {
			t.Fatal(err)
		}
		if id := messageID("irc.test", m); id != tt.id {
			t.Errorf("%s: id %q, want %q", tt.line, id, tt.id)
		}
		if at := stamp(serverTime(m)); at != tt.time {
			t.Errorf("%s: time %s, want %s", tt.line, at, tt.time)
		}
	}
}

// FuzzTags: whatever tags a server sends, the id Ferry keeps is a plain
// token of bounded length and the time a valid UTC instant.
func FuzzTags(f *testing.F) {
	f.Add("@msgid=abc;time=2026-12-07T12:00:00.123Z :bob PRIVMSG #c :hi")
	f.Add("@msgid=\\:\\s\\r\\n;time=9999-12-31T23:59:60Z :x PRIVMSG a b")
	f.Add("@time=2026-02-30T00:00:00+25:00;msgid= :x NOTICE a b")
	f.Fuzz(func(t *testing.T, line string) {
		m, err := ircmsg.ParseLineStrict(line, false, 0)
		if err != nil {
			return
		}
		if id := messageID("s", m); id != "" {
			tok := strings.TrimPrefix(id, "s/")
			if tok == id || tok == "" || len(tok) > maxMsgIDLen || strings.ContainsAny(tok, " \r\n\x00") {
				t.Fatalf("kept id %q", id)
			}
		}
		if at := serverTime(m); !at.IsZero() {
			back, err := time.Parse(time.RFC3339Nano, at.Format(time.RFC3339Nano))
			if err != nil || !back.Equal(at) || at.Location() != time.UTC {
				t.Fatalf("time %v does not round-trip: %v", at, err)
			}
		}
	})
}

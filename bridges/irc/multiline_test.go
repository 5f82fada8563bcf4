package irc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges"
)

func TestParseMultilineLimits(t *testing.T) {
	for _, tt := range []struct {
		value string
		want  multilineLimits
		ok    bool
	}{
		{"max-bytes=4096,max-lines=100", multilineLimits{4096, 100}, true},
		{"max-lines=5,max-bytes=100", multilineLimits{100, 5}, true},
		{"max-bytes=4096", multilineLimits{4096, 0}, true},
		{"max-lines=100", multilineLimits{0, 100}, false},
		{"max-bytes=-1", multilineLimits{}, false},
		{"max-bytes=lots", multilineLimits{}, false},
		{"", multilineLimits{}, false},
	} {
		got, ok := parseMultilineLimits(tt.value)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseMultilineLimits(%q) = %v %v, want %v %v", tt.value, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMultilineFromTheNetwork(t *testing.T) {
	many := []string{"@msgid=big;time=2026-01-01T00:00:00.000Z :bob!b@h BATCH +big draft/multiline #test"}
	for i := range maxMultilineLines + 10 {
		many = append(many, fmt.Sprintf("@batch=big :bob!b@h PRIVMSG #test :line %d", i))
	}
	many = append(many, ":bob!b@h BATCH -big")
	var bigText []string
	for i := range maxMultilineLines {
		bigText = append(bigText, fmt.Sprintf("line %d", i))
	}
	openMany := []string{}
	for i := range maxOpenBatches {
		openMany = append(openMany, fmt.Sprintf(":bob!b@h BATCH +o%d draft/multiline #test", i))
	}
	tests := []struct {
		name  string
		lines []string
		want  []string // after "room <room> "
	}{
		{"one message of lines", []string{
			"@msgid=ML1;time=2026-01-01T00:00:00.000Z :bob!b@h BATCH +b1 draft/multiline #test",
			"@batch=b1 :bob!b@h PRIVMSG #test :first line",
			"@batch=b1 :bob!b@h PRIVMSG #test :second ",
			"@batch=b1;draft/multiline-concat :bob!b@h PRIVMSG #test :line, continued",
			":bob!b@h BATCH -b1",
		}, []string{`<bob> "first line\nsecond line, continued" id=irc.test/ML1 time=2026-01-01T00:00:00Z echo= origin=`}},
		{"another batch type passes through", []string{
			":irc.test BATCH +h chathistory #test",
			"@batch=h;msgid=H1 :bob!b@h PRIVMSG #test :old",
			":irc.test BATCH -h",
		}, []string{`<bob> "old" id=irc.test/H1 time=- echo= origin=`}},
		{"others' lines in the batch are not part of it", []string{
			":bob!b@h BATCH +b2 draft/multiline #test",
			"@batch=b2 :bob!b@h PRIVMSG #test :mine",
			"@batch=b2 :eve!e@h PRIVMSG #test :injected",
			"@batch=b2 :bob!b@h PRIVMSG #other :elsewhere",
			":bob!b@h BATCH -b2",
		}, []string{`<bob> "mine" id= time=- echo= origin=`}},
		{"an empty batch", []string{":bob!b@h BATCH +b3 draft/multiline #test", ":bob!b@h BATCH -b3"}, nil},
		{"an end without a start", []string{":bob!b@h BATCH -nope"}, nil},
		{"a batch without a target", []string{":bob!b@h BATCH +b4 draft/multiline", "@batch=b4 :bob!b@h PRIVMSG #test :hi"},
			[]string{`<bob> "hi" id= time=- echo= origin=`}},
		{"an oversized batch is cut, with a note", many,
			[]string{fmt.Sprintf("<bob> %q id=irc.test/big time=2026-01-01T00:00:00Z echo= origin=", strings.Join(bigText, "\n")+multilineCutOff)}},
		{"too many open batches: the next one's lines arrive apart", append(openMany,
			":bob!b@h BATCH +extra draft/multiline #test",
			"@batch=extra :bob!b@h PRIVMSG #test :a",
			"@batch=extra :bob!b@h PRIVMSG #test :b",
		), []string{`<bob> "a" id= time=- echo= origin=`, `<bob> "b" id= time=- echo= origin=`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, _, rec := testNetwork(t, "message-tags", "batch", "draft/multiline=max-bytes=4096")
			room := joinedTest(n)
			for _, l := range tt.lines {
				n.serverSays(t, l)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, "room "+room+" "+w)
			}
			if got := rec.take(); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestMultilineToTheNetwork(t *testing.T) {
	long := strings.Repeat("word ", 120) // more than one IRC line
	tests := []struct {
		name   string
		caps   []string
		m      bridges.Message
		batch  bool
		concat bool
	}{
		{"lines as one batch", []string{"batch", "draft/multiline=max-bytes=4096,max-lines=10"}, bridges.Message{Body: "one\ntwo\nthree"}, true, false},
		{"a long line continued", []string{"batch", "draft/multiline=max-bytes=4096,max-lines=10"}, bridges.Message{Body: long}, true, true},
		{"more lines than the server takes", []string{"batch", "draft/multiline=max-bytes=4096,max-lines=2"}, bridges.Message{Body: "one\ntwo\nthree"}, false, false},
		{"more bytes than the server takes", []string{"batch", "draft/multiline=max-bytes=10"}, bridges.Message{Body: "one line\nanother"}, false, false},
		{"one line needs no batch", []string{"batch", "draft/multiline=max-bytes=4096"}, bridges.Message{Body: "hello"}, false, false},
		{"an action stays lines", []string{"batch", "draft/multiline=max-bytes=4096"}, bridges.Message{Body: "waves\nagain", Action: true}, false, false},
		{"no multiline", nil, bridges.Message{Body: "one\ntwo"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, srv, _ := testNetwork(t, tt.caps...)
			room := joinedTest(n)
			tt.m.Peer = room
			n.userSends(t, "#test", tt.m)
			n.userSends(t, "bob", bridges.Message{Body: "marker"})
			var got []ircmsg.Message
			for {
				m := sentLine(t, srv)
				if m.Command == "PRIVMSG" && m.Params[0] == "bob" {
					break
				}
				got = append(got, m)
			}
			opened := len(got) > 0 && got[0].Command == "BATCH"
			if opened != tt.batch {
				t.Fatalf("batch=%v, want %v: %v", opened, tt.batch, got)
			}
			if !tt.batch {
				return
			}
			ref := strings.TrimPrefix(got[0].Params[0], "+")
			last := got[len(got)-1]
			if got[0].Params[1] != "draft/multiline" || got[0].Params[2] != "#test" || last.Command != "BATCH" || last.Params[0] != "-"+ref {
				t.Fatalf("batch frame: %v … %v", got[0], last)
			}
			var text strings.Builder
			concat := false
			for i, m := range got[1 : len(got)-1] {
				if _, b := m.GetTag("batch"); b != ref || m.Command != "PRIVMSG" {
					t.Fatalf("line outside the batch: %v", m)
				}
				c, _ := m.GetTag("draft/multiline-concat")
				concat = concat || c
				if i > 0 && !c {
					text.WriteString("\n")
				}
				text.WriteString(m.Params[1])
			}
			if concat != tt.concat || text.String() != strings.TrimRight(tt.m.Body, " ") && text.String() != tt.m.Body {
				t.Errorf("batch text %q (concat %v), want %q (concat %v)", text.String(), concat, tt.m.Body, tt.concat)
			}
		})
	}
}

// FuzzClientTagsAndBatches feeds a network lines from a hostile server:
// whatever they hold, nothing panics and what is remembered stays
// bounded.
func FuzzClientTagsAndBatches(f *testing.F) {
	f.Add("@+typing=active :bob!b@h TAGMSG #test\n@+draft/reply=m1;+draft/react=x :bob!b@h TAGMSG alice")
	f.Add(":bob!b@h BATCH +a draft/multiline #test\n@batch=a :bob!b@h PRIVMSG #test :x\n@batch=a;draft/multiline-concat :bob!b@h PRIVMSG #test :y\n:bob!b@h BATCH -a")
	f.Add(":s MARKREAD #test timestamp=2026-01-01T00:00:00Z\n:s MARKREAD alice *\n:bob!b@h BATCH +")
	f.Add("@+draft/reply=m;+draft/unreact=x :bob!b@h TAGMSG #test\n@batch=zz :bob!b@h PRIVMSG #test :loose")
	// Interleaved and nested batches of several kinds, one cut by its outer batch's end.
	f.Add(":bob!b@h BATCH +a draft/multiline #test\nBATCH +s netsplit x y\n@batch=a :bob!b@h PRIVMSG #test :one\n" +
		"@batch=s :bob!b@h QUIT :x y\n@batch=s :bob!b@h BATCH +n draft/multiline #test\n@batch=n :bob!b@h PRIVMSG #test :inner\n" +
		"@batch=a;draft/multiline-concat :bob!b@h PRIVMSG #test :two\nBATCH -s\n:bob!b@h BATCH -a\n@batch=n :bob!b@h PRIVMSG #test :after")
	n, _, rec := testNetwork(f, "message-tags", "batch", "draft/multiline=max-bytes=4096", "draft/read-marker")
	joinedTest(n)
	f.Fuzz(func(t *testing.T, input string) {
		for _, line := range strings.Split(input, "\n") {
			m, err := ircmsg.ParseLineStrict(line, false, 0)
			if err != nil {
				continue
			}
			n.handleLine(m)
		}
		rec.take()
		n.mu.Lock()
		defer n.mu.Unlock()
		if len(n.batches) > maxOpenBatches || len(n.v3.reacts.sets) > maxReactionSets || len(n.v3.readMarks) > maxReadMarks {
			t.Fatalf("unbounded: %d batches, %d reaction sets, %d read marks", len(n.batches), len(n.v3.reacts.sets), len(n.v3.readMarks))
		}
		for _, b := range n.batches {
			if b.parent != nil && n.batches[b.parent.ref] != b.parent {
				t.Fatalf("batch %q open inside %q, which ended", b.ref, b.parent.ref)
			}
			if ml, ok := b.kind.(*multilineBatch); ok && (ml.lines > maxMultilineLines || ml.text.Len() > maxMultilineBytes) {
				t.Fatalf("a batch holds %d lines, %d bytes", ml.lines, ml.text.Len())
			}
		}
	})
}

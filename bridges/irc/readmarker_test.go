package irc

import (
	"context"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircaddr"
)

func (r *record) MarkedRead(c bridges.Conversation, at time.Time, lastID string) {
	r.add("read %s %s last=%s", c.Peer, stamp(at), lastID)
}

func TestMarkReadFromTheServer(t *testing.T) {
	n, _, rec := testNetwork(t, "draft/read-marker")
	room := joinedTest(n)
	bob := n.local(ircaddr.User, "bob")
	for _, tt := range []struct{ name, line, want string }{
		{"a channel", ":irc.test MARKREAD #test timestamp=2026-01-02T03:04:05.678Z", "read " + room + " 2026-01-02T03:04:05.678Z last="},
		{"a person, nothing heard from them", ":irc.test MARKREAD bob timestamp=2026-01-02T03:04:05.000Z", "read " + bob + " 2026-01-02T03:04:05Z last="},
		{"their message", "@msgid=p1;time=2026-01-02T03:04:00.000Z :bob!b@h PRIVMSG alice :hi", "receive " + bob + ` "hi" id=irc.test/p1 time=2026-01-02T03:04:00Z`},
		{"read up to it", ":irc.test MARKREAD bob timestamp=2026-01-02T03:04:01.000Z", "read " + bob + " 2026-01-02T03:04:01Z last=irc.test/p1"},
		{"read up to before it", ":irc.test MARKREAD bob timestamp=2026-01-02T03:03:59.000Z", "read " + bob + " 2026-01-02T03:03:59Z last="},
		{"nothing read yet", ":irc.test MARKREAD #test *", ""},
		{"a bad time", ":irc.test MARKREAD #test timestamp=yesterday", ""},
		{"no value", ":irc.test MARKREAD #test", ""},
		{"a channel we are not in", ":irc.test MARKREAD #other timestamp=2026-01-02T03:04:05.678Z", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n.serverSays(t, tt.line)
			got := rec.take()
			if tt.want == "" && len(got) != 0 || tt.want != "" && (len(got) != 1 || got[0] != tt.want) {
				t.Errorf("events %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMarkRead(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 678000000, time.UTC)
	for _, tt := range []struct {
		name string
		caps []string
		at   []time.Time
		want []string
	}{
		{"forward only", []string{"draft/read-marker"}, []time.Time{t0, t0, t0.Add(-time.Second), t0.Add(time.Second)},
			[]string{"MARKREAD #test timestamp=2026-01-02T03:04:05.678Z", "MARKREAD #test timestamp=2026-01-02T03:04:06.678Z"}},
		{"a server without read marks", nil, []time.Time{t0}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n, srv, _ := testNetwork(t, tt.caps...)
			room := joinedTest(n)
			for _, at := range tt.at {
				if err := n.s.MarkRead(context.Background(), bridges.Conversation{Peer: room}, at); err != nil {
					t.Fatal(err)
				}
			}
			n.userSends(t, "bob", bridges.Message{Body: "marker"})
			for _, want := range append(tt.want, "PRIVMSG bob marker") {
				if got := srv.readLine(); got != want {
					t.Fatalf("sent %q, want %q", got, want)
				}
			}
		})
	}
}

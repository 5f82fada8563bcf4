package irc

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircaddr"
)

func (r *record) ChatState(c bridges.Conversation, s bridges.ChatState) {
	r.add("typing %s <%s> %s", c.Peer, c.Nick, s)
}

func (r *record) Reactions(c bridges.Conversation, id string, reactions []string) {
	r.add("reactions %s <%s> id=%s %q", c.Peer, c.Nick, id, reactions)
}

// joinedTest makes the network joined to #test and returns its room.
func joinedTest(n *network) string {
	local := n.local(ircaddr.Channel, "#test")
	n.channels.Set("#test", &channel{name: "#test", local: local, members: memberList(map[string]string{"bob": ""}), joined: true})
	n.s.networks[n.server] = n
	return local
}

func TestTagMsgFromTheNetwork(t *testing.T) {
	n, _, rec := testNetwork(t, "message-tags")
	room := joinedTest(n)
	bob := n.local(ircaddr.User, "bob")
	long := strings.Repeat("x", maxReactionBytes+1)
	tests := []struct {
		name string
		line string
		want []string
	}{
		{"typing in a channel", "@+typing=active :bob!b@h TAGMSG #test", []string{"typing " + room + " <bob> composing"}},
		{"paused", "@+typing=paused :bob!b@h TAGMSG #test", []string{"typing " + room + " <bob> paused"}},
		{"done", "@+typing=done :bob!b@h TAGMSG #test", []string{"typing " + room + " <bob> active"}},
		{"typing to us", "@+typing=active :bob!b@h TAGMSG alice", []string{"typing " + bob + " <> composing"}},
		{"an unknown typing value", "@+typing=dancing :bob!b@h TAGMSG #test", nil},
		{"a channel not joined", "@+typing=active :bob!b@h TAGMSG #other", nil},
		{"our own echo", "@+typing=active :alice!a@h TAGMSG #test", nil},
		{"from the server", "@+typing=active :irc.test TAGMSG #test", nil},
		{"a reaction", "@+draft/reply=m1;+draft/react=👍 :bob!b@h TAGMSG #test",
			[]string{"reactions " + room + ` <bob> id=irc.test/m1 ["👍"]`}},
		{"a second reaction adds to the set", "@+draft/reply=m1;+draft/react=🎉 :bob!b@h TAGMSG #test",
			[]string{"reactions " + room + ` <bob> id=irc.test/m1 ["👍" "🎉"]`}},
		{"the same reaction again", "@+draft/reply=m1;+draft/react=🎉 :bob!b@h TAGMSG #test",
			[]string{"reactions " + room + ` <bob> id=irc.test/m1 ["👍" "🎉"]`}},
		{"taken back", "@+draft/reply=m1;+draft/unreact=👍 :bob!b@h TAGMSG #test",
			[]string{"reactions " + room + ` <bob> id=irc.test/m1 ["🎉"]`}},
		{"a reaction in a chat", "@+draft/reply=p1;+draft/react=ok :bob!b@h TAGMSG alice",
			[]string{"reactions " + bob + ` <> id=irc.test/p1 ["ok"]`}},
		{"a reaction to nothing", "@+draft/react=👍 :bob!b@h TAGMSG #test", nil},
		{"a reaction to a bad id", "@+draft/reply=" + strings.Repeat("i", maxMsgIDLen+1) + ";+draft/react=👍 :bob!b@h TAGMSG #test", nil},
		{"an oversized reaction", "@+draft/reply=m1;+draft/react=" + long + " :bob!b@h TAGMSG #test", nil},
		{"an empty reaction", "@+draft/reply=m1;+draft/react= :bob!b@h TAGMSG #test", nil},
		{"unknown tags", "@+example.com/x=1;+draft/reply=m1 :bob!b@h TAGMSG #test", nil},
		{"no target", "@+typing=active :bob!b@h TAGMSG", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n.serverSays(t, tt.line)
			if got := rec.take(); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("events %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReactionsAreBounded(t *testing.T) {
	var r reactionSets
	for i := range maxReactionSets + 10 {
		r.change(reactionKey{target: "#t", msgid: string(rune('a' + i%26)), nick: strings.Repeat("n", i%50+1)}, "👍", "")
	}
	if len(r.sets) > maxReactionSets || len(r.order) > maxReactionSets {
		t.Errorf("%d sets, %d in order: more than %d", len(r.sets), len(r.order), maxReactionSets)
	}
	key := reactionKey{target: "#t", msgid: "x"}
	var set []string
	for i := range maxReactionsPerSet + 5 {
		set = r.change(key, string(rune('A'+i)), "")
	}
	if len(set) != maxReactionsPerSet {
		t.Errorf("one person's set grew to %d", len(set))
	}
}

// sentTags reads the next line the fake server got, as a message.
func sentLine(t *testing.T, srv *fakeIRC) ircmsg.Message {
	t.Helper()
	m, err := ircmsg.ParseLine(srv.readLine())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSendChatState(t *testing.T) {
	for _, tt := range []struct {
		name string
		caps []string
		conv func(room string) bridges.Conversation
		st   bridges.ChatState
		want string // the TAGMSG line; "" none
	}{
		{"composing in a room", []string{"message-tags"}, func(r string) bridges.Conversation { return bridges.Conversation{Peer: r} }, bridges.Composing, "@+typing=active TAGMSG #test"},
		{"paused to an occupant", []string{"message-tags"}, func(r string) bridges.Conversation { return bridges.Conversation{Peer: r, Nick: "bob"} }, bridges.Paused, "@+typing=paused TAGMSG bob"},
		{"done to a person", []string{"message-tags"}, func(string) bridges.Conversation { return bridges.Conversation{Peer: "bob%irc.test"} }, bridges.Active, "@+typing=done TAGMSG bob"},
		{"a room not joined", []string{"message-tags"}, func(string) bridges.Conversation { return bridges.Conversation{Peer: "#nope%irc.test"} }, bridges.Composing, ""},
		{"no message-tags", nil, func(r string) bridges.Conversation { return bridges.Conversation{Peer: r} }, bridges.Composing, ""},
		{"a server not connected", []string{"message-tags"}, func(string) bridges.Conversation { return bridges.Conversation{Peer: "#test%other.test"} }, bridges.Composing, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n, srv, _ := testNetwork(t, tt.caps...)
			room := joinedTest(n)
			if err := n.s.SendChatState(context.Background(), tt.conv(room), tt.st); err != nil {
				t.Fatalf("SendChatState: %v", err)
			}
			n.userSends(t, "bob", bridges.Message{Body: "marker"})
			if got := srv.readLine(); tt.want != "" && got != tt.want {
				t.Fatalf("sent %q, want %q", got, tt.want)
			} else if tt.want == "" && got != "PRIVMSG bob marker" {
				t.Fatalf("sent %q, want nothing before the marker", got)
			}
		})
	}
}

func TestReact(t *testing.T) {
	n, srv, _ := testNetwork(t, "message-tags")
	room := joinedTest(n)
	conv := bridges.Conversation{Peer: room}
	steps := []struct {
		set  []string
		want []string // react or unreact tag values, in order
	}{
		{[]string{"👍"}, []string{"react 👍"}},
		{[]string{"👍", "🎉"}, []string{"react 🎉"}},
		{[]string{"🎉"}, []string{"unreact 👍"}},
		{nil, []string{"unreact 🎉"}},
	}
	for _, s := range steps {
		if err := n.s.React(context.Background(), conv, "irc.test/m1", s.set); err != nil {
			t.Fatalf("React(%q): %v", s.set, err)
		}
		for _, want := range s.want {
			m := sentLine(t, srv)
			_, reply := m.GetTag("+draft/reply")
			kind, value, _ := strings.Cut(want, " ")
			_, got := m.GetTag("+draft/" + kind)
			if m.Command != "TAGMSG" || m.Params[0] != "#test" || reply != "m1" || got != value {
				t.Fatalf("set %q: sent %v %v %v, want %s", s.set, m.AllTags(), m.Command, m.Params, want)
			}
		}
	}

	var be *bridges.Error
	err := n.s.React(context.Background(), conv, "2abcdefg", []string{"👍"})
	if !errors.As(err, &be) || be.Condition != bridges.ItemNotFound {
		t.Errorf("a reaction to a message without a network id: %v, want item-not-found", err)
	}
	err = n.s.React(context.Background(), conv, "other.test/m1", []string{"👍"})
	if !errors.As(err, &be) || be.Condition != bridges.ItemNotFound {
		t.Errorf("a reaction to another server's message: %v, want item-not-found", err)
	}

	plain, _, _ := testNetwork(t)
	room = joinedTest(plain)
	err = plain.s.React(context.Background(), bridges.Conversation{Peer: room}, "irc.test/m1", []string{"👍"})
	if !errors.As(err, &be) || be.Condition != "feature-not-implemented" {
		t.Errorf("a reaction without message-tags: %v, want feature-not-implemented", err)
	}
}

func TestSendReply(t *testing.T) {
	for _, tt := range []struct {
		name  string
		caps  []string
		reply string
		want  []string
	}{
		{"carried as a tag", []string{"message-tags"}, "irc.test/m1", []string{"@+draft/reply=m1 PRIVMSG #test :thanks bob"}},
		{"no message-tags: the quote", nil, "irc.test/m1", []string{"PRIVMSG #test :> bob: hi", "PRIVMSG #test :thanks bob"}},
		{"an id of no server: the quote", []string{"message-tags"}, "2abcdefg", []string{"PRIVMSG #test :> bob: hi", "PRIVMSG #test :thanks bob"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n, srv, _ := testNetwork(t, tt.caps...)
			room := joinedTest(n)
			n.userSends(t, "#test", bridges.Message{Peer: room, Body: "thanks bob", ReplyTo: tt.reply, Fallback: "> bob: hi\nthanks bob"})
			for _, want := range tt.want {
				if got := srv.readLine(); got != want {
					t.Fatalf("sent %q, want %q", got, want)
				}
			}
		})
	}
}

func TestReplyID(t *testing.T) {
	for _, tt := range []struct{ line, want string }{
		{"@+draft/reply=abc :bob!b@h PRIVMSG #test :yes", "irc.test/abc"},
		{":bob!b@h PRIVMSG #test :yes", ""},
		{"@+draft/reply= :bob!b@h PRIVMSG #test :yes", ""},
		{"@+draft/reply=a\\sb :bob!b@h PRIVMSG #test :yes", ""},
		{"@+draft/reply=" + strings.Repeat("x", maxMsgIDLen+1) + " :bob!b@h PRIVMSG #test :yes", ""},
	} {
		m, err := ircmsg.ParseLine(tt.line)
		if err != nil {
			t.Fatal(err)
		}
		if got := replyID("irc.test", m); got != tt.want {
			t.Errorf("replyID(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

// A refusal of typing (the nick is gone) is not shown to the user; the
// same refusal of a message still is.
func TestTypingRefusalIsQuiet(t *testing.T) {
	n, srv, rec := testNetwork(t, "message-tags", "echo-message")
	joinedTest(n)
	if err := n.s.SendChatState(context.Background(), bridges.Conversation{Peer: "gone%irc.test"}, bridges.Composing); err != nil {
		t.Fatal(err)
	}
	if got := srv.readLine(); got != "@+typing=active TAGMSG gone" {
		t.Fatalf("sent %q", got)
	}
	n.serverSays(t, ":irc.test 401 alice gone :No such nick")
	if got := rec.take(); len(got) != 0 {
		t.Errorf("typing's refusal reached the user: %q", got)
	}
	n.serverSays(t, ":irc.test 401 alice other :No such nick")
	if got := rec.take(); len(got) != 1 || !strings.Contains(got[0], "No such nick") {
		t.Errorf("another refusal: %q, want it shown", got)
	}
}

package component

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/testbridge"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

func TestTypingLimiter(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	room, bob := bridges.Conversation{Peer: "#a%irc"}, bridges.Conversation{Peer: "bob%irc"}
	type step struct {
		c    bridges.Conversation
		s    bridges.ChatState
		at   time.Duration
		sent bool // "ended" when s is ""
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a flood of composing costs one every 3 s", []step{
			{room, bridges.Composing, 0, true},
			{room, bridges.Composing, 100 * time.Millisecond, false},
			{room, bridges.Composing, 2900 * time.Millisecond, false},
			{room, bridges.Composing, 3 * time.Second, true},
			{room, bridges.Composing, 4 * time.Second, false},
		}},
		{"paused and active end announced typing once", []step{
			{room, bridges.Composing, 0, true},
			{room, bridges.Paused, time.Second, true},
			{room, bridges.Paused, 2 * time.Second, false},
			{room, bridges.Composing, 2500 * time.Millisecond, true},
			{room, bridges.Active, 3 * time.Second, true},
			{room, bridges.Active, 4 * time.Second, false},
		}},
		{"nothing announced: nothing to end", []step{
			{room, bridges.Active, 0, false},
			{room, bridges.Paused, 0, false},
		}},
		{"conversations are apart", []step{
			{room, bridges.Composing, 0, true},
			{bob, bridges.Composing, 0, true},
			{room, bridges.Composing, time.Second, false},
		}},
		{"a sent message ends typing", []step{
			{room, bridges.Composing, 0, true},
			{room, "", time.Second, false},
			{room, bridges.Composing, 1500 * time.Millisecond, true},
			{room, "", 2 * time.Second, false},
			{room, bridges.Active, 2 * time.Second, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := typingLimiter{}
			for i, s := range tt.steps {
				if s.s == "" {
					l.ended(s.c)
					continue
				}
				if got := l.allow(s.c, s.s, t0.Add(s.at)); got != s.sent {
					t.Fatalf("step %d (%s %s at %v): sent=%v, want %v", i, s.c.Peer, s.s, s.at, got, s.sent)
				}
			}
		})
	}
}

func TestTypingLimiterIsBounded(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := typingLimiter{}
	for i := range maxTyping + 10 {
		l.allow(bridges.Conversation{Peer: strings.Repeat("p", i+1)}, bridges.Composing, t0)
	}
	if len(l) > maxTyping {
		t.Fatalf("%d conversations kept", len(l))
	}
	if !l.allow(bridges.Conversation{Peer: "late"}, bridges.Composing, t0.Add(2*typingForget)) {
		t.Error("old states were not forgotten to make room")
	}
}

func TestChatState(t *testing.T) {
	for _, tt := range []struct {
		xml  string
		want bridges.ChatState
		ok   bool
	}{
		{`<message><composing xmlns="http://jabber.org/protocol/chatstates"/></message>`, bridges.Composing, true},
		{`<message><paused xmlns="http://jabber.org/protocol/chatstates"/></message>`, bridges.Paused, true},
		{`<message><inactive xmlns="http://jabber.org/protocol/chatstates"/></message>`, bridges.Active, true},
		{`<message><gone xmlns="http://jabber.org/protocol/chatstates"/></message>`, bridges.Active, true},
		{`<message><dancing xmlns="http://jabber.org/protocol/chatstates"/></message>`, "", false},
		{`<message><composing xmlns="urn:example"/></message>`, "", false},
	} {
		n := mustParse(t, tt.xml)
		if got, ok := chatState(n); got != tt.want || ok != tt.ok {
			t.Errorf("chatState(%s) = %q %v, want %q %v", tt.xml, got, ok, tt.want, tt.ok)
		}
	}
}

func mustParse(t *testing.T, s string) *xmlnode.Node {
	t.Helper()
	n, err := xmlnode.Parse([]byte(s))
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return n
}

func TestReplyOf(t *testing.T) {
	const reply = `<reply xmlns="urn:xmpp:reply:0" to="r@g/bob" id="s1"/>`
	fb := func(start, end string) string {
		return `<fallback xmlns="urn:xmpp:fallback:0" for="urn:xmpp:reply:0"><body start="` + start + `" end="` + end + `"/></fallback>`
	}
	body := "> bob: héllo\nyes!"
	for _, tt := range []struct {
		name, extra, id, rest string
	}{
		{"no reply", "", "", body},
		{"the quote stripped (code points)", reply + fb("0", "13"), "s1", "yes!"},
		{"no fallback", reply, "s1", body},
		{"a fallback for something else", reply + `<fallback xmlns="urn:xmpp:fallback:0" for="urn:xmpp:reactions:0"><body start="0" end="4"/></fallback>`, "s1", body},
		{"end beyond the body", reply + fb("0", "99"), "s1", body},
		{"end before start", reply + fb("5", "2"), "s1", body},
		{"not numbers", reply + fb("a", "b"), "s1", body},
		{"negative", reply + fb("-1", "3"), "s1", body},
		{"the whole body", reply + fb("0", "17"), "s1", ""},
		{"a reply without id", `<reply xmlns="urn:xmpp:reply:0"/>` + fb("0", "13"), "", body},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := mustParse(t, `<message><body>`+body+`</body>`+tt.extra+`</message>`)
			id, rest := replyOf(n, body)
			if id != tt.id || rest != tt.rest {
				t.Errorf("replyOf = %q %q, want %q %q", id, rest, tt.id, tt.rest)
			}
		})
	}
}

func TestReactionSet(t *testing.T) {
	r := func(inner string) string {
		return `<reactions xmlns="urn:xmpp:reactions:0" id="s1">` + inner + `</reactions>`
	}
	many := strings.Repeat("<reaction>a</reaction>", 5)
	for i := range maxReactions + 1 {
		many += "<reaction>" + strings.Repeat("b", i+1) + "</reaction>"
	}
	for _, tt := range []struct {
		name, xml string
		set       []string
		cond      bridges.Condition
	}{
		{"one", r(`<reaction>👍</reaction>`), []string{"👍"}, ""},
		{"repeats and blanks dropped", r(`<reaction>👍</reaction><reaction> </reaction><reaction>👍</reaction><reaction>🎉</reaction>`), []string{"👍", "🎉"}, ""},
		{"none: all taken back", r(""), nil, ""},
		{"no id", `<reactions xmlns="urn:xmpp:reactions:0"><reaction>👍</reaction></reactions>`, nil, bridges.BadRequest},
		{"too long", r("<reaction>" + strings.Repeat("x", maxReactionLen+1) + "</reaction>"), nil, bridges.NotAcceptable},
		{"two lines", r("<reaction>a\nb</reaction>"), nil, bridges.NotAcceptable},
		{"too many", r(many), nil, bridges.NotAcceptable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id, set, err := reactionSet(mustParse(t, tt.xml))
			var be *bridges.Error
			switch {
			case tt.cond != "" && (!errors.As(err, &be) || be.Condition != tt.cond):
				t.Fatalf("err %v, want %s", err, tt.cond)
			case tt.cond == "" && (err != nil || id != "s1" || strings.Join(set, " ") != strings.Join(tt.set, " ")):
				t.Fatalf("reactionSet = %q %q %v, want s1 %q", id, set, err, tt.set)
			}
		})
	}
}

// What the network reports of typing, reactions, replies and read marks
// reaches the user as XEP-0085, XEP-0444, XEP-0461 and XEP-0333.
func TestSignalsFromTheNetwork(t *testing.T) {
	net := testbridge.NewNetwork()
	srv, _ := startTransportOn(t, net)
	sess := registerAlice(t, srv, net)
	srv.inject(`<presence from="u@x.test/r" to="#sig@gw.test/alice"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	waitFor(t, "the join", func() bool { joins, _ := sess.Counts(); return joins == 1 })
	ev := sess.Events()
	sig := ev.(bridges.SignalEvents)
	self := bridges.Occupant{Nick: "alice", Role: "participant", Affiliation: "none"}
	ev.RoomJoined("#sig", self, []bridges.Occupant{self}, "", "")
	srv.next(func(n *xmlnode.Node) bool { return n.Child("", "subject") != nil })
	ev.RoomMessage("#sig", "bob", bridges.Message{ID: "net/m1", Body: "first"})
	srv.next(func(n *xmlnode.Node) bool { return n.ChildText("", "body") == "first" })

	const room, bob = "#sig@gw.test", "bob@gw.test"
	tests := []struct {
		name  string
		event func()
		want  func(n *xmlnode.Node) bool
	}{
		{"typing in the room", func() { sig.ChatState(bridges.Conversation{Peer: "#sig", Nick: "bob"}, bridges.Composing) },
			func(n *xmlnode.Node) bool {
				return n.Attr("from") == room+"/bob" && n.Attr("type") == "groupchat" && n.Child(nsChatState, "composing") != nil &&
					n.Child(nsHints, "no-store") != nil && n.Child("", "body") == nil
			}},
		{"typing in a chat", func() { sig.ChatState(bridges.Conversation{Peer: "bob"}, bridges.Paused) },
			func(n *xmlnode.Node) bool {
				return n.Attr("from") == bob && n.Attr("type") == "chat" && n.Child(nsChatState, "paused") != nil
			}},
		{"reactions in the room", func() {
			sig.Reactions(bridges.Conversation{Peer: "#sig", Nick: "bob"}, "net/m1", []string{"👍", "🎉"})
		},
			func(n *xmlnode.Node) bool {
				r := n.Child(nsReactions, "reactions")
				return n.Attr("from") == room+"/bob" && r.Attr("id") == "net/m1" && len(r.ChildrenNamed(nsReactions, "reaction")) == 2
			}},
		{"a reply in the room", func() { ev.RoomMessage("#sig", "bob", bridges.Message{ID: "net/m2", Body: "yes", ReplyTo: "net/m1"}) },
			func(n *xmlnode.Node) bool {
				return n.ChildText("", "body") == "yes" && n.Child(nsReply, "reply").Attr("id") == "net/m1"
			}},
		{"the network's read mark", func() {
			sig.(bridges.ReadEvents).MarkedRead(bridges.Conversation{Peer: "#sig"}, time.Now().Add(time.Hour), "")
		}, func(n *xmlnode.Node) bool {
			return n.Attr("from") == room+"/alice" && n.Child(nsMarkers, "displayed").Attr("id") == "net/m2"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.event()
			srv.next(func(n *xmlnode.Node) bool { return n.Local == "message" && tt.want(n) })
		})
	}
}

// A read mark of a chat made on the network shows on the user's clients
// as their own displayed marker of the message Ferry delivered (a sent
// carbon, through the XEP-0356 message permission).
func TestChatReadMarkIsACarbon(t *testing.T) {
	net := testbridge.NewNetwork()
	srv, _ := startTransportOn(t, net)
	srv.inject(`<message from="x.test" to="gw.test"><privilege xmlns="urn:xmpp:privilege:2"><perm access="message" type="outgoing"/></privilege></message>`)
	sess := registerAlice(t, srv, net)
	if err := sess.Inject(context.Background(), bridges.Message{ID: "net/p1", Peer: "bob", Body: "psst"}); err != nil {
		t.Fatal(err)
	}
	psst := srv.next(func(n *xmlnode.Node) bool { return n.ChildText("", "body") == "psst" })
	read := sess.Events().(bridges.ReadEvents)
	read.MarkedRead(bridges.Conversation{Peer: "bob"}, time.Now(), "net/unknown") // never delivered: nothing
	read.MarkedRead(bridges.Conversation{Peer: "bob"}, time.Now(), "net/p1")
	n := srv.next(func(n *xmlnode.Node) bool { return n.Child(nsPrivilege2, "privilege") != nil })
	inner := n.Child(nsPrivilege2, "privilege").Child(nsForward, "forwarded").Child(nsClient, "message").
		Child(nsCarbons, "sent").Child(nsForward, "forwarded").Child(nsClient, "message")
	if inner.Attr("from") != "u@x.test" || inner.Attr("to") != "bob@gw.test" || inner.Child(nsMarkers, "displayed").Attr("id") != psst.Attr("id") {
		t.Errorf("read mark carbon: %s", n)
	}
}

// Rooms advertise typing, reactions, replies and displayed markers only
// on a bridge that carries them, so clients send them only there.
func TestSignalFeatures(t *testing.T) {
	for _, signals := range []bool{true, false} {
		tr := &Transport{desc: bridges.Descriptor{Signals: signals}}
		got := map[string]bool{}
		for _, f := range tr.roomInfo("#a").ChildrenNamed(nsDiscoInfo, "feature") {
			got[f.Attr("var")] = true
		}
		for _, f := range []string{nsChatState, nsReactions, nsReply, nsMarkers} {
			if got[f] != signals {
				t.Errorf("signals=%v: feature %s advertised=%v", signals, f, got[f])
			}
		}
	}
}

package irc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircconn"
	"github.com/ferry-xmpp/ferry/bridges/irc/irctext"
)

func TestSentLogAnswersTheOldestSendToATarget(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	msg := func(id string) bridges.Message { return bridges.Message{ID: id} }
	type op struct {
		add    string // "target id lines"; or
		answer string // target, expecting want ("" none) and complete
		want   string
		done   bool
	}
	tests := []struct {
		name   string
		newest bool
		ops    []op
	}{
		{"one line each, in order", false, []op{
			{add: "bob a 1"}, {add: "bob b 1"}, {add: "carol c 1"},
			{answer: "bob", want: "a", done: true},
			{answer: "carol", want: "c", done: true},
			{answer: "bob", want: "b", done: true},
			{answer: "bob", want: ""},
		}},
		{"a split message takes one answer per line", false, []op{
			{add: "bob a 3"}, {add: "bob b 1"},
			{answer: "bob", want: "a"}, {answer: "bob", want: "a"},
			{answer: "bob", want: "a", done: true},
			{answer: "bob", want: "b", done: true},
		}},
		{"without echoes the newest is refused", true, []op{
			{add: "bob a 1"}, {add: "bob b 2"}, {add: "carol c 1"},
			{answer: "bob", want: "b"}, {answer: "bob", want: "b", done: true},
			{answer: "bob", want: "a", done: true},
		}},
		{"other targets are not answered", false, []op{
			{add: "bob a 1"}, {answer: "dave", want: ""}, {answer: "bob", want: "a", done: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l sentLog
			for _, o := range tt.ops {
				if o.add != "" {
					f := strings.Fields(o.add)
					l.add(f[0], msg(f[1]), int(f[2][0]-'0'), t0)
					continue
				}
				s, done := l.answer(o.answer, tt.newest)
				got := ""
				if s != nil {
					got = s.msg.ID
				}
				if got != o.want || done != o.done {
					t.Fatalf("answer(%s) = %q complete=%v, want %q complete=%v", o.answer, got, done, o.want, o.done)
				}
			}
		})
	}
}

func TestSentLogIsBounded(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var l sentLog
	for i := range maxSent {
		if ev := l.add("bob", bridges.Message{ID: string(rune('a' + i%26))}, 1, t0.Add(time.Duration(i)*time.Second)); ev != nil {
			t.Fatalf("evicted %q with %d sends", ev.msg.ID, i)
		}
	}
	ev := l.add("bob", bridges.Message{ID: "new"}, 1, t0.Add(maxSent*time.Second))
	if ev == nil || ev.msg.ID != "a" || len(l.list) != maxSent {
		t.Fatalf("evicted %v, %d kept; want the oldest out and %d kept", ev, len(l.list), maxSent)
	}
	gone := l.expire(t0.Add(replyWindow+3*time.Second), replyWindow)
	if len(gone) != 2 || gone[0].msg.ID != "b" || gone[1].msg.ID != "c" {
		t.Fatalf("expired %d sends, want the two older than the window", len(gone))
	}
	if got := len(l.drain()); got != maxSent-2 || len(l.list) != 0 {
		t.Fatalf("drained %d, %d left", got, len(l.list))
	}
}

// TestRefusalBecomesAnErrorOnTheMessage: "no such nick", "cannot send to
// channel" and friends come back as an error on the message that caused
// them, from the address it was sent to, with the server's text; each
// send is answered once however many lines it took.
func TestRefusalBecomesAnErrorOnTheMessage(t *testing.T) {
	n, _, rec := testNetwork(t)
	to := func(peer, id, body string) bridges.Message {
		return bridges.Message{Peer: peer, ID: id, Sender: "alice@x/phone", Body: body}
	}
	n.userSends(t, "#quiet", to("#quiet%irc.test", "m0", "hello all"))
	n.userSends(t, "nobody", to("nobody%irc.test", "m1", "hello?"))
	n.userSends(t, "bob", to("bob%irc.test", "m2", "hi bob"))
	n.userSends(t, "nobody", to("nobody%irc.test", "m3", strings.Repeat("long ", 200)))
	n.userSends(t, "#quiet", to("#quiet%irc.test", "m4", "may I speak?"))

	// Without echo-message, m0 and m2 were taken silently; the refusals
	// go to the newest sends first, one per line.
	lines, err := irctext.Privmsgs("PRIVMSG", "nobody", "", strings.Repeat("long ", 200), false)
	if err != nil || len(lines) < 2 {
		t.Fatalf("m3 is %d lines (%v), want several", len(lines), err)
	}
	n.serverSays(t, ":srv 401 alice nobody :No such nick or channel name")
	n.serverSays(t, ":srv 404 alice #quiet :Cannot send to channel")
	for range lines { // m3's other lines, then m1
		n.serverSays(t, ":srv 401 alice nobody :No such nick or channel name")
	}
	n.serverSays(t, ":srv 401 alice stranger :No such nick or channel name")
	want := []string{
		`room #quiet%irc.test <alice> "hello all" id= time=- echo=m0 origin=`, // reflections, as the lines were queued
		`room #quiet%irc.test <alice> "may I speak?" id= time=- echo=m4 origin=`,
		`failed nobody%irc.test id=m3 to=alice@x/phone item-not-found "No such nick or channel name"`,
		`failed #quiet%irc.test id=m4 to=alice@x/phone forbidden "Cannot send to channel"`,
		`failed nobody%irc.test id=m1 to=alice@x/phone item-not-found "No such nick or channel name"`,
		`receive irc.test "stranger: No such nick or channel name" id= time=-`,
	}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestJoinRefusalIsNotAMessageRefusal: a 403 for a channel being joined
// fails the join, not a message queued for it.
func TestJoinRefusalIsNotAMessageRefusal(t *testing.T) {
	n, _, rec := testNetwork(t)
	n.userSends(t, "#gone", bridges.Message{Peer: "#gone%irc.test", ID: "m1", Body: "hi"})
	n.channels.Set(n.fold("#new"), &channel{name: "#new", local: "#new%irc.test", members: memberList(nil)})
	n.serverSays(t, ":srv 403 alice #new :No such channel")
	n.serverSays(t, ":srv 403 alice #gone :No such channel")
	want := []string{
		`room #gone%irc.test <alice> "hi" id= time=- echo=m1 origin=`,
		`join failed #new%irc.test item-not-found "No such channel"`,
		`failed #gone%irc.test id=m1 to= item-not-found "No such channel"`,
	}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestEchoIsTheReflection: on a server with echo-message, a room message
// is reflected when the server echoes it, once, with the client's id and
// origin-id and the server's msgid and time; what the user sent from
// elsewhere shows as theirs; a refusal or a lost connection fails the
// message instead.
func TestEchoIsTheReflection(t *testing.T) {
	n, _, rec := testNetwork(t, "echo-message", "server-time", "message-tags")
	if !n.echoing() {
		t.Fatal("echo-message not acknowledged")
	}
	room := func(id, body string) bridges.Message {
		return bridges.Message{Peer: "#c%irc.test", ID: id, OriginID: "o-" + id, Sender: "alice@x/pc", Body: body}
	}
	long := strings.Repeat("word ", 150)
	lines, _ := irctext.Privmsgs("PRIVMSG", "#c", "", long, false)
	n.userSends(t, "#c", room("m1", "hello"))
	n.userSends(t, "#c", room("m2", long))
	n.userSends(t, "bob", bridges.Message{Peer: "bob%irc.test", ID: "m3", Body: "psst"})
	n.userSends(t, "#quiet", bridges.Message{Peer: "#quiet%irc.test", ID: "m4", Sender: "alice@x/pc", Body: "hm"})
	n.userSends(t, "dave", bridges.Message{Peer: "dave%irc.test", ID: "m5", Sender: "alice@x/pc", Body: "there?"})
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("reflected before the echo: %q", got)
	}
	n.serverSays(t, "@msgid=e1;time=2026-12-07T12:00:00Z :alice!a@h PRIVMSG #c :hello")
	for i, l := range lines {
		n.serverSays(t, fmt.Sprintf("@msgid=e2-%d;time=2026-12-07T12:00:01Z :alice!a@h %s", i, l))
	}
	n.serverSays(t, "@msgid=e3 :alice!a@h PRIVMSG bob :psst")
	n.serverSays(t, ":srv 404 alice #quiet :Cannot send to channel")
	n.serverSays(t, "@msgid=e5 :alice!a@h PRIVMSG #c :from my phone")
	n.serverSays(t, "@msgid=e6 :alice!a@h PRIVMSG carol :\x01ACTION waves\x01")
	n.serverSays(t, ":alice!a@h PRIVMSG bob :\x01VERSION\x01")
	if err := n.locked(context.Background(), n.sentLost); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`room #c%irc.test <alice> "hello" id=irc.test/e1 time=2026-12-07T12:00:00Z echo=m1 origin=o-m1`,
		`room #c%irc.test <alice> "` + long + `" id=irc.test/e2-0 time=2026-12-07T12:00:01Z echo=m2 origin=o-m2`,
		`failed #quiet%irc.test id=m4 to=alice@x/pc forbidden "Cannot send to channel"`,
		`room #c%irc.test <alice> "from my phone" id=irc.test/e5 time=- echo= origin=`,
		`sent elsewhere carol%irc.test "/me waves" id=irc.test/e6`,
		`failed dave%irc.test id=m5 to=alice@x/pc remote-server-timeout "the connection to the IRC server was lost before it confirmed this message"`,
	}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestWithoutEchoTheReflectionIsAtOnce: a server without echo-message
// keeps today's behaviour: the room message is reflected as it is sent.
func TestWithoutEchoTheReflectionIsAtOnce(t *testing.T) {
	n, _, rec := testNetwork(t)
	n.userSends(t, "#c", bridges.Message{Peer: "#c%irc.test", ID: "m1", OriginID: "o1", Body: "is here", Action: true})
	n.userSends(t, "bob", bridges.Message{Peer: "bob%irc.test", ID: "m2", Body: "hi"})
	n.serverSays(t, ":alice!a@h PRIVMSG alice :to myself")
	want := []string{
		`room #c%irc.test <alice> "/me is here" id= time=- echo=m1 origin=o1`,
		`receive alice%irc.test "to myself" id= time=-`,
	}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestStandardReplies: a FAIL of a message the user sent is an error on
// it, of a join a refused join; the rest are notices with their text.
func TestStandardReplies(t *testing.T) {
	n, _, rec := testNetwork(t, "echo-message", "standard-replies")
	n.userSends(t, "bob", bridges.Message{Peer: "bob%irc.test", ID: "m1", Sender: "alice@x/pc", Body: "hi"})
	n.channels.Set(n.fold("#new"), &channel{name: "#new", local: "#new%irc.test", members: memberList(nil)})
	n.serverSays(t, ":srv FAIL PRIVMSG ACCOUNT_REQUIRED bob :You must be logged in to message bob")
	n.serverSays(t, ":srv FAIL JOIN NEED_REGISTRATION #new :Register first")
	n.serverSays(t, ":srv FAIL JOIN NEED_REGISTRATION #other :Register first")
	n.serverSays(t, ":srv WARN REHASH CERTS_EXPIRED :Certificate [xxx] has expired")
	n.serverSays(t, ":srv NOTE * OPER_MESSAGE :The server is restarting soon")
	n.serverSays(t, ":srv FAIL BOGUS")
	want := []string{
		`failed bob%irc.test id=m1 to=alice@x/pc forbidden "You must be logged in to message bob"`,
		`join failed #new%irc.test forbidden "Register first"`,
		`receive irc.test "Failed (JOIN): Register first" id= time=-`,
		`receive irc.test "Warning (REHASH): Certificate [xxx] has expired" id= time=-`,
		`receive irc.test "Note: The server is restarting soon" id= time=-`,
	}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestAwayNotify: members going away and coming back are occupant
// presences in the rooms they share with the user, and forgotten when
// they leave.
func TestAwayNotify(t *testing.T) {
	n, _, rec := testNetwork(t, "away-notify")
	n.channels.Set(n.fold("#c"), &channel{name: "#c", local: "#c%irc.test", joined: true, members: memberList(map[string]string{"bob": "o", "carol": ""})})
	n.serverSays(t, ":bob!b@h AWAY :lunch")
	n.serverSays(t, ":dave!d@h AWAY :not here") // shares no room
	n.serverSays(t, ":bob!b@h NICK bobby")
	n.serverSays(t, ":bobby!b@h AWAY")
	n.serverSays(t, ":carol!c@h AWAY :brb")
	n.serverSays(t, ":carol!c@h PART #c")
	if _, ok := n.away["carol"]; ok || n.away["dave"] != "not here" {
		t.Errorf("away texts kept: %v", n.away)
	}
	want := []string{
		`occupant #c%irc.test bob admin/moderator away="lunch"`,
		`occupant #c%irc.test bobby admin/moderator away=""`,
		`occupant #c%irc.test carol none/participant away="brb"`,
	}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestBacklogDroppedWithErrors: messages held while connecting to a
// server that then refuses the user for good fail one by one.
func TestBacklogDroppedWithErrors(t *testing.T) {
	n, _, rec := testNetwork(t)
	n.backlog = []queued{
		{"bob", bridges.Message{Peer: "bob%irc.test", ID: "m1", Sender: "alice@x/pc", Body: "hi"}},
		{"#c", bridges.Message{Peer: "#c%irc.test", Body: "no id"}},
	}
	why := &ircconn.Error{Kind: ircconn.KindBanned, Text: "K-lined"}
	if err := n.locked(context.Background(), func() { n.dropBacklog(why) }); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`failed bob%irc.test id=m1 to=alice@x/pc forbidden "not sent: irc.test: banned from the server: K-lined"`,
		`receive irc.test "Not sent to #c%irc.test: not sent: irc.test: banned from the server: K-lined" id= time=-`,
	}
	if got := rec.take(); !slices.Equal(got, want) || len(n.backlog) != 0 {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

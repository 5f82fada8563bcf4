package component

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/testbridge"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
)

// registerAs registers bare with the echo network and waits for its
// session.
func registerAs(t testing.TB, srv *fakeServer, net *testbridge.Network, bare string) *testbridge.Session {
	t.Helper()
	id := "reg-" + bare
	srv.inject(strings.Replace(regIQ(id, "submit", field("username", strings.Split(bare, "@")[0]), field("password", "pw")), "u@x.test", bare, 1))
	if r := srv.next(isReply(id)); r.Attr("type") != "result" {
		t.Fatalf("register %s: %s", bare, r)
	}
	if got := <-net.Opened(); got != bare {
		t.Fatalf("opened %s, want %s", got, bare)
	}
	return net.Session(bare)
}

// joinAs joins full to room and returns what it got up to the subject.
func joinAs(t testing.TB, srv *fakeServer, full, room, extra string) []*xmlnode.Node {
	t.Helper()
	srv.inject(`<presence from="` + full + `" to="` + room + `@gw.test/` + strings.Split(full, "@")[0] + `"><x xmlns="http://jabber.org/protocol/muc">` + extra + `</x></presence>`)
	var got []*xmlnode.Node
	for {
		n := srv.next(func(n *xmlnode.Node) bool { return n.Attr("to") == full && strings.HasPrefix(n.Attr("from"), room+"@") })
		got = append(got, n)
		if n.Child("", "subject") != nil {
			return got
		}
	}
}

// roomLines takes the next n group chat lines (bodies) Ferry sends to any
// of fulls, by recipient.
func roomLines(t *testing.T, srv *fakeServer, n int, fulls ...string) map[string][]*xmlnode.Node {
	t.Helper()
	got := map[string][]*xmlnode.Node{}
	for i := 0; i < n; i++ {
		m := srv.next(func(m *xmlnode.Node) bool {
			return m.Local == "message" && m.ChildText("", "body") != "" && slices.Contains(fulls, m.Attr("to"))
		})
		got[m.Attr("to")] = append(got[m.Attr("to")], m)
	}
	return got
}

func stanzaIDOf(m *xmlnode.Node) string { return m.Child(nsStanzaID, "stanza-id").Attr("id") }

// mam runs a MAM query on room for full and returns the results' archive
// ids and bodies, and the fin.
func mam(t *testing.T, srv *fakeServer, full, room, id, inner string) (ids, bodies []string, fin *xmlnode.Node) {
	t.Helper()
	srv.inject(`<iq type="set" id="` + id + `" from="` + full + `" to="` + room + `@gw.test"><query xmlns="urn:xmpp:mam:2" queryid="q-` + id + `">` + inner + `</query></iq>`)
	for {
		n := srv.next(func(n *xmlnode.Node) bool {
			return n.Attr("id") == id || n.Child(nsMAM, "result").Attr("queryid") == "q-"+id
		})
		if n.Local == "iq" {
			if n.Attr("type") != "result" {
				return ids, bodies, n
			}
			return ids, bodies, n.Child(nsMAM, "fin")
		}
		r := n.Child(nsMAM, "result")
		inner := r.Child(nsForward, "forwarded").Child(nsClient, "message")
		if r.Child(nsForward, "forwarded").Child(nsDelay, "delay") == nil || inner.Attr("type") != "groupchat" {
			t.Errorf("MAM result without delay or as another type: %s", n)
		}
		ids = append(ids, r.Attr("id"))
		bodies = append(bodies, inner.ChildText(nsClient, "body"))
	}
}

const rsmMax = `<set xmlns="http://jabber.org/protocol/rsm"><max>%d</max>%s</set>`

// Two users in one room, both sessions reporting each line as their IRC
// connections would: each line gets one id, the same for both users,
// stored once; each reads history (on join, by MAM) only for the time
// they were in the room.
func TestRoomHistory(t *testing.T) {
	net := testbridge.NewNetwork()
	h := startHarness(t, net, nil)
	srv, clk := h.srv, h.clk
	alice, bob := "alice@x.test/phone", "bob@x.test/pc"
	as := registerAs(t, srv, net, "alice@x.test")
	bs := registerAs(t, srv, net, "bob@x.test")
	joinAs(t, srv, alice, "#hist", "")
	clk.advance(time.Second)
	joinAs(t, srv, bob, "#hist", "")

	clk.advance(time.Second)
	var ids []string
	for i := 0; i < 6; i++ {
		m := bridges.Message{Body: fmt.Sprintf("line %d", i)}
		as.Events().RoomMessage("#hist", "carol", m)
		bs.Events().RoomMessage("#hist", "carol", m)
		got := roomLines(t, srv, 2, alice, bob)
		a, b := got[alice][0], got[bob][0]
		if stanzaIDOf(a) == "" || stanzaIDOf(a) != stanzaIDOf(b) || a.Attr("id") != b.Attr("id") {
			t.Fatalf("line %d has ids %s and %s", i, a, b)
		}
		ids = append(ids, stanzaIDOf(a))
		clk.advance(time.Second)
	}
	// Alice's own line: the reflection's stanza-id is the one bob's
	// session's report of it gets.
	srv.inject(`<message type="groupchat" id="own" from="` + alice + `" to="#hist@gw.test"><body>mine</body></message>`)
	own := srv.next(func(n *xmlnode.Node) bool { return n.Attr("id") == "own" })
	bs.Events().RoomMessage("#hist", "alice", bridges.Message{Body: "mine"})
	heard := roomLines(t, srv, 1, bob)[bob][0]
	if stanzaIDOf(own) == "" || stanzaIDOf(own) != stanzaIDOf(heard) {
		t.Fatalf("own line %s, as bob heard it %s", own, heard)
	}
	ids = append(ids, stanzaIDOf(own))
	clk.advance(time.Second)

	// MAM: every line once, in order, with the live ids; paging both ways.
	got, bodies, fin := mam(t, srv, alice, "#hist", "m1", fmt.Sprintf(rsmMax, 100, ""))
	// Six lines, the echo of alice's line (reported while it was sent)
	// and hers: each once.
	if len(got) != 8 || !slices.Equal(got[:6], ids[:6]) || got[7] != ids[6] || bodies[0] != "line 0" || fin.Attr("complete") != "true" {
		t.Fatalf("MAM gave %v %v (fin %s), want the ids %v", got, bodies, fin, ids)
	}
	page1, _, fin1 := mam(t, srv, alice, "#hist", "m2", fmt.Sprintf(rsmMax, 2, ""))
	page2, _, _ := mam(t, srv, alice, "#hist", "m3", fmt.Sprintf(rsmMax, 2, "<after>"+fin1.Child(nsRSM, "set").ChildText(nsRSM, "last")+"</after>"))
	if !slices.Equal(page1, ids[:2]) || !slices.Equal(page2, ids[2:4]) || fin1.Attr("complete") == "true" {
		t.Errorf("forward pages %v, %v (fin %s), want %v, %v", page1, page2, fin1, ids[:2], ids[2:4])
	}
	back, _, _ := mam(t, srv, alice, "#hist", "m4", fmt.Sprintf(rsmMax, 2, "<before>"+ids[4]+"</before>"))
	if !slices.Equal(back, ids[2:4]) {
		t.Errorf("backward page %v, want %v", back, ids[2:4])
	}
	form := `<x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE"><value>urn:xmpp:mam:2</value></field>` +
		`<field var="with"><value>#hist@gw.test/carol</value></field><field var="after-id"><value>` + ids[3] + `</value></field></x>`
	if with, _, _ := mam(t, srv, alice, "#hist", "m5", form); !slices.Equal(with, ids[4:6]) {
		t.Errorf("with carol after %s: %v, want %v", ids[3], with, ids[4:6])
	}
	if _, _, e := mam(t, srv, alice, "#hist", "m6", fmt.Sprintf(rsmMax, 2, "<after>nope</after>")); condition(e) != "item-not-found" {
		t.Errorf("unknown id: %s", e)
	}

	// Dave joins now: nothing said before is his to read.
	dave := "dave@x.test/x"
	registerAs(t, srv, net, "dave@x.test")
	joinAs(t, srv, dave, "#hist", "")
	if got, _, fin := mam(t, srv, dave, "#hist", "d1", ""); len(got) != 0 || fin.Attr("complete") != "true" {
		t.Errorf("a newcomer read %v (fin %s)", got, fin)
	}
	if _, _, e := mam(t, srv, "eve@x.test/x", "#hist", "e1", ""); condition(e) != "forbidden" {
		t.Errorf("a stranger's query: %s", e)
	}

	// Alice leaves and comes back asking for 3 lines: they come between
	// her presence and the subject, with their times and ids.
	srv.inject(`<presence type="unavailable" from="` + alice + `" to="#hist@gw.test/alice"/>`)
	srv.next(func(n *xmlnode.Node) bool { return n.Attr("to") == alice && n.Attr("type") == "unavailable" })
	clk.advance(time.Second)
	replay := joinAs(t, srv, alice, "#hist", `<history maxstanzas="3"/>`)
	var hist []string
	for i, n := range replay {
		if n.Local != "message" || n.Child("", "subject") != nil {
			continue
		}
		if !isSelfPresence(replay[i-len(hist)-1]) || n.Child(nsDelay, "delay") == nil {
			t.Errorf("history line out of place or without delay: %v", replay)
		}
		hist = append(hist, stanzaIDOf(n))
	}
	if len(got) < 3 || !slices.Equal(hist, got[len(got)-3:]) {
		t.Errorf("history on join %v, want the last three of %v", hist, got)
	}
}

func TestParseHistory(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		history string
		want    historyRequest
	}{
		{``, historyRequest{maxStanzas: historyUnset, maxChars: historyUnset}},
		{`<history maxstanzas="5"/>`, historyRequest{maxStanzas: 5, maxChars: historyUnset}},
		{`<history maxchars="0"/>`, historyRequest{maxStanzas: historyUnset, maxChars: 0}},
		{`<history seconds="60"/>`, historyRequest{maxStanzas: historyUnset, maxChars: historyUnset, since: now.Add(-time.Minute)}},
		{`<history since="2026-05-01T11:30:00Z" seconds="3600"/>`, historyRequest{maxStanzas: historyUnset, maxChars: historyUnset, since: now.Add(-30 * time.Minute)}},
		{`<history maxstanzas="-3" maxchars="many" since="yesterday"/>`, historyRequest{maxStanzas: historyUnset, maxChars: historyUnset}},
	}
	for _, c := range cases {
		n, err := xmlnode.Parse([]byte(`<presence><x xmlns="http://jabber.org/protocol/muc">` + c.history + `</x></presence>`))
		if err != nil {
			t.Fatal(err)
		}
		if got := parseHistory(n, now); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.history, got, c.want)
		}
	}
}

// FuzzMAMRequest: whatever a client puts in a MAM query, it is read into
// a bounded request or refused with a reason; a page is never larger than
// mamPageMax.
func FuzzMAMRequest(f *testing.F) {
	for _, seed := range []string{
		``,
		`<set xmlns="http://jabber.org/protocol/rsm"><max>10</max><before/></set>`,
		`<set xmlns="http://jabber.org/protocol/rsm"><max>-1</max><after>x</after></set>`,
		`<x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE"><value>urn:xmpp:mam:2</value></field><field var="start"><value>2026-01-01T00:00:00Z</value></field><field var="with"><value>#r@gw.test/nick</value></field></x>`,
		`<x xmlns="jabber:x:data" type="submit"><field var="ids"><value>a</value><value>b</value></field></x>`,
		`<x xmlns="jabber:x:data" type="submit"><field var="end"><value>soon</value></field></x>`,
	} {
		f.Add(seed)
	}
	u := &user{t: &Transport{domain: "gw.test"}, jid: "u@x.test"}
	f.Fuzz(func(t *testing.T, inner string) {
		q, err := xmlnode.Parse([]byte(`<query xmlns="urn:xmpp:mam:2">` + inner + `</query>`))
		if err != nil {
			return
		}
		aq, err := u.mamRequest(q, "#r")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("a refusal without a reason")
			}
			return
		}
		if aq.Max < 0 || aq.Max > mamPageMax || aq.Room != "#r" || aq.JID != "u@x.test" {
			t.Fatalf("request out of bounds: %+v", aq)
		}
	})
}

// chat sends a chat command to the gateway and returns its answer.
func chat(t *testing.T, srv *fakeServer, from, text string) string {
	t.Helper()
	srv.inject(`<message type="chat" from="` + from + `" to="gw.test"><body>` + text + `</body></message>`)
	return srv.next(func(n *xmlnode.Node) bool {
		return n.Local == "message" && n.Attr("from") == "gw.test" && strings.HasPrefix(n.Attr("to"), strings.Split(from, "/")[0])
	}).ChildText("", "body")
}

// An admin sees how much history is kept; a user who turns history off
// can read nothing any more, and turning it on again starts afresh.
func TestRoomHistoryOffAndSize(t *testing.T) {
	net := testbridge.NewNetwork()
	h := startHarness(t, net, nil)
	srv, clk := h.srv, h.clk
	alice := "alice@x.test/phone"
	as := registerAs(t, srv, net, "alice@x.test")
	joinAs(t, srv, alice, "#h", "")
	as.Events().RoomMessage("#h", "carol", bridges.Message{Body: "kept"})
	roomLines(t, srv, 1, alice)
	if got, _, _ := mam(t, srv, alice, "#h", "q1", ""); len(got) != 1 {
		t.Fatalf("MAM gave %v, want the one line", got)
	}
	if size := chat(t, srv, "admin@x.test/r", "history"); !strings.Contains(size, "1 message(s) in 1 room(s)") || !strings.Contains(size, "forever") {
		t.Errorf("history size: %q", size)
	}

	chat(t, srv, alice, "set record_history no")
	if _, _, e := mam(t, srv, alice, "#h", "q2", ""); condition(e) != "forbidden" {
		t.Errorf("with history off, MAM answered %s", e)
	}
	clk.advance(time.Second)
	as.Events().RoomMessage("#h", "carol", bridges.Message{Body: "not for alice"})
	roomLines(t, srv, 1, alice)
	clk.advance(time.Second)
	chat(t, srv, alice, "set record_history yes")
	clk.advance(time.Second)
	as.Events().RoomMessage("#h", "carol", bridges.Message{Body: "for alice again"})
	roomLines(t, srv, 1, alice)
	if _, bodies, _ := mam(t, srv, alice, "#h", "q3", ""); !slices.Equal(bodies, []string{"for alice again"}) {
		t.Errorf("after turning history on again, MAM gave %v", bodies)
	}
}

// The retention prunes by count per room (and by age: the registry's
// tests cover both).
func TestArchivePruneKeepsRetention(t *testing.T) {
	h := startHarness(t, testbridge.NewNetwork(), nil)
	a := newArchiver(h.store, Retention{Messages: 2}, "gw.test", h.clk.Now, h.tr.log, nil)
	a.member("u@x.test", "#p", true)
	for i := range 5 {
		a.store(&registry.ArchiveWrite{Room: "#p", At: h.clk.Now().Add(time.Duration(i) * time.Second), ID: fmt.Sprint("p", i), Nick: "n", Body: "b"})
	}
	a.group.Sync()
	a.prune(t.Context())
	page, err := a.query(t.Context(), registry.ArchiveQuery{Room: "#p", JID: "u@x.test", Max: 10})
	if err != nil || len(page.Messages) != 2 || page.Messages[0].ID != "p3" {
		t.Fatalf("after pruning: %+v, %v", page, err)
	}
}

// A change of subject every user's session reports is archived once, as
// a subject in MAM; history on join leaves it out (the room's subject
// follows the history anyway).
func TestRoomSubjectArchivedOnce(t *testing.T) {
	net := testbridge.NewNetwork()
	h := startHarness(t, net, nil)
	srv := h.srv
	alice, bob := "alice@x.test/a", "bob@x.test/b"
	as := registerAs(t, srv, net, "alice@x.test")
	bs := registerAs(t, srv, net, "bob@x.test")
	joinAs(t, srv, alice, "#s", "")
	joinAs(t, srv, bob, "#s", "")
	h.clk.advance(time.Second)
	as.Events().RoomSubject("#s", "op", "fresh topic")
	bs.Events().RoomSubject("#s", "op", "fresh topic")
	as.Events().RoomMessage("#s", "op", bridges.Message{Body: "said"})
	roomLines(t, srv, 1, alice)
	h.clk.advance(time.Second)

	srv.inject(`<iq type="set" id="s1" from="` + alice + `" to="#s@gw.test"><query xmlns="urn:xmpp:mam:2" queryid="qs"/></iq>`)
	var subjects, bodies []string
	for {
		n := srv.next(func(n *xmlnode.Node) bool {
			return n.Attr("id") == "s1" || n.Child(nsMAM, "result").Attr("queryid") == "qs"
		})
		if n.Local == "iq" {
			break
		}
		m := n.Child(nsMAM, "result").Child(nsForward, "forwarded").Child(nsClient, "message")
		if s := m.Child(nsClient, "subject"); s != nil {
			subjects = append(subjects, s.Text)
		}
		if b := m.Child(nsClient, "body"); b != nil {
			bodies = append(bodies, b.Text)
		}
	}
	if !slices.Equal(subjects, []string{"fresh topic"}) || !slices.Equal(bodies, []string{"said"}) {
		t.Fatalf("MAM gave subjects %v and bodies %v", subjects, bodies)
	}

	srv.inject(`<presence type="unavailable" from="` + bob + `" to="#s@gw.test/bob"/>`)
	srv.next(func(n *xmlnode.Node) bool { return n.Attr("to") == bob && n.Attr("type") == "unavailable" })
	replay := joinAs(t, srv, bob, "#s", "")
	var hist []string
	for _, n := range replay[:len(replay)-1] {
		if n.Local == "message" {
			hist = append(hist, n.ChildText("", "body")+n.ChildText("", "subject"))
		}
	}
	if !slices.Equal(hist, []string{"said"}) {
		t.Errorf("history on join %v, want only the line", hist)
	}
}

// A resource's history request goes once it is answered or the resource
// leaves, and the room then holds no map for it (every user's every room
// would keep one).
func TestRoomForgetsHistoryRequests(t *testing.T) {
	r := &room{history: map[string]historyRequest{"a@x/1": {}, "a@x/2": {}}}
	r.resources.Set("a@x/1", "a")
	r.resources.Set("a@x/2", "a")
	r.dropResource("a@x/1")
	if _, kept := r.history["a@x/1"]; kept || len(r.history) != 1 {
		t.Fatalf("after one left: %v", r.history)
	}
	r.forgetHistory("a@x/2")
	if r.history != nil {
		t.Fatalf("after both: %v, want no map", r.history)
	}
	r.forgetHistory("a@x/3") // nothing asked: no change, no panic
}

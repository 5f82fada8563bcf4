package component

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"

	"github.com/ferry-xmpp/ferry/internal/testbridge"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// registeredHarness registers u@x.test on the echo network and waits for her
// session.
func registeredHarness(t *testing.T, net *testbridge.Network) *harness {
	t.Helper()
	h := startHarness(t, net, nil)
	h.srv.inject(regIQ("r1", "submit", field("username", "alice"), field("password", "pw")))
	if r := h.srv.next(isReply("r1")); r.Attr("type") != "result" {
		t.Fatalf("register: %s", r)
	}
	<-net.Opened()
	return h
}

func configureIQ(id, to, sid string, fields ...string) string {
	if sid == "" {
		return `<iq type="set" id="` + id + `" from="u@x.test/r" to="` + to + `"><command xmlns="http://jabber.org/protocol/commands" node="configure" action="execute"/></iq>`
	}
	return `<iq type="set" id="` + id + `" from="u@x.test/r" to="` + to + `"><command xmlns="http://jabber.org/protocol/commands" node="configure" sessionid="` + sid +
		`"><x xmlns="jabber:x:data" type="submit">` + strings.Join(fields, "") + `</x></command></iq>`
}

// formValues reads a command's form: var -> values, and which fields
// were given no value.
func formValues(t *testing.T, r *xmlnode.Node) (map[string]string, *xmlnode.Node) {
	t.Helper()
	cmd := r.Child(nsCommands, "command")
	if cmd == nil {
		t.Fatalf("no command in %s", r)
	}
	x := cmd.Child(nsData, "x")
	if x == nil {
		t.Fatalf("no form in %s", r)
	}
	vals := map[string]string{}
	for _, f := range x.ChildrenNamed(nsData, "field") {
		vals[f.Attr("var")+"/"+f.Attr("type")] = f.ChildText(nsData, "value")
	}
	return vals, cmd
}

func TestConfigureNetworkAddress(t *testing.T) {
	net := testbridge.NewNetwork()
	h := registeredHarness(t, net)
	srv := h.srv

	// The address lists the command.
	srv.inject(`<iq type="get" id="d1" from="u@x.test/r" to="net-a@gw.test"><query xmlns="http://jabber.org/protocol/disco#items" node="http://jabber.org/protocol/commands"/></iq>`)
	if r := srv.next(isReply("d1")); !strings.Contains(r.String(), `node="configure"`) {
		t.Fatalf("disco#items on a network: %s", r)
	}

	srv.inject(configureIQ("c1", "net-a@gw.test", ""))
	vals, cmd := formValues(t, srv.next(isReply("c1")))
	sid := cmd.Attr("sessionid")
	if cmd.Attr("status") != "executing" || sid == "" {
		t.Fatalf("configure: %s", cmd)
	}
	if v, ok := vals["region/fixed"]; !ok || v != "moon" {
		t.Fatalf("the operator's value is not shown read-only: %v", vals)
	}
	if _, ok := vals["greeting/text-single"]; !ok {
		t.Fatalf("no greeting field: %v", vals)
	}

	// A bad value: the form comes back with why, and nothing is stored.
	srv.inject(configureIQ("c2", "net-a@gw.test", sid, field("greeting", "hi!"), field("token", "s3cret")))
	r := srv.next(isReply("c2"))
	_, cmd = formValues(t, r)
	if cmd.Attr("status") != "executing" || !strings.Contains(cmd.ChildText(nsCommands, "note"), "no shouting") {
		t.Fatalf("bad value: %s", r)
	}
	if list, err := h.store.ListAddressSettings(t.Context(), "gw.test", "u@x.test"); err != nil || len(list) != 0 {
		t.Fatalf("stored after a refusal: %+v, %v", list, err)
	}

	// Corrected in the same session: stored, secret sealed, session told.
	srv.inject(configureIQ("c3", "net-a@gw.test", sid, field("greeting", "hello"), field("token", "s3cret"), field("region", "mars")))
	r = srv.next(isReply("c3"))
	cmd = r.Child(nsCommands, "command")
	if cmd.Attr("status") != "completed" || !strings.Contains(cmd.ChildText(nsCommands, "note"), "Applied now.") {
		t.Fatalf("save: %s", r)
	}
	list, err := h.store.ListAddressSettings(t.Context(), "gw.test", "u@x.test")
	if err != nil || len(list) != 1 || list[0].Address != "net-a" || list[0].Settings["greeting"] != "hello" ||
		list[0].Secrets["token"] != "s3cret" || list[0].Settings["region"] != "" {
		t.Fatalf("stored: %+v, %v", list, err)
	}
	if got := net.Session("u@x.test").AddressSettings("net-a"); got["greeting"] != "hello" || got["token"] != "s3cret" {
		t.Fatalf("session got %v", got)
	}

	// A new session gets them when it opens.
	srv.inject(`<iq type="set" id="rc" from="u@x.test/r" to="gw.test"><command xmlns="http://jabber.org/protocol/commands" node="reconnect" action="execute"/></iq>`)
	if r := srv.next(isReply("rc")); r.Attr("type") != "result" {
		t.Fatalf("reconnect: %s", r)
	}
	<-net.Opened()
	if got := net.Session("u@x.test").AddressSettings("net-a"); got["greeting"] != "hello" || got["token"] != "s3cret" {
		t.Fatalf("reopened session got %v", got)
	}

	// Shown again: the value, never the secret; an empty secret keeps it.
	srv.inject(configureIQ("c4", "net-a@gw.test", ""))
	r = srv.next(isReply("c4"))
	if strings.Contains(r.String(), "s3cret") {
		t.Fatalf("the form shows the secret: %s", r)
	}
	vals, cmd = formValues(t, r)
	if vals["greeting/text-single"] != "hello" {
		t.Fatalf("current value not shown: %v", vals)
	}
	srv.inject(configureIQ("c5", "net-a@gw.test", cmd.Attr("sessionid"), field("greeting", "")))
	if r := srv.next(isReply("c5")); r.Child(nsCommands, "command").Attr("status") != "completed" {
		t.Fatalf("save: %s", r)
	}
	list, _ = h.store.ListAddressSettings(t.Context(), "gw.test", "u@x.test")
	if len(list) != 1 || list[0].Settings["greeting"] != "" || list[0].Secrets["token"] != "s3cret" {
		t.Fatalf("after clearing the greeting: %+v", list)
	}

	// Another resource cannot continue the session; nor on another address.
	srv.inject(configureIQ("c6", "net-a@gw.test", ""))
	sid = srv.next(isReply("c6")).Child(nsCommands, "command").Attr("sessionid")
	srv.inject(configureIQ("c7", "net-b@gw.test", sid, field("greeting", "x")))
	if r := srv.next(isReply("c7")); condition(r) != "bad-request" {
		t.Fatalf("session continued on another address: %s", r)
	}

	// An address without settings.
	srv.inject(configureIQ("c8", "bob@gw.test", ""))
	if r := srv.next(isReply("c8")); condition(r) != "item-not-found" {
		t.Fatalf("configure on a plain contact: %s", r)
	}

	// Unregistering deletes them.
	srv.inject(`<iq type="set" id="u1" from="u@x.test/r" to="gw.test"><query xmlns="jabber:iq:register"><remove/></query></iq>`)
	if r := srv.next(isReply("u1")); r.Attr("type") != "result" {
		t.Fatalf("unregister: %s", r)
	}
	if n := countAddressRows(t, h); n != 0 {
		t.Fatalf("%d address settings left after unregistering", n)
	}
}

func countAddressRows(t *testing.T, h *harness) int {
	t.Helper()
	list, err := h.store.ListAddressSettings(t.Context(), "gw.test", "u@x.test")
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func TestConfigureUnregistered(t *testing.T) {
	srv, _ := startTransport(t)
	srv.inject(configureIQ("c1", "net-a@gw.test", ""))
	if r := srv.next(isReply("c1")); condition(r) != "registration-required" {
		t.Fatalf("configure before registering: %s", r)
	}
}

// A persistent room stays joined on the network when the user's last
// client leaves it; turning persistent off then leaves it.
func TestConfigurePersistentRoom(t *testing.T) {
	net := testbridge.NewNetwork()
	h := registeredHarness(t, net)
	srv := h.srv
	sess := net.Session("u@x.test")

	srv.inject(configureIQ("c1", "#tea@gw.test", ""))
	vals, cmd := formValues(t, srv.next(isReply("c1")))
	for _, k := range []string{"persistent/boolean", "record_history/boolean", "volume/text-single"} {
		if _, ok := vals[k]; !ok {
			t.Fatalf("room form lacks %s: %v", k, vals)
		}
	}
	srv.inject(configureIQ("c2", "#tea@gw.test", cmd.Attr("sessionid"), field("persistent", "maybe")))
	if r := srv.next(isReply("c2")); !strings.Contains(r.String(), "answer yes or no") {
		t.Fatalf("bad boolean: %s", r)
	}
	srv.inject(configureIQ("c3", "#tea@gw.test", cmd.Attr("sessionid"), field("persistent", "1"), field("volume", "low")))
	if r := srv.next(isReply("c3")); r.Child(nsCommands, "command").Attr("status") != "completed" {
		t.Fatalf("save: %s", r)
	}

	srv.inject(`<presence from="u@x.test/r" to="#tea@gw.test/alice"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	srv.next(func(n *xmlnode.Node) bool { return n.Attr("from") == "#tea@gw.test/alice" && isSelfPresence(n) })
	srv.inject(`<presence type="unavailable" from="u@x.test/r" to="#tea@gw.test/alice"/>`)
	srv.next(func(n *xmlnode.Node) bool {
		return n.Attr("from") == "#tea@gw.test/alice" && n.Attr("type") == "unavailable"
	})
	// The chat command runs on the same actor after the leave: when its
	// answer comes, the leave has been handled.
	srv.inject(`<message type="chat" from="u@x.test/r" to="gw.test"><body>configure #tea</body></message>`)
	summary := srv.next(chatFromGateway).ChildText("", "body")
	if !strings.Contains(summary, "persistent — Stay in this room while none of my clients is in it: yes") ||
		!strings.Contains(summary, "volume — Volume: low") {
		t.Fatalf("summary: %s", summary)
	}
	if joins, leaves := sess.Counts(); joins != 1 || leaves != 0 {
		t.Fatalf("joins %d, leaves %d; a persistent room was left", joins, leaves)
	}

	// Off by chat: the room nobody is in is left now.
	srv.inject(`<message type="chat" from="u@x.test/r" to="gw.test"><body>configure #tea persistent no</body></message>`)
	if body := srv.next(chatFromGateway).ChildText("", "body"); !strings.Contains(body, "saved") {
		t.Fatalf("chat answer: %s", body)
	}
	srv.inject(`<message type="chat" from="u@x.test/r" to="gw.test"><body>configure #tea volume loud</body></message>`)
	if body := srv.next(chatFromGateway).ChildText("", "body"); !strings.Contains(body, "Not saved: Volume: one of low, medium, high") {
		t.Fatalf("chat answer to a bad value: %s", body)
	}
	if _, leaves := sess.Counts(); leaves != 1 {
		t.Fatalf("leaves %d after persistent went off", leaves)
	}
}

// record_history per room: a room set not to keep history keeps none for
// the user, whose other rooms still do; the room's setting wins over the
// user's either way.
func TestConfigureRoomRecordHistory(t *testing.T) {
	net := testbridge.NewNetwork()
	h := startHarness(t, net, nil)
	srv, clk := h.srv, h.clk
	alice := "alice@x.test/phone"
	as := registerAs(t, srv, net, "alice@x.test")
	if got := chat(t, srv, alice, "configure #quiet record_history no"); !strings.Contains(got, "saved") {
		t.Fatalf("configure: %q", got)
	}
	joinAs(t, srv, alice, "#quiet", "")
	joinAs(t, srv, alice, "#loud", "")
	clk.advance(time.Second)
	as.Events().RoomMessage("#quiet", "carol", bridges.Message{Body: "not kept for alice"})
	as.Events().RoomMessage("#loud", "carol", bridges.Message{Body: "kept"})
	roomLines(t, srv, 2, alice)
	if _, _, e := mam(t, srv, alice, "#quiet", "q1", ""); condition(e) != "forbidden" {
		t.Errorf("MAM in a room without history answered %s", e)
	}
	if _, bodies, _ := mam(t, srv, alice, "#loud", "q2", ""); !slices.Equal(bodies, []string{"kept"}) {
		t.Errorf("MAM in another room gave %v", bodies)
	}

	// The user turns history off: what was kept is forgotten, and the
	// room set to keep history keeps it again from then on.
	if got := chat(t, srv, alice, "configure #loud record_history yes"); !strings.Contains(got, "saved") {
		t.Fatalf("configure: %q", got)
	}
	clk.advance(time.Second)
	chat(t, srv, alice, "set record_history no")
	clk.advance(time.Second)
	as.Events().RoomMessage("#loud", "carol", bridges.Message{Body: "still kept"})
	roomLines(t, srv, 1, alice)
	if _, bodies, _ := mam(t, srv, alice, "#loud", "q3", ""); !slices.Equal(bodies, []string{"still kept"}) {
		t.Errorf("MAM in the room that keeps history gave %v", bodies)
	}
}

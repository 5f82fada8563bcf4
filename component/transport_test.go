package component

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/testbridge"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
)

// clock is a settable time source for command-session expiry.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// startTransport runs a Transport with the echo bridge and a real SQLite
// store against the fake server.
func startTransport(t testing.TB) (*fakeServer, *clock) {
	t.Helper()
	return startTransportOn(t, testbridge.NewNetwork())
}

// startTransportOn is startTransport with the echo network given, so a
// test can watch its sessions open and close.
func startTransportOn(t testing.TB, net *testbridge.Network) (*fakeServer, *clock) {
	t.Helper()
	h := startHarness(t, net, nil)
	return h.srv, h.clk
}

// harness is a running transport and what tests reach into.
type harness struct {
	srv   *fakeServer
	clk   *clock
	tr    *Transport
	store *registry.SQLite
}

// startHarness runs a transport with the echo network; prepare (may be
// nil) runs on the store before the transport starts.
func startHarness(t testing.TB, net *testbridge.Network, prepare func(dir string, store *registry.SQLite) *registry.SQLite) *harness {
	t.Helper()
	srv := newFakeServer(t, "pw")
	dir := t.TempDir()
	sealer, err := registry.LoadOrCreateKey(context.Background(), filepath.Join(dir, "key"), filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := registry.Open(context.Background(), filepath.Join(dir, "db"), sealer, registry.Options{AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		store = prepare(dir, store)
	}
	b, _ := net.Factory()("gw.test", nil, bridges.Deps{})
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	tr := New(Options{
		Domain: "gw.test", Bridge: b, Store: store, Version: "test", Now: clk.Now,
		Logger: slog.New(slog.NewTextHandler(testLogWriter(), nil)),
		Link: LinkConfig{Secret: "pw", Address: srv.addr(), PingTo: "server.test",
			PingInterval: time.Minute, PingTimeout: time.Second,
			ReconnectMin: 10 * time.Millisecond, ReconnectMax: 100 * time.Millisecond, LaneSize: 1000},
		Policy: Policy{Admins: []string{"admin@x.test"}, OpenRegistrate: true},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = tr.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		store.Close()
	})
	select {
	case <-srv.accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("transport never connected")
	}
	return &harness{srv: srv, clk: clk, tr: tr, store: store}
}

func isReply(id string) func(*xmlnode.Node) bool {
	return func(n *xmlnode.Node) bool { return n.Attr("id") == id }
}

func condition(n *xmlnode.Node) string {
	e := n.Child("", "error")
	for _, c := range e.Children {
		if c.Space == nsStanzas && c.Local != "text" {
			return c.Local
		}
	}
	return ""
}

func TestHostileStanzas(t *testing.T) {
	srv, _ := startTransport(t)
	tests := []struct {
		name, raw, id, want string
	}{
		{"invalid sender", `<iq type="get" id="h1" from="a@b@c" to="gw.test"><query xmlns="jabber:iq:version"/></iq>`, "h1", "jid-malformed"},
		{"foreign recipient", `<iq type="get" id="h2" from="u@x.test/r" to="other.test"><query xmlns="jabber:iq:version"/></iq>`, "h2", "jid-malformed"},
		{"empty iq", `<iq type="get" id="h3" from="u@x.test/r" to="gw.test"/>`, "h3", "bad-request"},
		{"huge body", `<message id="h4" type="chat" from="u@x.test/r" to="gw.test"><body>` + strings.Repeat("x", 2<<20) + `</body></message>`, "h4", "policy-violation"},
		{"huge attribute on a childless stanza", `<message id="h10" type="chat" from="u@x.test/r" to="gw.test" x="` + strings.Repeat("x", 2<<20) + `"/>`, "h10", "policy-violation"},
		{"invalid element name", `<message id="h5" from="u@x.test/r" to="gw.test" xmlns:a="urn:a"><a:0/></message>`, "h5", "bad-request"},
		{"unknown namespace", `<iq type="get" id="h6" from="u@x.test/r" to="gw.test"><query xmlns="urn:x"/></iq>`, "h6", "service-unavailable"},
		{"iq to puppet", `<iq type="set" id="h7" from="u@x.test/r" to="bob@gw.test"><query xmlns="urn:x"/></iq>`, "h7", "service-unavailable"},
		{"message before registering", `<message id="h8" type="chat" from="u@x.test/r" to="bob@gw.test"><body>hi</body></message>`, "h8", "registration-required"},
		{"wrong form type", `<iq type="set" id="h9" from="u@x.test/r" to="gw.test"><query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE"><value>urn:other</value></field></x></query></iq>`, "h9", "bad-request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.inject(tc.raw)
			n := srv.next(isReply(tc.id))
			if n.Attr("type") != "error" || condition(n) != tc.want {
				t.Fatalf("reply = %s, want %s", n, tc.want)
			}
			// The link survived: a ping still gets its answer.
			srv.inject(`<iq type="get" id="p-` + tc.id + `" from="u@x.test/r" to="gw.test"><ping xmlns="urn:xmpp:ping"/></iq>`)
			if r := srv.next(isReply("p-" + tc.id)); r.Attr("type") != "result" {
				t.Fatalf("ping after %s: %s", tc.name, r)
			}
		})
	}
}

// An IQ whose id alone is over the limit cannot be answered (its id is
// not echoed): it is dropped, and nothing id-less goes back.
func TestHugeIDIsNotEchoed(t *testing.T) {
	srv, _ := startTransport(t)
	srv.inject(`<iq type="get" id="` + strings.Repeat("i", 2<<20) + `" from="u@x.test/r" to="gw.test"><ping xmlns="urn:xmpp:ping"/></iq>`)
	srv.inject(`<iq type="get" id="after" from="u@x.test/r" to="gw.test"><ping xmlns="urn:xmpp:ping"/></iq>`)
	if n := srv.next(func(*xmlnode.Node) bool { return true }); n.Attr("id") != "after" || n.Attr("type") != "result" {
		t.Fatalf("first reply after a huge id: %.200s", n)
	}
}

func TestErrorsAreNeverAnswered(t *testing.T) {
	srv, _ := startTransport(t)
	srv.inject(`<message type="error" id="e1" from="u@x.test/r" to="gw.test"><body>x</body><error type="cancel"><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></message>`)
	srv.inject(`<iq type="get" id="after" from="u@x.test/r" to="gw.test"><ping xmlns="urn:xmpp:ping"/></iq>`)
	// Replies are in order: the first thing back must be the ping result.
	if n := srv.next(func(*xmlnode.Node) bool { return true }); n.Attr("id") != "after" {
		t.Fatalf("an error stanza was answered: %s", n)
	}
}

func TestBurstOfRequestsAllAnswered(t *testing.T) {
	srv, _ := startTransport(t)
	const n = 500
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `<iq type="get" id="b%d" from="u%d@x.test/r" to="gw.test"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`, i, i%7)
	}
	srv.inject(b.String())
	seen := map[string]bool{}
	for len(seen) < n {
		r := srv.next(func(x *xmlnode.Node) bool { return strings.HasPrefix(x.Attr("id"), "b") })
		if r.Attr("type") != "result" {
			t.Fatalf("reply %s", r)
		}
		seen[r.Attr("id")] = true
	}
}

func TestCommandSessionsExpire(t *testing.T) {
	srv, clk := startTransport(t)
	srv.inject(`<iq type="set" id="r1" from="u@x.test/r" to="gw.test"><query xmlns="jabber:iq:register"><username>u</username><password>p</password></query></iq>`)
	if r := srv.next(isReply("r1")); r.Attr("type") != "result" {
		t.Fatalf("register: %s", r)
	}
	srv.inject(`<iq type="set" id="c1" from="u@x.test/r" to="gw.test"><command xmlns="http://jabber.org/protocol/commands" node="settings" action="execute"/></iq>`)
	sid := srv.next(isReply("c1")).Child(nsCommands, "command").Attr("sessionid")
	if sid == "" {
		t.Fatal("no session id")
	}
	clk.advance(cmdSessionTTL + time.Second)
	srv.inject(`<iq type="set" id="c2" from="u@x.test/r" to="gw.test"><command xmlns="http://jabber.org/protocol/commands" node="settings" sessionid="` + sid + `"><x xmlns="jabber:x:data" type="submit"/></command></iq>`)
	r := srv.next(isReply("c2"))
	if condition(r) != "bad-request" || r.Child("", "error").Child(nsCommands, "bad-sessionid") == nil {
		t.Fatalf("expired session: %s", r)
	}
	// Another resource cannot hijack a live session.
	srv.inject(`<iq type="set" id="c3" from="u@x.test/r" to="gw.test"><command xmlns="http://jabber.org/protocol/commands" node="settings" action="execute"/></iq>`)
	sid = srv.next(isReply("c3")).Child(nsCommands, "command").Attr("sessionid")
	srv.inject(`<iq type="set" id="c4" from="u@x.test/other" to="gw.test"><command xmlns="http://jabber.org/protocol/commands" node="settings" sessionid="` + sid + `"><x xmlns="jabber:x:data" type="submit"/></command></iq>`)
	if r := srv.next(isReply("c4")); condition(r) != "bad-request" {
		t.Fatalf("session used from another resource: %s", r)
	}
}

// testLogWriter is where the harness logs: nowhere, unless FERRY_TEST_LOG
// is set.
func testLogWriter() io.Writer {
	if os.Getenv("FERRY_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}

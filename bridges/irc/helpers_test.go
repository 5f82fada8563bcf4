package irc

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircconn"
	"github.com/ferry-xmpp/ferry/internal/smallmap"
)

// step bounds every wait of these tests.
const step = 5 * time.Second

// record is an events sink that writes down what it is told, one line
// per event, for tests to compare.
type record struct {
	mu     sync.Mutex
	events []string
}

func (r *record) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
}

// take returns the events so far and forgets them.
func (r *record) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

func (r *record) Receive(_ context.Context, m bridges.Message) error {
	if m.To != "" {
		r.add("receive %s to=%s %q", m.Peer, m.To, m.Body)
		return nil
	}
	r.add("receive %s %q id=%s time=%s", m.Peer, m.Body, m.ID, stamp(m.Time))
	return nil
}
func (r *record) Status(bridges.State, string)                            {}
func (r *record) PeerPresence(string, bool, string)                       {}
func (r *record) Delivered(context.Context, string, string, string) error { return nil }
func (r *record) Failed(_ context.Context, peer, id, sender string, cond bridges.Condition, text string) error {
	r.add("failed %s id=%s to=%s %s %q", peer, id, sender, cond, text)
	return nil
}
func (r *record) RoomJoined(string, bridges.Occupant, []bridges.Occupant, string, string) {}
func (r *record) RoomJoinFailed(room string, cond bridges.Condition, text string) {
	r.add("join failed %s %s %q", room, cond, text)
}
func (r *record) OccupantPresence(room string, o bridges.Occupant) {
	if o.About != "" {
		r.add("occupant %s %s %s/%s away=%q about=%q", room, o.Nick, o.Affiliation, o.Role, o.Away, o.About)
		return
	}
	r.add("occupant %s %s %s/%s away=%q", room, o.Nick, o.Affiliation, o.Role, o.Away)
}
func (r *record) OccupantLeft(string, string, bridges.LeaveKind, string, string, bool) {}
func (r *record) NickChanged(string, string, string, bool)                             {}
func (r *record) RoomMessage(room, nick string, m bridges.Message) {
	replayed := ""
	if m.Replayed {
		replayed = "replayed "
	}
	r.add("%sroom %s <%s> %q id=%s time=%s echo=%s origin=%s", replayed, room, nick, inboundText(m), m.ID, stamp(m.Time), m.EchoOf, m.OriginID)
}

func (r *record) SentElsewhere(_ context.Context, m bridges.Message) error {
	r.add("sent elsewhere %s %q id=%s", m.Peer, inboundText(m), m.ID)
	return nil
}

func inboundText(m bridges.Message) string {
	if m.Action {
		return "/me " + m.Body
	}
	return m.Body
}
func (r *record) RoomSubject(string, string, string) {}
func (r *record) RoomInvite(string, string, string)  {}
func (r *record) RoomGap(room string, from, to time.Time) {
	r.add("gap %s from=%s", room, stamp(from))
}

var _ bridges.RoomEvents = (*record)(nil)

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// fakeIRC is the server end of one connection, played by the test.
type fakeIRC struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

// readLine returns the next line the client wrote.
func (f *fakeIRC) readLine() string {
	f.t.Helper()
	_ = f.conn.SetReadDeadline(time.Now().Add(step))
	line, err := f.r.ReadString('\n')
	if err != nil {
		f.t.Fatalf("fake server: reading: %v", err)
	}
	return strings.TrimRight(line, "\r\n")
}

func (f *fakeIRC) write(lines ...string) {
	f.t.Helper()
	for _, l := range lines {
		if _, err := f.conn.Write([]byte(l + "\r\n")); err != nil {
			f.t.Fatalf("fake server: writing: %v", err)
		}
	}
}

// testNetwork is a network of a session for alice, connected as "alice"
// to a fake server that acknowledges caps (none: the server has no CAP).
// Tests hand it lines with n.handleLine, as Serve would.
func testNetwork(t testing.TB, caps ...string) (*network, *fakeIRC, *record) {
	t.Helper()
	return testNetworkSaying(t, nil, caps...)
}

// testNetworkSaying is testNetwork where the server's welcome has more
// lines (ISUPPORT) before the end of the MOTD.
func testNetworkSaying(t testing.TB, welcome []string, caps ...string) (*network, *fakeIRC, *record) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan *fakeIRC, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- nil
			return
		}
		served <- &fakeIRC{t: t, conn: c, r: bufio.NewReader(c)}
	}()
	dialed := make(chan error, 1)
	var conn *ircconn.Conn
	go func() {
		var err error
		conn, err = ircconn.Dial(context.Background(), ircconn.Config{Addr: ln.Addr().String(), Nick: "alice", Rate: -1, PingInterval: -1, RegisterTimeout: step, Caps: handledCaps})
		dialed <- err
	}()
	srv := <-served
	if srv == nil {
		t.Fatal("no connection")
	}
	for {
		line := srv.readLine()
		if line == "CAP LS 302" && len(caps) > 0 {
			srv.write(":srv CAP * LS :" + strings.Join(caps, " "))
		}
		if strings.HasPrefix(line, "CAP REQ ") {
			srv.write(":srv CAP alice ACK :" + strings.TrimPrefix(line, "CAP REQ :"))
		}
		if strings.HasPrefix(line, "USER ") && len(caps) == 0 || line == "CAP END" {
			break
		}
	}
	srv.write(":srv 001 alice :Welcome")
	srv.write(welcome...)
	srv.write(":srv 422 alice :No MOTD")
	if err := <-dialed; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background(), "") })
	t.Cleanup(func() { srv.conn.Close() }) // first: Close need not wait for the hang-up

	rec := &record{}
	b := testBridge(t, map[string]any{"network": []map[string]any{{"name": "irc.test", "address": "127.0.0.1:1", "tls": false}}})
	s := &session{b: b, acct: bridges.Account{JID: "alice@x", Values: map[string]string{"nick": "alice"}}, sink: rec, networks: map[string]*network{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	t.Cleanup(s.cancel)
	n := newNetwork(s, "irc.test", Network{Name: "irc.test"}, "alice")
	n.conn, n.is = conn, conn.ISupport()
	return n, srv, rec
}

// serverSays hands the network a line as if the server had sent it.
func (n *network) serverSays(t *testing.T, line string) {
	t.Helper()
	m, err := ircmsg.ParseLine(line)
	if err != nil {
		t.Fatalf("bad test line %q: %v", line, err)
	}
	n.handleLine(m)
}

// userSends is a message from alice's XMPP client, to a nick or (with
// a room) to a channel she is in.
func (n *network) userSends(t *testing.T, target string, m bridges.Message) {
	t.Helper()
	var err error
	if lerr := n.locked(context.Background(), func() {
		if n.isChannel(target) && n.channel(n.fold(target)) == nil {
			n.channels.Set(n.fold(target), &channel{name: target, local: m.Peer, members: memberList(nil), joined: true})
		}
		err = n.sendOrQueue(target, m)
	}); lerr != nil {
		t.Fatal(lerr)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// memberList is a channel's member table holding members (nick -> modes).
func memberList(members map[string]string) smallmap.Map[string] {
	var l smallmap.Map[string]
	l.SetEach(maps.All(members))
	return l
}

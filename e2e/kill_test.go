//go:build unix

package e2e

import (
	"database/sql"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", to inspect Ferry's database

	"github.com/ferry-xmpp/ferry/internal/testenv"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

const (
	killMessages = 50
	killPeer     = "bob@echo.localhost"
	afterBody    = "after restart"
	// stopWithin bounds a graceful shutdown after SIGTERM.
	stopWithin = 20 * time.Second
)

// TestKill9MidTraffic runs the real ferry binary, kills it with SIGKILL
// while echoes are flowing, starts it again on the same database and checks
// that nothing was corrupted, lost from storage or delivered twice beyond
// what at-least-once delivery of stored stanzas allows.
func TestKill9MidTraffic(t *testing.T) {
	began := time.Now()
	phase := func(what string) { t.Logf("[%7.3fs] %s", time.Since(began).Seconds(), what) }

	testenv.Need(t, "prosody")
	p := testenv.StartProsody(t, testenv.ProsodyOptions{
		Components: map[string]string{transportDomain: secret},
		Users:      map[string]string{"alice": "alicepw"},
	})
	phase("prosody up")
	bin := buildFerryBinary(t)
	phase("ferry built")
	dir := t.TempDir()
	cfgPath := writeKillConfig(t, dir, p.ComponentAddr)
	dbPath := filepath.Join(dir, "ferry.db")

	first := startFerryProc(t, bin, cfgPath, "first run")
	alice := p.Login(t, "alice", "alicepw", "kill9")
	// The server reflects the initial presence Login sent. Waiting for it
	// keeps the next write from following that one back to back (see
	// burstSender for why that matters with testenv).
	alice.Expect(t, wait, func(s *testenv.Stanza) bool {
		return s.Name == "presence" && s.Attr["from"] == alice.JID.String() && s.Attr["type"] == ""
	})
	waitFerryLink(t, alice, first)
	phase("first ferry link up")

	if r := alice.IQ(t, wait, `<iq type="set" to="echo.localhost"><query xmlns="jabber:iq:register"><username>alice9</username><password>pw-kill9</password></query></iq>`); r.Attr["type"] != "result" {
		t.Fatalf("register: %s", r.XML)
	}
	phase("registered")

	// The burst goes out in one write from a second connection of alice's
	// (see burstSender); the echoes come to this one.
	burst := dialBurstSender(t, p.C2SAddr, "alice", "alicepw", "burst")
	sent := map[string]bool{afterBody: true}
	var stanzas strings.Builder
	for i := range killMessages {
		body := fmt.Sprintf("msg %d", i)
		sent[body] = true
		fmt.Fprintf(&stanzas, `<message to="%s" type="chat" id="k%d"><body>%s</body></message>`, killPeer, i, body)
	}
	burst.write(t, stanzas.String())
	phase(fmt.Sprintf("%d messages sent", killMessages))

	// Echoes taken off the client's queue one by one; the rest stay queued
	// and are read from Pending at the end.
	var taken []echoMsg
	for len(taken) < 10 {
		taken = append(taken, echoOf(alice.Expect(t, wait, isEcho)))
	}
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	first.waitExit(t, wait)
	phase("first ferry killed")
	if st := first.cmd.ProcessState; st.ExitCode() != -1 || !strings.Contains(st.String(), "killed") {
		t.Errorf("first ferry ended with %v, want death by SIGKILL", st)
	}
	seenBeforeKill := len(taken) + len(echoesIn(alice.Pending()))

	// What the crash left in the outbox is exactly what the next run must
	// (re)send. Inspect a copy, so the next run does its own WAL recovery.
	crashOutbox := inspectCrashCopy(t, dbPath)
	phase(fmt.Sprintf("crash copy checked: %d echoes had been delivered, %d stanzas stored and not yet acknowledged", seenBeforeKill, len(crashOutbox)))

	second := startFerryProc(t, bin, cfgPath, "second run")
	waitFerryLink(t, alice, second)
	phase("second ferry link up")

	// (a) The registration survived the crash.
	reg := node(t, alice.IQ(t, wait, `<iq type="get" to="echo.localhost"><query xmlns="jabber:iq:register"/></iq>`))
	q := reg.Child(nsRegister, "query")
	if q == nil || q.Child(nsRegister, "registered") == nil {
		t.Errorf("registration lost over the crash: %s", reg)
	} else if got := q.ChildText(nsRegister, "username"); got != "alice9" {
		t.Errorf("username after the crash = %q, want alice9 (%s)", got, reg)
	}

	// (e) Traffic flows again.
	alice.SendRaw(t, `<message to="`+killPeer+`" type="chat" id="k-after"><body>`+afterBody+`</body></message>`)
	taken = append(taken, echoOf(alice.Expect(t, wait, chatFrom(killPeer, "echo: "+afterBody))))
	phase("echo after restart received")
	// The reply to this ping is written only once the outbox has been
	// flushed and acknowledged (the link writes stored stanzas first), so
	// after it nothing stored may remain.
	if r := alice.IQ(t, wait, `<iq type="get" to="echo.localhost"><ping xmlns="urn:xmpp:ping"/></iq>`); r.Attr["type"] != "result" {
		t.Fatalf("ping after restart: %s", r.XML)
	}

	// Graceful stop: drop any stale goodbye first so the one awaited below
	// is really from this shutdown.
	goodbye := from("presence", transportDomain, "unavailable")
	for _, s := range alice.Pending() {
		if goodbye(s) {
			t.Logf("unavailable presence from the transport before the SIGTERM: %s", s.XML)
			alice.Expect(t, wait, goodbye)
		}
	}
	stopAt := time.Now()
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	second.waitExit(t, stopWithin)
	phase(fmt.Sprintf("second ferry stopped by SIGTERM in %v", time.Since(stopAt).Round(time.Millisecond)))
	if code := second.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("ferry exited with %v after SIGTERM, want 0", second.cmd.ProcessState)
	}
	alice.Expect(t, wait, goodbye)
	phase("goodbye presence received")

	// (c), (d): every echo alice got over the whole test.
	all := append(taken, echoesIn(alice.Pending())...)
	checkEchoes(t, all, sent, crashOutbox)
	logLostAndBounced(t, burst.bounced(), all)

	// (b) The database is intact and every stored stanza was acknowledged.
	db := openSQLite(t, dbPath)
	checkIntegrity(t, db, "database after the second run")
	if n := sqlCount(t, db, "SELECT count(*) FROM outbox"); n != 0 {
		t.Errorf("%d stanzas left in the outbox after a clean stop", n)
	}
	if n := sqlCount(t, db, "SELECT count(*) FROM accounts WHERE transport = 'echo.localhost' AND jid = 'alice@localhost'"); n != 1 {
		t.Errorf("%d accounts for alice in the database, want 1", n)
	}
	phase("done")
}

// echoMsg is one echoed message alice received.
type echoMsg struct {
	body string // without the "echo: " prefix
	id   string // stanza id
}

func isEcho(s *testenv.Stanza) bool {
	if s.Name != "message" || s.Attr["type"] == "error" || strings.SplitN(s.Attr["from"], "/", 2)[0] != killPeer {
		return false
	}
	body, _ := s.Find("body")
	return strings.HasPrefix(body, "echo: ")
}

func echoOf(s *testenv.Stanza) echoMsg {
	body, _ := s.Find("body")
	return echoMsg{body: strings.TrimPrefix(body, "echo: "), id: s.Attr["id"]}
}

func echoesIn(stanzas []*testenv.Stanza) []echoMsg {
	var out []echoMsg
	for _, s := range stanzas {
		if isEcho(s) {
			out = append(out, echoOf(s))
		}
	}
	return out
}

// checkEchoes asserts that every echo answers something alice sent, that no
// stanza id was reused for another message, that a message delivered more
// than once was only resent (the same stanza id each time: at-least-once
// delivery from the outbox), never echoed anew, and that every stanza the
// crash left stored did reach alice.
func checkEchoes(t *testing.T, all []echoMsg, sent map[string]bool, crashOutbox map[string]string) {
	t.Helper()
	ids := map[string][]string{} // body -> stanza ids, one per delivery
	bodyOfID := map[string]string{}
	for _, e := range all {
		if !sent[e.body] {
			t.Errorf("echo of something alice never sent: %q (id %s)", e.body, e.id)
		}
		if e.id == "" {
			t.Errorf("echo %q has no stanza id", e.body)
		} else if b, ok := bodyOfID[e.id]; ok && b != e.body {
			t.Errorf("stanza id %s used for both %q and %q", e.id, b, e.body)
		}
		bodyOfID[e.id] = e.body
		ids[e.body] = append(ids[e.body], e.id)
	}
	dups := 0
	for _, body := range sortedKeys(ids) {
		got := ids[body]
		if len(got) == 1 {
			continue
		}
		dups += len(got) - 1
		same := true
		for _, id := range got {
			same = same && id == got[0]
		}
		_, stored := crashOutbox[got[0]]
		switch {
		case same && stored:
			t.Logf("echo %q delivered %d times with the same stanza id %s: stored and unacknowledged at the crash, resent by the next run (at-least-once)", body, len(got), got[0])
		case same:
			// Also at-least-once: a link that failed between write and
			// acknowledgement resends (ferry logs "component link lost").
			t.Logf("echo %q delivered %d times with the same stanza id %s, not stored at the crash: resent after a lost link", body, len(got), got[0])
		default:
			t.Errorf("echo %q delivered %d times with different stanza ids %v: the message was echoed twice, not resent", body, len(got), got)
		}
	}
	for id, body := range crashOutbox {
		if _, delivered := bodyOfID[id]; !delivered {
			t.Errorf("stanza %s (%q) was stored when ferry was killed and never delivered", id, body)
		}
	}
	t.Logf("%d distinct echoes of %d messages sent, %d deliveries, %d duplicate deliveries", len(ids), len(sent), len(all), dups)
}

// logLostAndBounced reports messages that got no echo: inbound stanzas
// that were in the killed process (or its socket) are lost, since XEP-0114
// has no acknowledgements; the server bounces what it could not route.
func logLostAndBounced(t *testing.T, bounced map[string]bool, all []echoMsg) {
	t.Helper()
	echoed := map[string]bool{}
	for _, e := range all {
		echoed[e.body] = true
	}
	var lost, bouncedIDs []string
	for i := range killMessages {
		id := fmt.Sprintf("k%d", i)
		switch {
		case bounced[id]:
			bouncedIDs = append(bouncedIDs, id)
		case !echoed[fmt.Sprintf("msg %d", i)]:
			lost = append(lost, id)
		}
	}
	t.Logf("messages bounced by the server: %d %v; without echo or bounce (lost with the killed process): %d %v", len(bouncedIDs), bouncedIDs, len(lost), lost)
}

// inspectCrashCopy copies the database as SIGKILL left it, checks the copy's
// integrity and returns the stanzas still in its outbox (stanza id -> body).
func inspectCrashCopy(t *testing.T, dbPath string) map[string]string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "crash.db")
	for _, suffix := range []string{"", "-wal"} { // -shm is rebuilt from the WAL
		if err := copyFile(dbPath+suffix, dst+suffix); err != nil {
			if suffix != "" && os.IsNotExist(err) {
				continue
			}
			t.Fatalf("copying the crashed database: %v", err)
		}
	}
	db := openSQLite(t, dst)
	checkIntegrity(t, db, "database left by SIGKILL")
	rows, err := db.Query("SELECT id, stanza FROM outbox ORDER BY id")
	if err != nil {
		t.Fatalf("reading the crashed outbox: %v", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var (
			rowID  int64
			stanza []byte
		)
		if err := rows.Scan(&rowID, &stanza); err != nil {
			t.Fatal(err)
		}
		n, err := xmlnode.Parse(stanza)
		if err != nil {
			t.Errorf("outbox row %d is not a stanza: %v: %q", rowID, err, stanza)
			continue
		}
		body := ""
		for _, c := range n.Children {
			if c.Local == "body" {
				body = c.Text
			}
		}
		t.Logf("outbox at the crash: row %d, stanza id %s, body %q", rowID, n.Attr("id"), body)
		if n.Attr("id") == "" {
			t.Errorf("outbox row %d has no stanza id: %s", rowID, stanza)
		}
		out[n.Attr("id")] = body
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func checkIntegrity(t *testing.T, db *sql.DB, what string) {
	t.Helper()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatalf("%s: integrity_check: %v", what, err)
	}
	defer rows.Close()
	var result []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		result = append(result, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: integrity_check: %v", what, err)
	}
	if len(result) != 1 || result[0] != "ok" {
		t.Errorf("%s: integrity_check = %q", what, result)
	}
}

func sqlCount(t *testing.T, db *sql.DB, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// buildFerryBinary builds the demo build of cmd/ferry (with the echo
// bridge) into a temporary directory.
func buildFerryBinary(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		t.Fatalf("finding the module root: go env GOMOD = %q, %v", gomod, err)
	}
	bin := filepath.Join(t.TempDir(), "ferry")
	cmd := exec.Command("go", "build", "-tags", "demo", "-o", bin, "./cmd/ferry")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// writeKillConfig writes a ferry.toml in dir; the database and key are
// relative paths, resolved against dir.
func writeKillConfig(t *testing.T, dir, componentAddr string) string {
	t.Helper()
	cfg := `# Written by TestKill9MidTraffic.
database = "ferry.db"
secrets_key_file = "ferry.key"

[xmpp]
address = "` + componentAddr + `"
server_domain = "localhost"
ping_interval = "2s"
ping_timeout = "1s"
reconnect_min = "50ms"
reconnect_max = "500ms"

[log]
level = "debug"

[[transport]]
kind = "echo"
domain = "` + transportDomain + `"
secret = "` + secret + `"
name = "Echo"
`
	path := filepath.Join(dir, "ferry.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ferryProc is one `ferry run` subprocess.
type ferryProc struct {
	label string
	cmd   *exec.Cmd
	logs  *syncBuffer
	done  chan struct{} // closed when the process has exited
	err   error         // from Wait, valid once done is closed
}

// startFerryProc starts the binary; it is killed, if still running, when
// the test ends, and its output is logged if the test failed.
func startFerryProc(t *testing.T, bin, cfgPath, label string) *ferryProc {
	t.Helper()
	f := &ferryProc{label: label, logs: &syncBuffer{}, done: make(chan struct{})}
	f.cmd = exec.Command(bin, "run", "-config", cfgPath)
	f.cmd.Dir = filepath.Dir(cfgPath)
	out := io.MultiWriter(f.logs, testWriter(t))
	f.cmd.Stdout, f.cmd.Stderr = out, out
	f.cmd.WaitDelay = 5 * time.Second
	if err := f.cmd.Start(); err != nil {
		t.Fatalf("starting ferry (%s): %v", label, err)
	}
	go func() {
		f.err = f.cmd.Wait()
		close(f.done)
	}()
	t.Cleanup(func() {
		select {
		case <-f.done:
		default:
			if t.Failed() {
				// A goroutine dump (the Go runtime's answer to SIGQUIT)
				// shows where a process that stopped answering is stuck.
				_ = f.cmd.Process.Signal(syscall.SIGQUIT)
				select {
				case <-f.done:
				case <-time.After(5 * time.Second):
				}
			}
			_ = f.cmd.Process.Kill()
			<-f.done
		}
		if t.Failed() {
			t.Logf("ferry output (%s, pid %d, %v):\n%s", f.label, f.cmd.Process.Pid, f.cmd.ProcessState, f.logs.String())
		}
	})
	return f
}

func (f *ferryProc) exited() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

func (f *ferryProc) waitExit(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-f.done:
	case <-time.After(d):
		t.Fatalf("ferry (%s) still running %v after being told to stop", f.label, d)
	}
}

// waitFerryLink pings the transport until it answers: the answer comes from
// ferry over its component link, so the link is up. It gives up at once if
// the process has died.
func waitFerryLink(t *testing.T, c *testenv.Client, f *ferryProc) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for tries := 1; ; tries++ {
		if f.exited() {
			t.Fatalf("ferry (%s) exited before its link came up: %v", f.label, f.err)
		}
		r := c.IQ(t, wait, `<iq type="get" to="`+transportDomain+`"><ping xmlns="urn:xmpp:ping"/></iq>`)
		if r.Attr["type"] == "result" {
			t.Logf("ferry (%s) answered ping %d", f.label, tries)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ferry (%s) never answered a ping; last answer: %s", f.label, r.XML)
		}
	}
}

// burstSender is a second c2s connection of a user, spoken over a bare TCP
// socket: SASL PLAIN (Prosody allows it without TLS on loopback), resource
// binding and no presence, so it is not "available" and messages to the
// user's bare JID go to the user's other, available resource.
//
// It exists so that a burst of stanzas can go out in one write. The testenv
// client cannot send back to back reliably: mellium v0.22.0's Session.Send
// arms a goroutine per call that sets a write deadline in the past when the
// call's context is done, and testenv cancels that context as soon as Send
// returns, so a late goroutine can break the next write with "i/o timeout".
type burstSender struct {
	conn net.Conn
	dec  *xml.Decoder

	mu     sync.Mutex
	errors map[string]bool // ids of message errors the server bounced
	done   chan struct{}   // closed when the reader has stopped
}

// burstElem is one top-level element read from the server.
type burstElem struct {
	XMLName xml.Name
	Type    string `xml:"type,attr"`
	ID      string `xml:"id,attr"`
	Inner   string `xml:",innerxml"`
}

func dialBurstSender(t *testing.T, addr, user, password, resource string) *burstSender {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatalf("burst sender: %v", err)
	}
	b := &burstSender{conn: conn, dec: xml.NewDecoder(conn), errors: map[string]bool{}, done: make(chan struct{})}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
	header := `<?xml version="1.0"?><stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" version="1.0" to="localhost">`
	b.write(t, header)
	if f := b.next(t); f.XMLName.Local != "features" || !strings.Contains(f.Inner, "PLAIN") {
		t.Fatalf("burst sender: features without PLAIN: %s", f.Inner)
	}
	creds := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
	b.write(t, `<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">`+creds+`</auth>`)
	if r := b.next(t); r.XMLName.Local != "success" {
		t.Fatalf("burst sender: authentication: <%s>%s", r.XMLName.Local, r.Inner)
	}
	b.write(t, header) // the stream restarts after SASL
	if f := b.next(t); f.XMLName.Local != "features" || !strings.Contains(f.Inner, "bind") {
		t.Fatalf("burst sender: features without bind: %s", f.Inner)
	}
	b.write(t, `<iq type="set" id="burst-bind"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>`+resource+`</resource></bind></iq>`)
	if r := b.next(t); r.XMLName.Local != "iq" || r.ID != "burst-bind" || r.Type != "result" {
		t.Fatalf("burst sender: bind: %s type=%q %s", r.XMLName.Local, r.Type, r.Inner)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	go b.read()
	t.Cleanup(func() {
		conn.Close()
		<-b.done
	})
	return b
}

func (b *burstSender) write(t *testing.T, text string) {
	t.Helper()
	if err := b.conn.SetWriteDeadline(time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(b.conn, text); err != nil {
		t.Fatalf("burst sender: write: %v", err)
	}
}

// next returns the next top-level element, stepping over stream headers.
func (b *burstSender) next(t *testing.T) burstElem {
	t.Helper()
	e, err := b.nextElem()
	if err != nil {
		t.Fatalf("burst sender: read: %v", err)
	}
	return e
}

func (b *burstSender) nextElem() (burstElem, error) {
	for {
		tok, err := b.dec.Token()
		if err != nil {
			return burstElem{}, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if tok.Name.Local == "stream" {
				continue // a stream header: its children are the elements
			}
			var e burstElem
			err := b.dec.DecodeElement(&e, &tok)
			return e, err
		case xml.EndElement:
			return burstElem{}, errors.New("the server closed the stream")
		}
	}
}

// read records the message errors the server sends back until the
// connection closes.
func (b *burstSender) read() {
	defer close(b.done)
	for {
		e, err := b.nextElem()
		if err != nil {
			return
		}
		if e.XMLName.Local == "message" && e.Type == "error" {
			b.mu.Lock()
			b.errors[e.ID] = true
			b.mu.Unlock()
		}
	}
}

func (b *burstSender) bounced() map[string]bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return maps.Clone(b.errors)
}

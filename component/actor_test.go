package component

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/internal/testbridge"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
)

// Strangers (neither registered nor in a room) get their answers and
// leave nothing behind: no actor, no goroutine, no parsed address.
func TestStrangersLeaveNoState(t *testing.T) {
	h := startHarness(t, testbridge.NewNetwork(), nil)
	before := runtime.NumGoroutine()
	const n = 2000
	var stanzas []string
	for i := 0; i < n; i++ {
		stanzas = append(stanzas, fmt.Sprintf(`<presence from="s%d@remote.test/r" to="gw.test"/>`, i),
			fmt.Sprintf(`<iq type="get" id="q%d" from="s%d@remote.test/r" to="gw.test"><query xmlns="jabber:iq:register"/></iq>`, i, i))
	}
	// Injected while the answers are read: a server that stops reading
	// makes Ferry stop reading too.
	injected := h.srv.injectAll(stanzas)
	// Each answer comes from the stranger's actor, after their presence.
	for seen := 0; seen < n; {
		r := h.srv.next(func(n *xmlnode.Node) bool { return n.Local == "iq" })
		if r.Attr("type") == "result" {
			seen++
		} else {
			t.Logf("after %d: %s", seen, r)
		}
	}
	<-injected
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.tr.mu.Lock()
		left := len(h.tr.usrs)
		h.tr.mu.Unlock()
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d strangers' actors kept", left)
		}
		time.Sleep(time.Millisecond) // retiring follows the answer at once; nothing to wait on
	}
	if k := h.tr.jids.size(); k != 0 {
		t.Fatalf("%d strangers' addresses remembered", k)
	}
	// What remains are at most the pooled goroutines waiting for work
	// (internal/serial keeps a few hundred for a few seconds).
	if after := runtime.NumGoroutine(); after > before+300 {
		t.Fatalf("goroutines: %d before, %d after %d strangers", before, after, n)
	}
}

// An account whose stored secrets cannot be read fails alone: its user is
// told why, the operator's log names it, and other users connect.
func TestUnsealableAccountFailsAlone(t *testing.T) {
	net := testbridge.NewNetwork()
	h := startHarness(t, net, func(dir string, store *registry.SQLite) *registry.SQLite {
		ctx := context.Background()
		key := make([]byte, registry.KeySize)
		_, _ = rand.Read(key)
		other, err := registry.NewSealer(key)
		if err != nil {
			t.Fatal(err)
		}
		foreign, err := registry.Open(ctx, dir+"/db", other, registry.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer foreign.Close()
		acct := func(jid string) registry.Account {
			return registry.Account{Transport: "gw.test", JID: jid, Fields: map[string]string{"username": jid},
				Secrets: map[string]string{"password": "pw"}}
		}
		if err := foreign.PutAccount(ctx, acct("alice@x.test")); err != nil {
			t.Fatal(err)
		}
		if err := store.PutAccount(ctx, acct("bob@x.test")); err != nil {
			t.Fatal(err)
		}
		// Ferry is the database's one writer: it learns of the account
		// written behind its back when it opens the database again.
		foreign.Close()
		store.Close()
		sealer, err := registry.LoadOrCreateKey(ctx, dir+"/key", dir+"/db")
		if err != nil {
			t.Fatal(err)
		}
		reopened, err := registry.Open(ctx, dir+"/db", sealer, registry.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return reopened
	})
	status := h.srv.next(func(n *xmlnode.Node) bool {
		return n.Local == "presence" && n.Attr("to") == "alice@x.test" && strings.Contains(n.ChildText("", "status"), "Error")
	})
	if !strings.Contains(status.ChildText("", "status"), "stored password cannot be read") {
		t.Errorf("alice is told: %s", status)
	}
	select {
	case j := <-net.Opened():
		if j != "bob@x.test" {
			t.Fatalf("session opened for %s", j)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("bob's session never opened")
	}
}

// Run ends by waiting for the work actors are still doing (quiesce): the
// store is closed right after Run returns, and an event still running
// would meet it closed.
func TestQuiesceWaitsForRunningEvents(t *testing.T) {
	h := startHarness(t, testbridge.NewNetwork(), nil)
	running, release := make(chan struct{}), make(chan struct{})
	finished := false // written by the event, read after quiesce
	err := h.tr.post(context.Background(), "late@x.test", func(u *user) {
		close(running)
		<-release
		finished = true
	})
	if err != nil {
		t.Fatal(err)
	}
	<-running
	if h.tr.quiesce(0) {
		t.Fatal("quiesce found nothing running while an event ran")
	}
	close(release)
	if !h.tr.quiesce(5 * time.Second) {
		t.Fatal("quiesce gave up after the event was let go")
	}
	if !finished {
		t.Fatal("quiesce returned before the event finished")
	}
}

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/config"
	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// Under the presence policy the legacy session follows the user: it opens
// when the user's server tells the transport they are online and closes
// when their last resource leaves.
func TestPresencePolicy(t *testing.T) {
	s := start(t, func(c *config.Config) { c.Transports[0].Options = map[string]any{"stay_connected": false} })
	c := s.login(t, "alice", "pol")
	if r := c.IQ(t, wait, `<iq type="get"><query xmlns="jabber:iq:roster"/></iq>`); r.Attr["type"] != "result" {
		t.Fatalf("roster: %s", r.XML)
	}
	register(t, c)
	if s.ferry.net.Session("alice@localhost") != nil {
		t.Fatal("session opened before the transport saw the user online")
	}
	c.Expect(t, wait, from("presence", transportDomain, "subscribe"))
	// Accepting the subscription makes the server send alice's presence.
	c.SendRaw(t, `<presence to="echo.localhost" type="subscribed"/>`)
	c.SendRaw(t, `<presence to="echo.localhost" type="subscribe"/>`)
	waitSession(t, s, "alice@localhost")
	c.Expect(t, wait, chatOrPresence(transportDomain, "Connected as u"))

	c.Close()
	select {
	case j := <-s.ferry.net.Closed():
		if j != "alice@localhost" {
			t.Fatalf("closed session of %s", j)
		}
	case <-time.After(wait):
		t.Fatal("session still open after the user went offline")
	}
}

func chatOrPresence(addr, text string) func(*testenv.Stanza) bool {
	return func(s *testenv.Stanza) bool {
		return strings.SplitN(s.Attr["from"], "/", 2)[0] == addr && strings.Contains(s.XML, text)
	}
}

func TestClosedRegistration(t *testing.T) {
	s := start(t, func(c *config.Config) { c.Registration.Open = false })
	c := s.login(t, "alice", "closed")
	r := node(t, c.IQ(t, wait, `<iq type="set" to="echo.localhost"><query xmlns="jabber:iq:register"><username>a</username><password>p</password></query></iq>`))
	if errorCondition(r) != "not-allowed" || !strings.Contains(errorText(r), "closed") {
		t.Errorf("closed registration: %s", r)
	}
	a := s.login(t, "admin", "closed")
	register(t, a)
}

// Messages stored while the server was down survive a Ferry restart and
// are delivered once.
func TestFerryRestartWithQueuedMessages(t *testing.T) {
	s := start(t, nil)
	c := s.login(t, "alice", "q")
	register(t, c)
	sess := waitSession(t, s, "alice@localhost")
	s.xmpp.Stop(t)
	for i := 1; i <= 3; i++ {
		m := bridges.Message{ID: fmt.Sprintf("q%d", i), Peer: "frank", Body: fmt.Sprintf("queued %d", i)}
		if err := sess.Inject(context.Background(), m); err != nil {
			t.Fatalf("inject %d: %v", i, err)
		}
	}
	s.ferry.stop(t)
	s.xmpp.Start(t)
	s.ferry = runFerry(t, s.ferry.cfg)

	c2 := s.xmpp.Login(t, "alice", "alicepw", "q2")
	for i := 1; i <= 3; i++ {
		c2.Expect(t, 2*wait, chatFrom("frank@echo.localhost", fmt.Sprintf("queued %d", i)))
	}
	waitLinkUp(t, c2)
	for _, p := range c2.Pending() {
		if strings.Contains(p.XML, "queued") {
			t.Errorf("delivered twice: %s", p.XML)
		}
	}
}

func TestHealthAndMetrics(t *testing.T) {
	port := testenv.FreePort(t)
	s := start(t, func(c *config.Config) { c.HTTP.Listen = fmt.Sprintf("127.0.0.1:%d", port) })
	c := s.login(t, "alice", "ops")
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	var health struct {
		OK       bool            `json:"ok"`
		Database string          `json:"database"`
		Links    map[string]bool `json:"links"`
	}
	code := getJSON(t, base+"/healthz", &health)
	if code != http.StatusOK || !health.OK || !health.Links[transportDomain] || health.Database != "ok" {
		t.Errorf("healthz = %d %+v", code, health)
	}
	register(t, c)
	body := get(t, base+"/metrics")
	for _, want := range []string{
		`ferry_stanzas_in_total{kind="iq",transport="echo.localhost"}`,
		`ferry_stanzas_out_total{kind="presence",transport="echo.localhost"}`,
		`ferry_link_up{transport="echo.localhost"} 1`,
		`ferry_sessions{transport="echo.localhost"} 1`,
		"ferry_outbox_pending",
		"ferry_queue_depth",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	s.xmpp.Stop(t)
	deadline := time.Now().Add(wait)
	for getJSON(t, base+"/healthz", &health) != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("healthz still 200 with the XMPP server down")
		}
		time.Sleep(50 * time.Millisecond) // polling an HTTP endpoint: nothing to wait on
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	_, body := fetch(t, url)
	return body
}

// fetch GETs url and returns the status and the body.
func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return resp.StatusCode
}

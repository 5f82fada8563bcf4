package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges/sms/kannel"
	"github.com/ferry-xmpp/ferry/config"
	"github.com/ferry-xmpp/ferry/internal/testenv"
	"github.com/ferry-xmpp/ferry/registry"
)

const (
	smsDomain  = "sms.localhost"
	aliceNum   = "+12015550123"
	phoneNum   = "+12015550199"
	kannelPass = "kannel-pw"
	hookSecret = "hook-secret"
)

type smsSetup struct {
	*setup
	kannel *testenv.Kannel
	cfg    config.Transport
}

// startSMS runs Kannel with its fake SMSC and Ferry with an SMS transport
// whose webhooks Kannel calls back.
func startSMS(t *testing.T, mutate func(opts map[string]any)) *smsSetup {
	t.Helper()
	testenv.NeedKannel(t)
	port := testenv.FreePort(t)
	public := fmt.Sprintf("http://127.0.0.1:%d", port)
	k := testenv.StartKannel(t, testenv.KannelOptions{PostURL: kannel.PostURL(public, hookSecret), Password: kannelPass})
	opts := map[string]any{
		"provider": "kannel", "listen": fmt.Sprintf("127.0.0.1:%d", port), "region": "US",
		"per_minute": int64(100), "retry_min": "100ms", "retry_max": "500ms",
		"kannel": map[string]any{"sendsms_url": k.SendSMSURL, "username": k.Username, "password": k.Password, "secret": hookSecret},
	}
	if mutate != nil {
		mutate(opts)
	}
	tc := config.Transport{Kind: "sms", Domain: smsDomain, Secret: secret, Options: opts}
	s := start(t, func(c *config.Config) { c.Transports = []config.Transport{tc} })
	return &smsSetup{setup: s, kannel: k, cfg: tc}
}

func smsLogin(t *testing.T, s *smsSetup, user, resource string) *testenv.Client {
	t.Helper()
	c := s.xmpp.Login(t, user, map[string]string{"alice": "alicepw", "bob": "bobpw"}[user], resource)
	waitTransport(t, c, smsDomain)
	return c
}

func smsRegister(t *testing.T, c *testenv.Client, number string) *testenv.Stanza {
	t.Helper()
	return c.IQ(t, wait, `<iq type="set" to="`+smsDomain+`"><query xmlns="jabber:iq:register"><phone>`+number+`</phone></query></iq>`)
}

func atPhone(text string) func(testenv.FakeSMS) bool {
	return func(m testenv.FakeSMS) bool { return m.Text == text }
}

func TestSMSThroughKannel(t *testing.T) {
	s := startSMS(t, nil)
	c := smsLogin(t, s, "alice", "sms")
	if r := smsRegister(t, c, "(201) 555-0123"); r.Attr["type"] != "result" {
		t.Fatalf("register: %s", r.XML)
	}
	// The number is normalised and bound: bob cannot take it.
	b := smsLogin(t, s, "bob", "sms")
	if r := node(t, smsRegister(t, b, aliceNum)); errorCondition(r) != "conflict" {
		t.Errorf("second registration of a number: %s", r)
	}

	phoneJID := phoneNum + "@" + smsDomain
	// A short text, with a receipt request: the phone gets it, the receipt comes back.
	c.SendRaw(t, `<message to="`+phoneJID+`" type="chat" id="s1"><body>hello phone</body><request xmlns="urn:xmpp:receipts"/></message>`)
	got := s.kannel.ExpectAtPhone(t, wait, atPhone("hello phone"))
	if got.From != aliceNum || got.To != phoneNum {
		t.Errorf("at the phone: %+v", got)
	}
	c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Attr["from"] == phoneJID && strings.Contains(st.XML, `<received xmlns="urn:xmpp:receipts" id="s1"`)
	})

	// 200 characters: two concatenated parts, complete.
	long := strings.Repeat("0123456789", 20)
	c.SendRaw(t, `<message to="`+phoneJID+`" type="chat" id="s2"><body>`+long+`</body></message>`)
	if m := s.kannel.ExpectAtPhone(t, wait, atPhone(long)); m.Parts != 2 {
		t.Errorf("200 characters arrived in %d parts", m.Parts)
	}
	// Unicode and emoji arrive intact (UCS-2).
	uni := "Grüße aus Köln 🚀 — привет"
	c.SendRaw(t, `<message to="`+phoneJID+`" type="chat" id="s3"><body>`+uni+`</body></message>`)
	if m := s.kannel.ExpectAtPhone(t, wait, atPhone(uni)); m.Coding != 2 {
		t.Errorf("unicode text coding %d", m.Coding)
	}

	// Too many parts: refused with the counts, before anything is sent.
	c.SendRaw(t, `<message to="`+phoneJID+`" type="chat" id="s4"><body>`+strings.Repeat("x", 1000)+`</body></message>`)
	over := node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool { return st.Attr["id"] == "s4" }))
	if errorCondition(over) != "policy-violation" || !strings.Contains(errorText(over), "7 SMS parts") {
		t.Errorf("over the part limit: %s", over)
	}
	// Not a number.
	c.SendRaw(t, `<message to="not-a-number@`+smsDomain+`" type="chat" id="s5"><body>x</body></message>`)
	if bad := node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool { return st.Attr["id"] == "s5" })); errorCondition(bad) != "jid-malformed" {
		t.Errorf("bad number: %s", bad)
	}

	// From the phone: a chat from its E.164 JID, and a concatenated one.
	s.kannel.SendFromPhone(t, phoneNum, aliceNum, "hi from the phone")
	c.Expect(t, wait, chatFrom(phoneJID, "hi from the phone"))
	longIn := strings.Repeat("abcdefghij", 25)
	s.kannel.SendFromPhone(t, phoneNum, aliceNum, longIn)
	c.Expect(t, wait, chatFrom(phoneJID, longIn))
	// A text for a number nobody registered is kept, not lost or misdelivered.
	s.kannel.SendFromPhone(t, phoneNum, "+12015550100", "for nobody")
	sealer, err := registry.LoadOrCreateKey(context.Background(), s.ferry.cfg.SecretsKeyFile, s.ferry.cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	store, err := registry.Open(context.Background(), s.ferry.cfg.Database, sealer, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// Kannel posts asynchronously: wait (bounded) for the dead letter row.
	deadline := time.Now().Add(wait)
	for {
		dead, err := store.ListDeadLetters(context.Background(), smsDomain, 10)
		if err == nil && len(dead) == 1 && strings.Contains(string(dead[0].Payload), "for nobody") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead letters: %v %+v", err, dead)
		}
		time.Sleep(50 * time.Millisecond) // polling a database row: nothing to wait on
	}
	c.ExpectNone(t, 0, chatFrom(phoneJID, "for nobody"))
}

func TestSMSBadKannelPassword(t *testing.T) {
	s := startSMS(t, func(o map[string]any) {
		o["kannel"].(map[string]any)["password"] = "wrong"
	})
	c := smsLogin(t, s, "alice", "pw")
	if r := smsRegister(t, c, aliceNum); r.Attr["type"] != "result" {
		t.Fatalf("register: %s", r.XML)
	}
	c.SendRaw(t, `<message to="`+phoneNum+`@`+smsDomain+`" type="chat" id="b1"><body>x</body></message>`)
	r := node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool { return st.Attr["id"] == "b1" && st.Attr["type"] == "error" }))
	if !strings.Contains(strings.ToLower(errorText(r)), "credential") && !strings.Contains(strings.ToLower(errorText(r)), "authori") {
		t.Errorf("bad Kannel password reported as: %s", r)
	}
}

// Texts queued while Kannel is down survive a Ferry restart and are sent
// once each when Kannel is back.
func TestSMSQueuedAcrossRestart(t *testing.T) {
	s := startSMS(t, nil)
	c := smsLogin(t, s, "alice", "q")
	if r := smsRegister(t, c, aliceNum); r.Attr["type"] != "result" {
		t.Fatalf("register: %s", r.XML)
	}
	s.kannel.Stop(t)
	for i := 1; i <= 3; i++ {
		c.SendRaw(t, fmt.Sprintf(`<message to="%s@%s" type="chat" id="q%d"><body>queued %d</body></message>`, phoneNum, smsDomain, i, i))
	}
	c.IQ(t, wait, `<iq type="get" to="`+smsDomain+`"><ping xmlns="urn:xmpp:ping"/></iq>`) // the texts reached Ferry
	s.ferry.stop(t)
	s.kannel.Start(t)
	s.ferry = runFerry(t, s.ferry.cfg)
	for i := 1; i <= 3; i++ {
		s.kannel.ExpectAtPhone(t, 2*wait, atPhone(fmt.Sprintf("queued %d", i)))
	}
	// Once each: a new text after them arrives next, with no repeat between.
	c2 := smsLogin(t, s, "alice", "q2")
	c2.SendRaw(t, `<message to="`+phoneNum+`@`+smsDomain+`" type="chat" id="q9"><body>after restart</body></message>`)
	s.kannel.ExpectAtPhone(t, wait, atPhone("after restart"))
	for _, m := range s.kannel.PendingAtPhone() {
		if strings.HasPrefix(m.Text, "queued") {
			t.Errorf("sent twice: %+v", m)
		}
	}
}

// A flood hits the per-minute limit with a clear error; admins see the
// counts; STOP from the phone blocks further texts to it, START undoes it.
func TestSMSLimitsAndOptOut(t *testing.T) {
	s := startSMS(t, func(o map[string]any) { o["per_minute"] = int64(3) })
	c := smsLogin(t, s, "alice", "lim")
	if r := smsRegister(t, c, aliceNum); r.Attr["type"] != "result" {
		t.Fatalf("register: %s", r.XML)
	}
	phoneJID := phoneNum + "@" + smsDomain
	for i := 1; i <= 5; i++ {
		c.SendRaw(t, fmt.Sprintf(`<message to="%s" type="chat" id="f%d"><body>flood %d</body></message>`, phoneJID, i, i))
	}
	for i := 1; i <= 3; i++ {
		s.kannel.ExpectAtPhone(t, wait, atPhone(fmt.Sprintf("flood %d", i)))
	}
	for _, id := range []string{"f4", "f5"} {
		r := node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool { return st.Attr["id"] == id }))
		if errorCondition(r) != "policy-violation" || !strings.Contains(errorText(r), "3 texts in the last minute") {
			t.Errorf("over the limit: %s", r)
		}
	}
	a := s.xmpp.Login(t, "admin", "adminpw", "lim")
	show := node(t, a.IQ(t, wait, `<iq type="set" to="`+smsDomain+`"><command xmlns="http://jabber.org/protocol/commands" node="show-user" action="execute"/></iq>`))
	sid := show.Child("http://jabber.org/protocol/commands", "command").Attr("sessionid")
	res := node(t, a.IQ(t, wait, `<iq type="set" to="`+smsDomain+`"><command xmlns="http://jabber.org/protocol/commands" node="show-user" sessionid="`+sid+`"><x xmlns="jabber:x:data" type="submit"><field var="jid"><value>alice@localhost</value></field></x></command></iq>`))
	if !strings.Contains(res.String(), "texts: 3 in the last hour") || strings.Contains(res.String(), "password") {
		t.Errorf("admin view: %s", res)
	}

	s.kannel.SendFromPhone(t, phoneNum, aliceNum, "STOP")
	c.Expect(t, wait, chatFrom(phoneJID, "STOP"))
	s.kannel.ExpectAtPhone(t, wait, func(m testenv.FakeSMS) bool { return strings.Contains(m.Text, "no more texts") })
	c.SendRaw(t, `<message to="`+phoneJID+`" type="chat" id="o1"><body>still there?</body></message>`)
	if r := node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool { return st.Attr["id"] == "o1" })); errorCondition(r) != "forbidden" {
		t.Errorf("text to an opted-out phone: %s", r)
	}
	s.kannel.SendFromPhone(t, phoneNum, aliceNum, "START")
	s.kannel.ExpectAtPhone(t, wait, func(m testenv.FakeSMS) bool { return strings.Contains(m.Text, "again") })
}

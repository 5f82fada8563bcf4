package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-xmpp/ferry/bridges/sms/twilio"
	"github.com/ferry-xmpp/ferry/config"
	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// fakeTwilio implements the documented Messages API (no real provider can
// run here): it records each POST and answers like Twilio.
type fakeTwilio struct {
	mu   sync.Mutex
	sent []url.Values
	got  chan url.Values
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != "ACtest" || pass != "token" || !strings.HasSuffix(r.URL.Path, "/Accounts/ACtest/Messages.json") {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"code":20003,"message":"Authenticate","status":401}`))
		return
	}
	_ = r.ParseForm()
	f.mu.Lock()
	f.sent = append(f.sent, r.PostForm)
	n := len(f.sent)
	f.mu.Unlock()
	f.got <- r.PostForm
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"sid": fmt.Sprintf("SM%032d", n), "status": "queued"})
}

// post sends a signed callback to Ferry as Twilio would.
func postSigned(t *testing.T, publicURL, path string, form url.Values) int {
	t.Helper()
	full := publicURL + path
	req, _ := http.NewRequest(http.MethodPost, full, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(twilio.SignatureHeader, twilio.Sign("token", full, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestSMSThroughTwilioCompatibleAPI(t *testing.T) {
	api := &fakeTwilio{got: make(chan url.Values, 10)}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	port := testenv.FreePort(t)
	public := fmt.Sprintf("http://127.0.0.1:%d", port)
	s := start(t, func(c *config.Config) {
		c.Transports = []config.Transport{{Kind: "sms", Domain: smsDomain, Secret: secret, Options: map[string]any{
			"provider": "twilio", "listen": fmt.Sprintf("127.0.0.1:%d", port), "numbers": []any{aliceNum},
			"twilio": map[string]any{"base_url": srv.URL, "account_sid": "ACtest", "auth_token": "token"},
		}}}
	})
	c := s.xmpp.Login(t, "alice", "alicepw", "tw")
	waitTransport(t, c, smsDomain)
	// An empty number takes one from the operator's pool.
	if r := c.IQ(t, wait, `<iq type="set" to="`+smsDomain+`"><query xmlns="jabber:iq:register"><phone/></query></iq>`); r.Attr["type"] != "result" {
		t.Fatalf("register from the pool: %s", r.XML)
	}
	phoneJID := phoneNum + "@" + smsDomain

	// Out, with media: MMS through MediaUrl, receipt on the status callback.
	c.SendRaw(t, `<message to="`+phoneJID+`" type="chat" id="t1"><body>look</body><x xmlns="jabber:x:oob"><url>https://example.org/cat.jpg</url></x><request xmlns="urn:xmpp:receipts"/></message>`)
	form := <-api.got
	if form.Get("To") != phoneNum || form.Get("From") != aliceNum || form.Get("Body") != "look" || form.Get("MediaUrl") != "https://example.org/cat.jpg" {
		t.Errorf("Messages POST: %v", form)
	}
	callback, _ := url.Parse(form.Get("StatusCallback"))
	if code := postSigned(t, public, callback.RequestURI(), url.Values{"MessageSid": {"SM" + strings.Repeat("0", 31) + "1"}, "MessageStatus": {"delivered"}}); code != http.StatusOK {
		t.Fatalf("status callback: %d", code)
	}
	c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Attr["from"] == phoneJID && strings.Contains(st.XML, `id="t1"`) && strings.Contains(st.XML, "received")
	})

	// A failed delivery comes back as an error on the original message.
	c.SendRaw(t, `<message to="`+phoneJID+`" type="chat" id="t2"><body>are you there</body></message>`)
	form = <-api.got
	callback, _ = url.Parse(form.Get("StatusCallback"))
	postSigned(t, public, callback.RequestURI(), url.Values{"MessageSid": {"SM2"}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}})
	failed := node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool { return st.Attr["id"] == "t2" && st.Attr["type"] == "error" }))
	if errorCondition(failed) != "recipient-unavailable" || !strings.Contains(errorText(failed), "30003") {
		t.Errorf("failed delivery: %s", failed)
	}

	// In, signed, with media; a duplicate callback is delivered once.
	in := url.Values{"MessageSid": {"SMin1"}, "From": {phoneNum}, "To": {aliceNum}, "Body": {"a picture"},
		"NumMedia": {"1"}, "MediaUrl0": {"https://example.org/dog.jpg"}}
	for i := 0; i < 2; i++ {
		if code := postSigned(t, public, "/sms/twilio/inbound", in); code != http.StatusOK {
			t.Fatalf("inbound: %d", code)
		}
	}
	got := node(t, c.Expect(t, wait, chatFrom(phoneJID, "a picture")))
	if got.Child("jabber:x:oob", "x").ChildText("jabber:x:oob", "url") != "https://example.org/dog.jpg" {
		t.Errorf("inbound media: %s", got)
	}
	c.IQ(t, wait, `<iq type="get" to="`+smsDomain+`"><ping xmlns="urn:xmpp:ping"/></iq>`)
	for _, p := range c.Pending() {
		if strings.Contains(p.XML, "a picture") {
			t.Errorf("duplicate callback delivered twice")
		}
	}
	// A forged callback changes nothing.
	req, _ := http.NewRequest(http.MethodPost, public+"/sms/twilio/inbound", strings.NewReader(url.Values{"MessageSid": {"SMx"}, "From": {phoneNum}, "To": {aliceNum}, "Body": {"forged"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(twilio.SignatureHeader, "bm90IGEgc2lnbmF0dXJl")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged callback: %d", resp.StatusCode)
	}
}

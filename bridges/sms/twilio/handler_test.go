package twilio

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges/sms/gateway"
)

type nopSink struct{}

func (nopSink) Inbound(context.Context, gateway.Inbound) error { return nil }
func (nopSink) Report(context.Context, gateway.Report) error   { return nil }

// recSink records what it receives and fails while err is set.
type recSink struct {
	mu       sync.Mutex
	err      error
	inbounds []gateway.Inbound
	reports  []gateway.Report
}

func (s *recSink) Inbound(_ context.Context, m gateway.Inbound) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inbounds = append(s.inbounds, m)
	return s.err
}

func (s *recSink) Report(_ context.Context, r gateway.Report) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports = append(s.reports, r)
	return s.err
}

func (s *recSink) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inbounds) + len(s.reports)
}

const (
	testSID    = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
	testToken  = "your_auth_token"
	testPublic = "https://gw.example.org"
)

var testTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestProvider(t testing.TB, public string) *Provider {
	t.Helper()
	p, err := New(Config{AccountSID: testSID, AuthToken: testToken, PublicURL: public, BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	p.now = func() time.Time { return testTime }
	return p
}

// twilioRequest builds a callback as Twilio sends it: form-encoded POST,
// signed over signURL (the URL Twilio was told to call).
func twilioRequest(target, signURL string, form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signURL != "" {
		r.Header.Set(SignatureHeader, Sign(testToken, signURL, form))
	}
	return r
}

// inboundSMS is an incoming-message webhook as Twilio documents it.
func inboundSMS() url.Values {
	return url.Values{
		"ToCountry":     {"US"},
		"ToState":       {"CA"},
		"SmsMessageSid": {"SM1f0e8ae6ade43cb3c0ce4525424e404f"},
		"NumMedia":      {"0"},
		"ToCity":        {""},
		"FromZip":       {"94107"},
		"SmsSid":        {"SM1f0e8ae6ade43cb3c0ce4525424e404f"},
		"FromState":     {"CA"},
		"SmsStatus":     {"received"},
		"FromCity":      {"SAN FRANCISCO"},
		"Body":          {"Hello from my phone"},
		"FromCountry":   {"US"},
		"To":            {"+14155552345"},
		"ToZip":         {""},
		"NumSegments":   {"1"},
		"MessageSid":    {"SM1f0e8ae6ade43cb3c0ce4525424e404f"},
		"AccountSid":    {testSID},
		"From":          {"+15558675310"},
		"ApiVersion":    {"2010-04-01"},
	}
}

// inboundMMS is an incoming MMS with two pictures.
func inboundMMS() url.Values {
	f := inboundSMS()
	f.Set("MessageSid", "MM8dfedb55c129dd4d6bd1f59af9d11080")
	f.Set("Body", "")
	f.Set("NumMedia", "2")
	f.Set("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/"+testSID+"/Messages/MM8dfedb55c129dd4d6bd1f59af9d11080/Media/ME0")
	f.Set("MediaContentType0", "image/jpeg")
	f.Set("MediaUrl1", "https://api.twilio.com/2010-04-01/Accounts/"+testSID+"/Messages/MM8dfedb55c129dd4d6bd1f59af9d11080/Media/ME1")
	f.Set("MediaContentType1", "image/png")
	return f
}

// statusCB is a status callback as Twilio documents it.
func statusCB(status, errorCode string) url.Values {
	f := url.Values{
		"AccountSid":    {testSID},
		"From":          {"+14155552345"},
		"ApiVersion":    {"2010-04-01"},
		"MessageSid":    {"SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		"SmsSid":        {"SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		"MessageStatus": {status},
		"SmsStatus":     {status},
		"To":            {"+15558675310"},
	}
	if errorCode != "" {
		f.Set("ErrorCode", errorCode)
	}
	return f
}

func with(f url.Values, k, v string) url.Values {
	f.Set(k, v)
	return f
}

func without(f url.Values, k string) url.Values {
	f.Del(k)
	return f
}

func TestHandler(t *testing.T) {
	const inURL, stURL = testPublic + "/sms/twilio/inbound", testPublic + "/sms/twilio/status?id=ferry-42"
	smsIn := gateway.Inbound{Provider: "twilio", ProviderID: "SM1f0e8ae6ade43cb3c0ce4525424e404f",
		From: "+15558675310", To: "+14155552345", Body: "Hello from my phone", Time: testTime}
	report := func(state gateway.DeliveryState, text string) gateway.Report {
		return gateway.Report{Provider: "twilio", ID: "ferry-42", ProviderID: "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", State: state, Text: text}
	}
	tests := []struct {
		name    string
		req     *http.Request
		sinkErr error
		code    int
		twiml   bool // 200 with <Response/> as text/xml
		inbound []gateway.Inbound
		reports []gateway.Report
	}{
		{name: "inbound sms", req: twilioRequest("/sms/twilio/inbound", inURL, inboundSMS()),
			code: 200, twiml: true, inbound: []gateway.Inbound{smsIn}},
		{name: "inbound mms", req: twilioRequest("/sms/twilio/inbound", inURL, inboundMMS()),
			code: 200, twiml: true, inbound: []gateway.Inbound{{Provider: "twilio", ProviderID: "MM8dfedb55c129dd4d6bd1f59af9d11080",
				From: "+15558675310", To: "+14155552345", Time: testTime, MediaURLs: []string{
					"https://api.twilio.com/2010-04-01/Accounts/" + testSID + "/Messages/MM8dfedb55c129dd4d6bd1f59af9d11080/Media/ME0",
					"https://api.twilio.com/2010-04-01/Accounts/" + testSID + "/Messages/MM8dfedb55c129dd4d6bd1f59af9d11080/Media/ME1"}}}},
		{name: "inbound mms, NumMedia smaller than the URLs sent", req: twilioRequest("/sms/twilio/inbound", inURL, with(inboundMMS(), "NumMedia", "1")),
			code: 200, twiml: true, inbound: []gateway.Inbound{{Provider: "twilio", ProviderID: "MM8dfedb55c129dd4d6bd1f59af9d11080",
				From: "+15558675310", To: "+14155552345", Time: testTime, MediaURLs: []string{
					"https://api.twilio.com/2010-04-01/Accounts/" + testSID + "/Messages/MM8dfedb55c129dd4d6bd1f59af9d11080/Media/ME0"}}}},
		{name: "inbound mms, no NumMedia: consecutive MediaUrlN", req: twilioRequest("/sms/twilio/inbound", inURL, without(inboundMMS(), "NumMedia")),
			code: 200, twiml: true, inbound: []gateway.Inbound{{Provider: "twilio", ProviderID: "MM8dfedb55c129dd4d6bd1f59af9d11080",
				From: "+15558675310", To: "+14155552345", Time: testTime, MediaURLs: []string{
					"https://api.twilio.com/2010-04-01/Accounts/" + testSID + "/Messages/MM8dfedb55c129dd4d6bd1f59af9d11080/Media/ME0",
					"https://api.twilio.com/2010-04-01/Accounts/" + testSID + "/Messages/MM8dfedb55c129dd4d6bd1f59af9d11080/Media/ME1"}}}},
		{name: "inbound, sink fails: 503 so Twilio retries", req: twilioRequest("/sms/twilio/inbound", inURL, inboundSMS()),
			sinkErr: errors.New("disk full"), code: 503, inbound: []gateway.Inbound{smsIn}},
		{name: "inbound without MessageSid", req: twilioRequest("/sms/twilio/inbound", inURL, without(inboundSMS(), "MessageSid")),
			code: 400},
		{name: "inbound without From", req: twilioRequest("/sms/twilio/inbound", inURL, without(inboundSMS(), "From")),
			code: 400},

		// Authentication: refused before the sink sees anything.
		{name: "missing signature", req: twilioRequest("/sms/twilio/inbound", "", inboundSMS()), code: 403},
		{name: "signature over another URL (internal address)",
			req: twilioRequest("/sms/twilio/inbound", "http://127.0.0.1:8080/sms/twilio/inbound", inboundSMS()), code: 403},
		{name: "signature over another path",
			req: twilioRequest("/sms/twilio/inbound", testPublic+"/sms/twilio/status", inboundSMS()), code: 403},
		{name: "changed parameter", req: func() *http.Request {
			r := twilioRequest("/sms/twilio/inbound", inURL, inboundSMS())
			tampered := with(inboundSMS(), "Body", "Hello from someone else")
			r2 := httptest.NewRequest(http.MethodPost, "/sms/twilio/inbound", strings.NewReader(tampered.Encode()))
			r2.Header = r.Header
			return r2
		}(), code: 403},
		{name: "added parameter", req: func() *http.Request {
			r := twilioRequest("/sms/twilio/inbound", inURL, inboundSMS())
			r2 := httptest.NewRequest(http.MethodPost, "/sms/twilio/inbound", strings.NewReader(with(inboundSMS(), "MediaUrl0", "https://evil.example/x").Encode()))
			r2.Header = r.Header
			return r2
		}(), code: 403},
		{name: "changed query (report for another text)", req: func() *http.Request {
			r := twilioRequest("/sms/twilio/status?id=ferry-43", stURL, statusCB("delivered", ""))
			return r
		}(), code: 403},
		{name: "signed with another token", req: func() *http.Request {
			r := twilioRequest("/sms/twilio/inbound", inURL, inboundSMS())
			r.Header.Set(SignatureHeader, Sign("other-token", inURL, inboundSMS()))
			return r
		}(), code: 403},
		{name: "garbage signature", req: func() *http.Request {
			r := twilioRequest("/sms/twilio/inbound", inURL, inboundSMS())
			r.Header.Set(SignatureHeader, "not a signature")
			return r
		}(), code: 403},

		// Status callbacks.
		{name: "queued", req: twilioRequest("/sms/twilio/status?id=ferry-42", stURL, statusCB("queued", "")),
			code: 200, twiml: true, reports: []gateway.Report{report(gateway.Accepted, "")}},
		{name: "accepted", req: twilioRequest("/sms/twilio/status?id=ferry-42", stURL, statusCB("accepted", "")),
			code: 200, twiml: true, reports: []gateway.Report{report(gateway.Accepted, "")}},
		{name: "sent", req: twilioRequest("/sms/twilio/status?id=ferry-42", stURL, statusCB("sent", "")),
			code: 200, twiml: true, reports: []gateway.Report{report(gateway.Accepted, "")}},
		{name: "delivered", req: twilioRequest("/sms/twilio/status?id=ferry-42", stURL, statusCB("delivered", "")),
			code: 200, twiml: true, reports: []gateway.Report{report(gateway.Delivered, "")}},
		{name: "undelivered 30003", req: twilioRequest("/sms/twilio/status?id=ferry-42", stURL, statusCB("undelivered", "30003")),
			code: 200, twiml: true, reports: []gateway.Report{report(gateway.Failed,
				"message undelivered: unreachable destination handset (Twilio error 30003)")}},
		{name: "failed 30008", req: twilioRequest("/sms/twilio/status?id=ferry-42", stURL, statusCB("failed", "30008")),
			code: 200, twiml: true, reports: []gateway.Report{report(gateway.Failed, "message failed: unknown error (Twilio error 30008)")}},
		{name: "failed, unlisted code", req: twilioRequest("/sms/twilio/status?id=ferry-42", stURL, statusCB("failed", "63016")),
			code: 200, twiml: true, reports: []gateway.Report{report(gateway.Failed, "message failed (Twilio error 63016)")}},
		{name: "failed, no code", req: twilioRequest("/sms/twilio/status?id=ferry-42", stURL, statusCB("failed", "")),
			code: 200, twiml: true, reports: []gateway.Report{report(gateway.Failed, "message failed")}},
		{name: "status without id (not sent by Ferry)", req: twilioRequest("/sms/twilio/status", testPublic+"/sms/twilio/status", statusCB("delivered", "")),
			code: 200, twiml: true, reports: []gateway.Report{{Provider: "twilio", ProviderID: "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", State: gateway.Delivered}}},
		{name: "id with escaped characters", req: twilioRequest("/sms/twilio/status?id=a%2Fb+c%26d", testPublic+"/sms/twilio/status?id=a%2Fb+c%26d", statusCB("sent", "")),
			code: 200, twiml: true, reports: []gateway.Report{{Provider: "twilio", ID: "a/b c&d", ProviderID: "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", State: gateway.Accepted}}},
		{name: "status of no concern is acknowledged, not reported", req: twilioRequest("/sms/twilio/status?id=ferry-42", stURL, statusCB("receiving", "")),
			code: 200, twiml: true},
		{name: "status, sink fails", req: twilioRequest("/sms/twilio/status?id=ferry-42", stURL, statusCB("delivered", "")),
			sinkErr: errors.New("db locked"), code: 503, reports: []gateway.Report{report(gateway.Delivered, "")}},
		{name: "status without MessageStatus", req: twilioRequest("/sms/twilio/status?id=ferry-42", stURL, without(statusCB("delivered", ""), "MessageStatus")),
			code: 400},

		// Routing.
		{name: "GET is not allowed", req: httptest.NewRequest(http.MethodGet, "/sms/twilio/inbound", nil), code: 405},
		{name: "unknown path", req: twilioRequest("/sms/twilio/other", testPublic+"/sms/twilio/other", inboundSMS()), code: 404},
		{name: "body too large", req: twilioRequest("/sms/twilio/inbound", inURL, with(inboundSMS(), "Body", strings.Repeat("x", maxCallback))),
			code: 413},
		{name: "malformed form", req: func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/sms/twilio/inbound", strings.NewReader("Body=%zz"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}(), code: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &recSink{err: tt.sinkErr}
			w := httptest.NewRecorder()
			newTestProvider(t, testPublic).Handler(sink).ServeHTTP(w, tt.req)
			if w.Code != tt.code {
				t.Fatalf("status %d (%q), want %d", w.Code, w.Body.String(), tt.code)
			}
			if tt.twiml {
				mt, _, _ := mime.ParseMediaType(w.Header().Get("Content-Type"))
				if mt != "text/xml" || !strings.Contains(w.Body.String(), "<Response/>") {
					t.Errorf("answer %q %q, want empty TwiML as text/xml", w.Header().Get("Content-Type"), w.Body.String())
				}
			}
			if !reflect.DeepEqual(sink.inbounds, tt.inbound) {
				t.Errorf("sink.Inbound got %+v\nwant %+v", sink.inbounds, tt.inbound)
			}
			if !reflect.DeepEqual(sink.reports, tt.reports) {
				t.Errorf("sink.Report got %+v\nwant %+v", sink.reports, tt.reports)
			}
		})
	}
}

// TestHandlerBehindProxy: the signature is checked against PublicURL (with
// its path prefix), which is what Twilio calls, not the listener's address.
func TestHandlerBehindProxy(t *testing.T) {
	p := newTestProvider(t, "https://example.org:8443/ferry/")
	for _, tt := range []struct {
		signURL string
		code    int
	}{
		{"https://example.org:8443/ferry/sms/twilio/inbound", 200},
		{"https://example.org/ferry/sms/twilio/inbound", 403},
		{"https://example.org:8443/sms/twilio/inbound", 403},
		{"http://10.0.0.5:5280/sms/twilio/inbound", 403},
	} {
		sink := &recSink{}
		w := httptest.NewRecorder()
		p.Handler(sink).ServeHTTP(w, twilioRequest("/sms/twilio/inbound", tt.signURL, inboundSMS()))
		if w.Code != tt.code {
			t.Errorf("signed over %s: status %d, want %d", tt.signURL, w.Code, tt.code)
		}
		if want := map[int]int{200: 1, 403: 0}[tt.code]; sink.calls() != want {
			t.Errorf("signed over %s: %d sink calls, want %d", tt.signURL, sink.calls(), want)
		}
	}
}

// TestHandlerDuplicates: Twilio repeats a callback (after a 5xx or a
// timeout). The handler keeps no state and hands every copy to the sink
// unchanged, so the sink can de-duplicate by ProviderID; it answers each
// copy the same way.
func TestHandlerDuplicates(t *testing.T) {
	p := newTestProvider(t, testPublic)
	sink := &recSink{}
	h := p.Handler(sink)
	send := func(target, signURL string, form url.Values) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, twilioRequest(target, signURL, form))
		return w.Code
	}

	// First copy fails in the sink, Twilio retries, then a duplicate.
	sink.err = errors.New("temporarily unavailable")
	if code := send("/sms/twilio/inbound", testPublic+"/sms/twilio/inbound", inboundSMS()); code != 503 {
		t.Fatalf("first copy: %d, want 503", code)
	}
	sink.err = nil
	for i := range 2 {
		if code := send("/sms/twilio/inbound", testPublic+"/sms/twilio/inbound", inboundSMS()); code != 200 {
			t.Fatalf("copy %d: %d, want 200", i+2, code)
		}
	}
	for i := range 2 {
		if code := send("/sms/twilio/status?id=7", testPublic+"/sms/twilio/status?id=7", statusCB("delivered", "")); code != 200 {
			t.Fatalf("report copy %d: %d, want 200", i+1, code)
		}
	}
	if len(sink.inbounds) != 3 || len(sink.reports) != 2 {
		t.Fatalf("sink got %d inbound, %d reports; want 3 and 2", len(sink.inbounds), len(sink.reports))
	}
	for i := 1; i < 3; i++ {
		if !reflect.DeepEqual(sink.inbounds[i], sink.inbounds[0]) {
			t.Errorf("copy %d differs: %+v vs %+v", i, sink.inbounds[i], sink.inbounds[0])
		}
	}
	if !reflect.DeepEqual(sink.reports[0], sink.reports[1]) {
		t.Errorf("report copies differ: %+v vs %+v", sink.reports[0], sink.reports[1])
	}
	if sink.inbounds[0].ProviderID != "SM1f0e8ae6ade43cb3c0ce4525424e404f" || sink.reports[0].ProviderID != "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
		t.Errorf("ProviderIDs %q, %q", sink.inbounds[0].ProviderID, sink.reports[0].ProviderID)
	}
}

// TestHandlerOverHTTP runs one signed callback through a real server, so
// RequestURI is the one net/http parses from the wire.
func TestHandlerOverHTTP(t *testing.T) {
	sink := &recSink{}
	var p *Provider
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.Handler(sink).ServeHTTP(w, r) }))
	defer srv.Close()
	p = newTestProvider(t, srv.URL)

	target := srv.URL + "/sms/twilio/status?id=" + url.QueryEscape("x y/ü")
	form := statusCB("undelivered", "30005")
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(SignatureHeader, Sign(testToken, target, form))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	want := []gateway.Report{{Provider: "twilio", ID: "x y/ü", ProviderID: "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", State: gateway.Failed,
		Text: "message undelivered: unknown destination handset (Twilio error 30005)"}}
	if !reflect.DeepEqual(sink.reports, want) {
		t.Errorf("got %+v, want %+v", sink.reports, want)
	}
}

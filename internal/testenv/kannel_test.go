package testenv

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

const waitPhone = 10 * time.Second

// kannelRequest is one request Kannel made to the test's HTTP server.
type kannelRequest struct {
	Method, Path string
	Query        url.Values
	ContentType  string
	Body         string
}

// startRecorder runs an HTTP server that answers 200 to everything and
// passes each request on.
func startRecorder(t *testing.T) (*httptest.Server, <-chan kannelRequest) {
	t.Helper()
	reqs := make(chan kannelRequest, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		reqs <- kannelRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), ContentType: r.Header.Get("Content-Type"), Body: string(body)}
	}))
	t.Cleanup(srv.Close)
	return srv, reqs
}

func nextRequest(t *testing.T, reqs <-chan kannelRequest, path string) kannelRequest {
	t.Helper()
	timeout := time.After(waitPhone)
	for {
		select {
		case r := <-reqs:
			if r.Path == path {
				return r
			}
			t.Logf("ignoring request to %s", r.Path)
		case <-timeout:
			t.Fatalf("no request to %s within %v", path, waitPhone)
		}
	}
}

// sendSMS calls Kannel's sendsms interface and returns the status and body.
func sendSMS(t *testing.T, k *Kannel, params url.Values) (int, string) {
	t.Helper()
	if params.Get("username") == "" {
		params.Set("username", k.Username)
		params.Set("password", k.Password)
	}
	resp, err := http.Get(k.SendSMSURL + "?" + params.Encode())
	if err != nil {
		t.Fatalf("sendsms: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func toPhone(to string) func(FakeSMS) bool {
	return func(m FakeSMS) bool { return m.To == to }
}

func TestKannelToPhone(t *testing.T) {
	t.Parallel()
	NeedKannel(t)
	rec, reqs := startRecorder(t)
	start := time.Now()
	k := StartKannel(t, KannelOptions{})
	t.Logf("kannel ready in %v", time.Since(start))
	if k.Username != "ferry" || k.Password != "secret" || !strings.HasPrefix(k.SendSMSURL, "http://127.0.0.1:") || !strings.HasSuffix(k.SendSMSURL, "/cgi-bin/sendsms") {
		t.Fatalf("unexpected kannel: %+v", k)
	}
	if s := k.Status(t); !strings.Contains(s, "Status: running") {
		t.Errorf("status: %s", s)
	}

	// A short text, with delivery reports to a URL of ours.
	status, body := sendSMS(t, k, url.Values{"from": {"+15550001"}, "to": {"+15551001"}, "text": {"hello, phone"},
		"dlr-mask": {"31"}, "dlr-url": {rec.URL + "/dlr?id=x1&status=%d&answer=%A"}})
	if status != http.StatusAccepted || body != "0: Accepted for delivery" {
		t.Fatalf("sendsms: %d %q", status, body)
	}
	m := k.ExpectAtPhone(t, waitPhone, toPhone("+15551001"))
	if m.From != "+15550001" || m.Text != "hello, phone" || m.Coding != 0 || m.Parts != 1 || m.UDH != nil || m.Raw != "+15550001 +15551001 text hello, phone" {
		t.Errorf("got %#v", m)
	}
	// Both reports, in either order: smsbox fetches them concurrently.
	seen := map[string]string{}
	for range 2 {
		r := nextRequest(t, reqs, "/dlr")
		if r.Query.Get("id") != "x1" {
			t.Errorf("DLR %v", r.Query)
		}
		seen[r.Query.Get("status")] = r.Query.Get("answer")
	}
	if len(seen) != 2 || seen["8"] != "ACK/" || seen["1"] != "" {
		t.Errorf("DLRs (status: answer) %q, want 8 and 1", seen)
	}

	// Long texts come in concatenated parts, joined here.
	long := strings.Repeat("0123456789", 20)
	sendSMS(t, k, url.Values{"from": {"1"}, "to": {"1002"}, "text": {long}})
	m = k.ExpectAtPhone(t, waitPhone, toPhone("1002"))
	if m.Text != long || m.Parts != 2 || m.Coding != 0 || len(m.UDH) != 6 || strings.Count(m.Raw, "\n") != 1 {
		t.Errorf("got %#v", m)
	}

	// Unicode needs coding=2 and a charset.
	uni := "héllo wörld 😀 — ok"
	sendSMS(t, k, url.Values{"from": {"1"}, "to": {"1003"}, "text": {uni}, "coding": {"2"}, "charset": {"UTF-8"}})
	m = k.ExpectAtPhone(t, waitPhone, toPhone("1003"))
	if m.Text != uni || m.Coding != 2 || m.Parts != 1 {
		t.Errorf("got %#v", m)
	}
	longUni := strings.Repeat("😀é", 40)
	sendSMS(t, k, url.Values{"from": {"1"}, "to": {"1004"}, "text": {longUni}, "coding": {"2"}, "charset": {"UTF-8"}})
	m = k.ExpectAtPhone(t, waitPhone, toPhone("1004"))
	if m.Text != longUni || m.Coding != 2 || m.Parts != 2 {
		t.Errorf("got %#v", m)
	}
	// GSM 7-bit with extension characters, as UTF-8, over two parts.
	gsm := strings.Repeat("é€[", 40)
	sendSMS(t, k, url.Values{"from": {"1"}, "to": {"1005"}, "text": {gsm}, "charset": {"UTF-8"}})
	m = k.ExpectAtPhone(t, waitPhone, toPhone("1005"))
	if m.Text != gsm || m.Coding != 0 || m.Parts != 2 {
		t.Errorf("got %#v", m)
	}
	// A single-part text with line breaks comes as several lines.
	sendSMS(t, k, url.Values{"from": {"1"}, "to": {"1006"}, "text": {"line one\n\nline 3 % <x>"}})
	m = k.ExpectAtPhone(t, waitPhone, toPhone("1006"))
	if m.Text != "line one\n\nline 3 % <x>" || m.Parts != 1 {
		t.Errorf("got %#v", m)
	}

	// Wrong credentials.
	status, body = sendSMS(t, k, url.Values{"username": {"ferry"}, "password": {"wrong"}, "from": {"1"}, "to": {"1007"}, "text": {"x"}})
	if status != http.StatusForbidden || !strings.Contains(body, "Authorization failed") {
		t.Errorf("bad password: %d %q", status, body)
	}
	k.ExpectNoneAtPhone(t, 1500*time.Millisecond, nil)
}

func TestKannelFromPhone(t *testing.T) {
	t.Parallel()
	NeedKannel(t)
	rec, reqs := startRecorder(t)
	k := StartKannel(t, KannelOptions{PostURL: rec.URL + "/mo?from=%p&to=%P&id=%I&coding=%c&ts=%T&x=a%%2Fb"})

	check := func(to, text string) kannelRequest {
		t.Helper()
		r := nextRequest(t, reqs, "/mo")
		if r.Method != http.MethodPost || r.Query.Get("from") != "+15551001" || r.Query.Get("to") != to || r.Body != text {
			t.Errorf("MO %+v, want to %s text %q", r, to, text)
		}
		if r.Query.Get("id") == "" || r.Query.Get("ts") == "" || r.Query.Get("x") != "a/b" || r.ContentType != `text/plain; charset="UTF-8"` {
			t.Errorf("MO %+v", r)
		}
		return r
	}
	k.SendFromPhone(t, "+15551001", "+15550001", "  hello, gateway ")
	check("+15550001", "  hello, gateway ")
	k.SendFromPhone(t, "+15551001", "+15550002", "héllo 😀\nbye")
	if r := check("+15550002", "héllo 😀\nbye"); r.Query.Get("coding") != "0" {
		t.Errorf("recoded UCS-2 arrives as coding %s", r.Query.Get("coding"))
	}
	// Lines longer than fakesmsc's buffer, one after the other at once.
	long := strings.Repeat("abcdefghij", 60)
	longUni := strings.Repeat("ü", 100)
	k.SendFromPhone(t, "+15551001", "+15550003", long)
	k.SendFromPhone(t, "+15551001", "+15550004", longUni)
	// smsbox posts concurrently: the two may arrive in either order.
	want := map[string]string{"+15550003": long, "+15550004": longUni}
	for range 2 {
		r := nextRequest(t, reqs, "/mo")
		if text, ok := want[r.Query.Get("to")]; !ok || r.Body != text {
			t.Errorf("MO %+v: unexpected", r)
		}
		delete(want, r.Query.Get("to"))
	}
	// The lengths fakesmsc cannot read as they are.
	for _, n := range []int{255 - len("+15551001 +15550005 text "), 2*255 - len("+15551001 +15550005 text ")} {
		text := strings.Repeat("x", n)
		k.SendFromPhone(t, "+15551001", "+15550005", text)
		check("+15550005", text)
	}
	// As UCS-2 too, where a byte goes unencoded (here 0xE9).
	if line := "+15551001 +1555000 ucs2 " + strings.Repeat("%00%E9", 81); fakeSMSCCanRead(line) {
		t.Fatalf("not the case to test: %d bytes", len(line))
	}
	k.SendFromPhone(t, "+15551001", "+1555000", strings.Repeat("é", 81))
	check("+1555000", strings.Repeat("é", 81))
	// Concatenated parts arrive as one text.
	k.SendRawFromPhone(t, "+15551001 +15550006 udh-text %05%00%03%2A%02%01 first part, ")
	k.SendRawFromPhone(t, "+15551001 +15550006 udh-text %05%00%03%2A%02%02 second part")
	check("+15550006", "first part, second part")
}

func TestKannelRestart(t *testing.T) {
	t.Parallel()
	NeedKannel(t)
	rec, reqs := startRecorder(t)
	k := StartKannel(t, KannelOptions{PostURL: rec.URL + "/mo?from=%p", Username: "u", Password: "pw", MaxMessages: 2})
	sendSMS(t, k, url.Values{"from": {"1"}, "to": {"2001"}, "text": {"before"}})
	k.ExpectAtPhone(t, waitPhone, toPhone("2001"))
	sendURL := k.SendSMSURL

	start := time.Now()
	k.Stop(t)
	t.Logf("kannel stopped in %v", time.Since(start))
	k.Stop(t) // stopping twice does nothing
	if _, err := http.Get(sendURL); err == nil {
		t.Errorf("sendsms still answers after Stop")
	}
	start = time.Now()
	k.Start(t)
	t.Logf("kannel restarted in %v", time.Since(start))
	if k.SendSMSURL != sendURL {
		t.Errorf("sendsms URL changed: %s -> %s", sendURL, k.SendSMSURL)
	}

	// max-messages = 2: the text is cut to two parts, and Kannel says
	// nothing.
	long := strings.Repeat("x", 153*3)
	status, body := sendSMS(t, k, url.Values{"from": {"1"}, "to": {"2002"}, "text": {long}})
	if status != http.StatusAccepted {
		t.Errorf("sendsms: %d %q", status, body)
	}
	if m := k.ExpectAtPhone(t, waitPhone, toPhone("2002")); m.Parts != 2 || m.Text != long[:153*2] {
		t.Errorf("got %s", m)
	}
	k.SendFromPhone(t, "2003", "1", "after")
	if r := nextRequest(t, reqs, "/mo"); r.Body != "after" || r.Query.Get("from") != "2003" {
		t.Errorf("MO %+v", r)
	}
}

func TestParsePhoneLine(t *testing.T) {
	for _, tc := range []struct {
		line   string
		ok     bool
		text   string
		coding int
	}{
		{"1 2 text hello world ", true, "hello world ", 0},
		{"1 2 text ", true, "", 0},
		{"1 2 data %01%02", true, "\x01\x02", 1},
		{"1 2 ucs-2 %00h%00%E9%D8%3D%DE%00", true, "hé😀", 2},
		{"1 2 udh %05%00%03%01%02%01 data ab+cd", true, "ab cd", 0},
		{"1 2 udh %05%00%03%01%02%01 data %D8%3D%DE%00", true, "😀", 2},
		{"1 2 udh %05%00%03%01%02%01 data %00a%00b", true, "ab", 2},
		{"line two", false, "", 0},
		{"a b c", false, "", 0},
		{"", false, "", 0},
		{"1 2 udh %05 nodata", false, "", 0},
	} {
		m, ok := parsePhoneLine(tc.line)
		if ok != tc.ok || ok && (m.Text != tc.text || m.Coding != tc.coding || m.Raw != tc.line) {
			t.Errorf("%q: %v %#v", tc.line, ok, m)
		}
	}
	for _, tc := range []struct {
		udh             string
		ref, total, seq int
		ok              bool
	}{
		{"\x05\x00\x03\x2a\x02\x01", 0x2a, 2, 1, true},
		{"\x06\x08\x04\x01\x02\x03\x03", 0x102, 3, 3, true},
		{"\x08\x01\x01\x00\x00\x03\x07\x02\x02", 7, 2, 2, true},
		{"\x05\x00\x03\x2a\x02\x03", 0, 0, 0, false},
		{"\x05\x00\x03", 0, 0, 0, false},
		{"", 0, 0, 0, false},
	} {
		ref, total, seq, ok := concatInfo([]byte(tc.udh))
		if ok != tc.ok || ok && (ref != tc.ref || total != tc.total || seq != tc.seq) {
			t.Errorf("%x: %d %d %d %v", tc.udh, ref, total, seq, ok)
		}
	}
}

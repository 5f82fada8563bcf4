package kannel

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges/sms/gateway"
)

const (
	testSecret = "s3cr%t&x"
	testPublic = "http://ferry.example:8080/"
)

// recordingSink keeps what the handler passes on, and fails while err is set.
type recordingSink struct {
	mu       sync.Mutex
	inbound  []gateway.Inbound
	reports  []gateway.Report
	err      error
	received chan struct{} // gets a value for each call, failed or not
}

func newSink() *recordingSink { return &recordingSink{received: make(chan struct{}, 100)} }

func (s *recordingSink) Inbound(_ context.Context, m gateway.Inbound) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received <- struct{}{}
	s.inbound = append(s.inbound, m)
	return s.err
}

func (s *recordingSink) Report(_ context.Context, r gateway.Report) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received <- struct{}{}
	s.reports = append(s.reports, r)
	return s.err
}

func (s *recordingSink) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *recordingSink) calls() ([]gateway.Inbound, []gateway.Report) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]gateway.Inbound(nil), s.inbound...), append([]gateway.Report(nil), s.reports...)
}

func newTestProvider(t *testing.T, sendURL string) *Provider {
	t.Helper()
	p, err := New(Config{SendSMSURL: sendURL, Username: "ferry", Password: "p&ss word", PublicURL: testPublic, Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNew(t *testing.T) {
	good := Config{SendSMSURL: "http://127.0.0.1:13013/cgi-bin/sendsms", Username: "u", PublicURL: "https://gw.example/ferry", Secret: "x"}
	p, err := New(good)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "kannel" || p.client == nil {
		t.Errorf("provider %+v", p)
	}
	for name, change := range map[string]func(*Config){
		"no sendsms URL":   func(c *Config) { c.SendSMSURL = "" },
		"relative sendsms": func(c *Config) { c.SendSMSURL = "/cgi-bin/sendsms" },
		"ftp sendsms":      func(c *Config) { c.SendSMSURL = "ftp://h/x" },
		"no username":      func(c *Config) { c.Username = "" },
		"no public URL":    func(c *Config) { c.PublicURL = "" },
		"public query":     func(c *Config) { c.PublicURL = "https://gw.example/?a=b" },
		"no secret":        func(c *Config) { c.Secret = "" },
	} {
		c := good
		change(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestPostURL(t *testing.T) {
	got := PostURL("http://127.0.0.1:8080/", "a b%c")
	want := "http://127.0.0.1:8080/sms/kannel/mo?secret=a+b%%25c&from=%p&to=%P&id=%I&ts=%T"
	if got != want {
		t.Errorf("PostURL\n got %s\nwant %s", got, want)
	}
	p := newTestProvider(t, "http://127.0.0.1:1/cgi-bin/sendsms")
	if got, want := p.PostURL(), PostURL(testPublic, testSecret); got != want {
		t.Errorf("p.PostURL() = %s, want %s", got, want)
	}
}

// kannelExpand does what Kannel does with a URL template: "%%" is "%", and
// the escapes given are replaced (URL-encoded, as Kannel does).
func kannelExpand(t *testing.T, tmpl string, values map[byte]string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '%' || i+1 == len(tmpl) {
			b.WriteByte(tmpl[i])
			continue
		}
		i++
		if tmpl[i] == '%' {
			b.WriteByte('%')
			continue
		}
		v, ok := values[tmpl[i]]
		if !ok {
			t.Fatalf("template %q: unexpected escape %%%c", tmpl, tmpl[i])
		}
		b.WriteString(url.QueryEscape(v))
	}
	return b.String()
}

// fakeSendSMS is Kannel's sendsms interface: it records each query and
// answers status and body.
type fakeSendSMS struct {
	*httptest.Server
	queries chan url.Values
	raw     chan string
}

func newFakeSendSMS(t *testing.T, status int, body string) *fakeSendSMS {
	t.Helper()
	f := &fakeSendSMS{queries: make(chan url.Values, 10), raw: make(chan string, 10)}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/cgi-bin/sendsms" {
			t.Errorf("sendsms request %s %s", r.Method, r.URL.Path)
		}
		f.queries <- r.URL.Query()
		f.raw <- r.URL.RawQuery
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func TestSendQuery(t *testing.T) {
	f := newFakeSendSMS(t, http.StatusAccepted, "0: Accepted for delivery")
	p := newTestProvider(t, f.URL+"/cgi-bin/sendsms")
	id := "id/with%&é"
	res, err := p.Send(context.Background(), gateway.Outbound{ID: id, From: "+15550001", To: "+15551234", Body: "héllo [€] 100%"})
	if err != nil || res != (gateway.SendResult{}) {
		t.Fatalf("Send: %+v %v", res, err)
	}
	q := <-f.queries
	dlr := "http://ferry.example:8080/sms/kannel/dlr?secret=s3cr%%25t%%26x&id=id%%2Fwith%%25%%26%%C3%%A9&status=%d&answer=%A"
	want := url.Values{
		"username": {"ferry"}, "password": {"p&ss word"}, "from": {"+15550001"}, "to": {"+15551234"},
		"text": {"héllo [€] 100%"}, "charset": {"UTF-8"}, "dlr-mask": {"31"}, "dlr-url": {dlr},
	}
	if q.Encode() != want.Encode() {
		t.Errorf("query\n got %v\nwant %v", q, want)
	}

	// What Kannel makes of the dlr-url reaches the handler intact.
	report := kannelExpand(t, q.Get("dlr-url"), map[byte]string{'d': "16", 'A': "NACK/11/Invalid Destination Address"})
	u, err := url.Parse(report)
	if err != nil {
		t.Fatal(err)
	}
	sink := newSink()
	rec := httptest.NewRecorder()
	p.Handler(sink).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u.RequestURI(), nil))
	_, reports := sink.calls()
	if rec.Code != http.StatusOK || len(reports) != 1 {
		t.Fatalf("DLR %s: %d %q, reports %+v", report, rec.Code, rec.Body, reports)
	}
	wantRep := gateway.Report{Provider: "kannel", ID: id, State: gateway.Failed, Text: "rejected by the SMSC: NACK/11/Invalid Destination Address"}
	if reports[0] != wantRep {
		t.Errorf("report %+v, want %+v", reports[0], wantRep)
	}

	// Unicode needs UCS-2; media URLs become lines; no id, no reports.
	if _, err := p.Send(context.Background(), gateway.Outbound{From: "Ferry", To: "+15551234", Body: "look 😀", MediaURLs: []string{"https://x.example/a.jpg", "https://x.example/b.png"}}); err != nil {
		t.Fatal(err)
	}
	q = <-f.queries
	want = url.Values{
		"username": {"ferry"}, "password": {"p&ss word"}, "from": {"Ferry"}, "to": {"+15551234"},
		"text": {"look 😀\nhttps://x.example/a.jpg\nhttps://x.example/b.png"}, "charset": {"UTF-8"}, "coding": {"2"},
	}
	if q.Encode() != want.Encode() {
		t.Errorf("query\n got %v\nwant %v", q, want)
	}
	// Media alone, and no sender (Kannel's default sender, if any).
	if _, err := p.Send(context.Background(), gateway.Outbound{To: "1", MediaURLs: []string{"https://x.example/a.jpg"}}); err != nil {
		t.Fatal(err)
	}
	if q = <-f.queries; q.Get("text") != "https://x.example/a.jpg" || q.Has("from") || q.Has("coding") {
		t.Errorf("query %v", q)
	}
}

func TestSendAnswers(t *testing.T) {
	for _, tc := range []struct {
		status    int
		body      string
		queued    bool
		err       bool
		temporary bool
		text      string
	}{
		{202, "0: Accepted for delivery", false, false, false, ""},
		{202, "3: Queued for later delivery", true, false, false, ""},
		{200, "0: Accepted for delivery\n", false, false, false, ""},
		{202, "<html>what</html>", false, true, false, "unexpected answer from Kannel's sendsms: <html>what</html>"},
		{403, "Authorization failed for sendsms", false, true, false, "Kannel refused the sendsms user (bad credentials or address not allowed): Authorization failed for sendsms"},
		{400, "Number(s) has/have been denied by white- and/or black-lists.", false, true, false, "Number(s) has/have been denied by white- and/or black-lists."},
		{404, "", false, true, false, "404 Not Found"},
		{500, "Sending failed.", false, true, true, "Sending failed."},
		{503, "", false, true, true, "503 Service Unavailable"},
	} {
		f := newFakeSendSMS(t, tc.status, tc.body)
		p := newTestProvider(t, f.URL+"/cgi-bin/sendsms")
		res, err := p.Send(context.Background(), gateway.Outbound{ID: "1", From: "1", To: "2", Body: "x"})
		if !tc.err {
			if err != nil || res.Queued != tc.queued || res.ProviderID != "" {
				t.Errorf("%d %q: %+v %v", tc.status, tc.body, res, err)
			}
			continue
		}
		var se *gateway.SendError
		if !errors.As(err, &se) {
			t.Errorf("%d %q: error %v is not a *SendError", tc.status, tc.body, err)
			continue
		}
		if se.Temporary != tc.temporary || se.Code != strconv.Itoa(tc.status) || se.Text != tc.text || se.OptOut {
			t.Errorf("%d %q: %+v", tc.status, tc.body, se)
		}
	}
}

func TestSendErrors(t *testing.T) {
	// Kannel down: temporary, and the password stays out of the text.
	f := newFakeSendSMS(t, 202, "0: Accepted for delivery")
	f.Close()
	p := newTestProvider(t, f.URL+"/cgi-bin/sendsms")
	_, err := p.Send(context.Background(), gateway.Outbound{ID: "1", To: "2", Body: "x"})
	var se *gateway.SendError
	if !errors.As(err, &se) || !se.Temporary || se.Code != "network" {
		t.Errorf("Kannel down: %v", err)
	}
	if strings.Contains(err.Error(), "p%26ss") || strings.Contains(err.Error(), "password") || strings.Contains(err.Error(), "sendsms?") {
		t.Errorf("error shows the URL: %v", err)
	}
	// A cancelled context is temporary too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Send(ctx, gateway.Outbound{To: "2", Body: "x"}); !errors.As(err, &se) || !se.Temporary {
		t.Errorf("cancelled: %v", err)
	}
	// Refused before asking Kannel.
	for _, m := range []gateway.Outbound{{To: "", Body: "x"}, {To: "1"}, {To: "1", Body: "\xff"}} {
		if _, err := p.Send(context.Background(), m); !errors.As(err, &se) || se.Temporary || se.Code != "invalid" {
			t.Errorf("%+v: %v", m, err)
		}
	}
}

func TestIsGSM7(t *testing.T) {
	for s, want := range map[string]bool{
		"":                            true,
		"Hello, world! 100% @home $5": true,
		"line\nbreak\r\f":             true,
		"[]{}|~^\\€":                  true,
		"ÄÖÑÜäöñüàèéùìòÇØøÅåÆæßÉ¡¿§¤£¥": true,
		"ΔΦΓΛΩΠΨΣΘΞ_": true,
		"`":           false,
		"tab\t":       false,
		"ç":           false,
		"á":           false,
		"😀":           false,
		"α":           false,
		"\x1b":        false,
	} {
		if got := isGSM7(s); got != want {
			t.Errorf("isGSM7(%q) = %v", s, got)
		}
	}
}

// serve runs one request through the handler.
func serve(t *testing.T, p *Provider, sink gateway.Sink, method, target, contentType, body string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	p.Handler(sink).ServeHTTP(rec, req)
	return rec
}

const secretQ = "secret=s3cr%25t%26x"

func TestHandlerMO(t *testing.T) {
	p := newTestProvider(t, "http://127.0.0.1:1/cgi-bin/sendsms")
	sink := newSink()
	rec := serve(t, p, sink, http.MethodPost, "/sms/kannel/mo?"+secretQ+"&from=%2B15551234&to=%2B15550001&id=abc-1&ts=1795551276",
		`text/plain; charset="UTF-8"`, "héllo 😀\nbye")
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Fatalf("MO: %d %q", rec.Code, rec.Body)
	}
	in, _ := sink.calls()
	want := gateway.Inbound{Provider: "kannel", ProviderID: "abc-1", From: "+15551234", To: "+15550001", Body: "héllo 😀\nbye", Time: time.Unix(1795551276, 0).UTC()}
	if len(in) != 1 || in[0].Provider != want.Provider || in[0].ProviderID != want.ProviderID || in[0].From != want.From ||
		in[0].To != want.To || in[0].Body != want.Body || !in[0].Time.Equal(want.Time) || in[0].MediaURLs != nil {
		t.Errorf("inbound %+v, want %+v", in, want)
	}

	// Other charsets, GET with text=, no id or ts.
	for _, tc := range []struct {
		method, query, contentType, body, want string
	}{
		{"POST", "", `text/plain; charset="UTF-16BE"`, "\x00h\x00\xe9\xd8\x3d\xde\x00", "hé😀"},
		{"POST", "", "text/plain; charset=ISO-8859-1", "h\xe9", "hé"},
		{"POST", "", "", "plain", "plain"},
		{"POST", "", "text/plain", "bad \xff byte", "bad \uFFFD byte"},
		{"POST", "&text=from+the+URL", "text/plain", "", "from the URL"},
		{"POST", "", "text/plain", "", ""},
		{"GET", "&text=h%C3%A9+there", "", "", "hé there"},
		{"GET", "&text=%00h%00%E9&charset=UTF-16BE", "", "", "hé"},
	} {
		sink := newSink()
		rec := serve(t, p, sink, tc.method, "/sms/kannel/mo?"+secretQ+"&from=1&to=2"+tc.query, tc.contentType, tc.body)
		in, _ := sink.calls()
		if rec.Code != http.StatusOK || len(in) != 1 || in[0].Body != tc.want || in[0].ProviderID != "" || time.Since(in[0].Time) > time.Minute {
			t.Errorf("%s %q %q %q: %d %q, inbound %+v", tc.method, tc.query, tc.contentType, tc.body, rec.Code, rec.Body, in)
		}
	}
}

func TestHandlerRefuses(t *testing.T) {
	p := newTestProvider(t, "http://127.0.0.1:1/cgi-bin/sendsms")
	mo := "/sms/kannel/mo?from=1&to=2&"
	dlr := "/sms/kannel/dlr?id=1&status=1&"
	big := strings.Repeat("x", MaxBodyBytes+1)
	for _, tc := range []struct {
		method, target, contentType, body string
		code                              int
	}{
		// Authentication first, whatever else is wrong.
		{"POST", mo, "", "x", 403},
		{"POST", mo + "secret=", "", "x", 403},
		{"POST", mo + "secret=s3cr", "", "x", 403},
		{"POST", mo + "secret=s3cr%25t%26xy", "", "x", 403},
		{"POST", mo + secretQ + "&" + secretQ, "", "x", 403},
		{"GET", dlr + "secret=wrong", "", "", 403},
		{"GET", "/sms/kannel/dlr?secret=wrong&id=%zz", "", "", 403},
		{"POST", mo + "secret=wrong", "", big, 403},
		// Then the request.
		{"GET", "/sms/kannel/other?" + secretQ, "", "", 404},
		{"PUT", mo + secretQ, "", "x", 405},
		{"DELETE", dlr + secretQ, "", "", 405},
		{"POST", "/sms/kannel/mo?to=2&" + secretQ, "", "x", 400},
		{"POST", "/sms/kannel/mo?from=&to=2&" + secretQ, "", "x", 400},
		{"POST", "/sms/kannel/mo?from=1&from=3&to=2&" + secretQ, "", "x", 400},
		{"POST", mo + secretQ + "&ts=yesterday", "", "x", 400},
		{"POST", mo + secretQ + "&id=a&id=b", "", "x", 400},
		{"POST", mo + secretQ + "&bad=%zz", "", "x", 400},
		{"POST", mo + secretQ, "text/plain; charset=EBCDIC", "x", 400},
		{"POST", mo + secretQ, "text/plain; charset=UTF-16BE", "odd", 400},
		{"POST", mo + secretQ, "text/plain; charset", "x", 400},
		{"GET", mo + secretQ, "", "", 400},
		{"POST", mo + secretQ, "", big, 413},
		{"GET", mo + secretQ + "&text=" + big, "", "", 413},
		{"GET", "/sms/kannel/dlr?status=1&" + secretQ, "", "", 400},
		{"GET", "/sms/kannel/dlr?id=&status=1&" + secretQ, "", "", 400},
		{"GET", "/sms/kannel/dlr?id=1&" + secretQ, "", "", 400},
		{"GET", "/sms/kannel/dlr?id=1&status=3&" + secretQ, "", "", 400},
		{"GET", "/sms/kannel/dlr?id=1&status=x&" + secretQ, "", "", 400},
	} {
		sink := newSink()
		rec := serve(t, p, sink, tc.method, tc.target, tc.contentType, tc.body)
		in, reps := sink.calls()
		if rec.Code != tc.code || len(in) != 0 || len(reps) != 0 {
			t.Errorf("%s %.80s: %d %q, want %d; sink got %v %v", tc.method, tc.target, rec.Code, rec.Body, tc.code, in, reps)
		}
		if tc.code == 405 && rec.Header().Get("Allow") != "GET, POST" {
			t.Errorf("405 without Allow: %v", rec.Header())
		}
	}
}

func TestHandlerDLR(t *testing.T) {
	p := newTestProvider(t, "http://127.0.0.1:1/cgi-bin/sendsms")
	for _, tc := range []struct {
		query string
		want  gateway.Report
	}{
		{"status=8&answer=ACK%2F", gateway.Report{State: gateway.Accepted}},
		{"status=4", gateway.Report{State: gateway.Accepted}},
		{"status=1&answer=", gateway.Report{State: gateway.Delivered}},
		{"status=2&answer=Expired", gateway.Report{State: gateway.Failed, Text: "not delivered: Expired"}},
		{"status=2", gateway.Report{State: gateway.Failed, Text: "not delivered"}},
		{"status=16&answer=NACK%2F11%2FInvalid+Destination+Address", gateway.Report{State: gateway.Failed, Text: "rejected by the SMSC: NACK/11/Invalid Destination Address"}},
	} {
		for _, method := range []string{"GET", "POST"} {
			sink := newSink()
			rec := serve(t, p, sink, method, "/sms/kannel/dlr?"+secretQ+"&id=ferry-42&"+tc.query, "", "")
			_, reps := sink.calls()
			tc.want.Provider, tc.want.ID = "kannel", "ferry-42"
			if rec.Code != http.StatusOK || rec.Body.Len() != 0 || len(reps) != 1 || reps[0] != tc.want {
				t.Errorf("%s %s: %d %q, reports %+v, want %+v", method, tc.query, rec.Code, rec.Body, reps, tc.want)
			}
		}
	}
}

func TestHandlerSinkError(t *testing.T) {
	p := newTestProvider(t, "http://127.0.0.1:1/cgi-bin/sendsms")
	sink := newSink()
	sink.setErr(errors.New("disk full"))
	rec := serve(t, p, sink, "POST", "/sms/kannel/mo?"+secretQ+"&from=1&to=2&id=k1", "", "hi")
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "disk") {
		t.Errorf("MO with a failing sink: %d %q", rec.Code, rec.Body)
	}
	rec = serve(t, p, sink, "GET", "/sms/kannel/dlr?"+secretQ+"&id=1&status=1", "", "")
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("DLR with a failing sink: %d %q", rec.Code, rec.Body)
	}
	// Kannel retries with the same id: de-duplication is the sink's business.
	sink.setErr(nil)
	rec = serve(t, p, sink, "POST", "/sms/kannel/mo?"+secretQ+"&from=1&to=2&id=k1", "", "hi")
	rec2 := serve(t, p, sink, "POST", "/sms/kannel/mo?"+secretQ+"&from=1&to=2&id=k1", "", "hi")
	in, _ := sink.calls()
	if rec.Code != 200 || rec2.Code != 200 || len(in) != 3 || in[1].ProviderID != "k1" || in[2].ProviderID != "k1" {
		t.Errorf("retries: %d %d %+v", rec.Code, rec2.Code, in)
	}
}

// The operator may serve the callbacks under a path of their own: texts
// and reports arrive there, the default path is 404, and the post-url and
// dlr-url Kannel is given name the chosen path.
func TestCustomPath(t *testing.T) {
	p, err := New(Config{SendSMSURL: "http://127.0.0.1:1/cgi-bin/sendsms", Username: "ferry", PublicURL: testPublic,
		Secret: testSecret, Path: "/hooks/kannel-a/"})
	if err != nil {
		t.Fatal(err)
	}
	sink := newSink()
	if rec := serve(t, p, sink, http.MethodPost, "/hooks/kannel-a/mo?"+secretQ+"&from=1&to=2", "text/plain", "hi"); rec.Code != http.StatusOK {
		t.Errorf("custom MO path: %d", rec.Code)
	}
	if rec := serve(t, p, sink, http.MethodPost, "/sms/kannel/mo?"+secretQ+"&from=1&to=2", "text/plain", "hi"); rec.Code != http.StatusNotFound {
		t.Errorf("default MO path: %d, want 404", rec.Code)
	}
	if in, _ := sink.calls(); len(in) != 1 {
		t.Errorf("inbound %+v", in)
	}
	if u := p.PostURL(); !strings.HasPrefix(u, "http://ferry.example:8080/hooks/kannel-a/mo?") {
		t.Errorf("post-url %s", u)
	}
	if u := p.dlrURL("x"); !strings.HasPrefix(u, "http://ferry.example:8080/hooks/kannel-a/dlr?") {
		t.Errorf("dlr-url %s", u)
	}
	for _, bad := range []string{"hooks", "/a?b", "/a b", "//x"} {
		if _, err := New(Config{SendSMSURL: "http://127.0.0.1:1/", Username: "u", PublicURL: testPublic, Secret: "s", Path: bad}); err == nil {
			t.Errorf("path %q accepted", bad)
		}
	}
}

package twilio

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-xmpp/ferry/bridges/sms/gateway"
)

// createdJSON is a Message resource as Twilio answers a create (201).
const createdJSON = `{
  "account_sid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
  "api_version": "2010-04-01",
  "body": "Hello from Ferry",
  "date_created": "Sun, 01 Mar 2026 12:00:00 +0000",
  "date_sent": null,
  "date_updated": "Sun, 01 Mar 2026 12:00:00 +0000",
  "direction": "outbound-api",
  "error_code": null,
  "error_message": null,
  "from": "+14155552345",
  "messaging_service_sid": null,
  "num_media": "0",
  "num_segments": "1",
  "price": null,
  "price_unit": "USD",
  "sid": "SM1234567890abcdef1234567890abcdef",
  "status": "queued",
  "subresource_uris": {
    "media": "/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Messages/SM1234567890abcdef1234567890abcdef/Media.json"
  },
  "to": "+15558675310",
  "uri": "/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Messages/SM1234567890abcdef1234567890abcdef.json"
}`

// twilioErr is Twilio's REST error body.
func twilioErr(code int, message string, status int) string {
	return `{"code": ` + strconv.Itoa(code) + `, "message": "` + message + `", "more_info": "https://www.twilio.com/docs/errors/` +
		strconv.Itoa(code) + `", "status": ` + strconv.Itoa(status) + `}`
}

// fakeAPI implements Twilio's Create Message endpoint for one account and
// checks what the client sends.
type fakeAPI struct {
	t      *testing.T
	status int
	body   string
	form   chan url.Values // what was posted
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := f.t
	if r.Method != http.MethodPost {
		t.Errorf("method %s, want POST", r.Method)
	}
	if want := "/2010-04-01/Accounts/" + testSID + "/Messages.json"; r.URL.Path != want {
		t.Errorf("path %s, want %s", r.URL.Path, want)
	}
	if r.URL.RawQuery != "" {
		t.Errorf("query %q, want none (fields go in the body)", r.URL.RawQuery)
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != testSID || pass != testToken {
		t.Errorf("basic auth %q:%q (%v), want %s:%s", user, pass, ok, testSID, testToken)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		w.Write([]byte(twilioErr(20003, "Authenticate", 401)))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type %q", ct)
	}
	if err := r.ParseForm(); err != nil {
		t.Errorf("ParseForm: %v", err)
	}
	select {
	case f.form <- r.PostForm:
	default:
		t.Errorf("more than one request")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	w.Write([]byte(f.body))
}

func newAPI(t *testing.T, status int, body string) (*Provider, *fakeAPI) {
	t.Helper()
	api := &fakeAPI{t: t, status: status, body: body, form: make(chan url.Values, 1)}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	p, err := New(Config{BaseURL: srv.URL + "/", AccountSID: testSID, AuthToken: testToken,
		PublicURL: "https://gw.example.org/", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return p, api
}

func TestSendForm(t *testing.T) {
	const cb = "https://gw.example.org/sms/twilio/status"
	tests := []struct {
		name string
		m    gateway.Outbound
		want url.Values
	}{
		{"sms",
			gateway.Outbound{ID: "42", From: "+14155552345", To: "+15558675310", Body: "Hello from Ferry"},
			url.Values{"From": {"+14155552345"}, "To": {"+15558675310"}, "Body": {"Hello from Ferry"},
				"StatusCallback": {cb + "?id=42"}}},
		{"mms with text",
			gateway.Outbound{ID: "43", From: "+14155552345", To: "+15558675310", Body: "Look",
				MediaURLs: []string{"https://files.example.org/a.jpg", "https://files.example.org/b.png?x=1&y=2"}},
			url.Values{"From": {"+14155552345"}, "To": {"+15558675310"}, "Body": {"Look"},
				"MediaUrl":       {"https://files.example.org/a.jpg", "https://files.example.org/b.png?x=1&y=2"},
				"StatusCallback": {cb + "?id=43"}}},
		{"mms without text: no Body",
			gateway.Outbound{ID: "44", From: "+14155552345", To: "+15558675310", MediaURLs: []string{"https://files.example.org/a.jpg"}},
			url.Values{"From": {"+14155552345"}, "To": {"+15558675310"}, "MediaUrl": {"https://files.example.org/a.jpg"},
				"StatusCallback": {cb + "?id=44"}}},
		{"id needing escapes, unicode and newlines in body",
			gateway.Outbound{ID: "a/b c&d=e", From: "Ferry", To: "+447700900123", Body: "Grüße 👋\nzweite Zeile & mehr"},
			url.Values{"From": {"Ferry"}, "To": {"+447700900123"}, "Body": {"Grüße 👋\nzweite Zeile & mehr"},
				"StatusCallback": {cb + "?id=a%2Fb+c%26d%3De"}}},
		{"no id: callback without query",
			gateway.Outbound{From: "+14155552345", To: "+15558675310", Body: "x"},
			url.Values{"From": {"+14155552345"}, "To": {"+15558675310"}, "Body": {"x"}, "StatusCallback": {cb}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, api := newAPI(t, http.StatusCreated, createdJSON)
			res, err := p.Send(context.Background(), tt.m)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if want := (gateway.SendResult{ProviderID: "SM1234567890abcdef1234567890abcdef"}); res != want {
				t.Errorf("result %+v, want %+v", res, want)
			}
			got := <-api.form
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("form\n got %v\nwant %v", got, tt.want)
			}
			// The callback URL round-trips to the id the handler will read.
			u, err := url.Parse(got.Get("StatusCallback"))
			if err != nil || u.Query().Get("id") != tt.m.ID {
				t.Errorf("StatusCallback %q does not carry id %q", got.Get("StatusCallback"), tt.m.ID)
			}
		})
	}
}

func TestSendAnswers(t *testing.T) {
	type want struct {
		providerID string
		err        *gateway.SendError // nil: success
	}
	tests := []struct {
		name   string
		status int
		body   string
		want   want
	}{
		{"201 created", 201, createdJSON, want{providerID: "SM1234567890abcdef1234567890abcdef"}},
		{"200 from a compatible provider", 200, `{"sid":"SMx","status":"accepted","error_code":null}`, want{providerID: "SMx"}},
		{"2xx with unparsable body still accepted", 201, `<xml/>`, want{}},
		{"2xx but failed at once", 201, `{"sid":"SMy","status":"failed","error_code":30007,"error_message":"Message filtered"}`,
			want{providerID: "SMy", err: &gateway.SendError{Code: "30007", Text: "Message filtered"}}},
		{"21610 unsubscribed recipient → opt-out", 400, twilioErr(21610, "Attempt to send to unsubscribed recipient", 400),
			want{err: &gateway.SendError{OptOut: true, Code: "21610", Text: "Attempt to send to unsubscribed recipient"}}},
		{"21211 invalid To", 400, twilioErr(21211, "The 'To' number 5551234567 is not a valid phone number.", 400),
			want{err: &gateway.SendError{Code: "21211", Text: "The 'To' number 5551234567 is not a valid phone number."}}},
		{"21608 unverified number on trial account", 400, twilioErr(21608, "The number +15558675310 is unverified. Trial accounts cannot send messages to unverified numbers; verify +15558675310 at twilio.com/user/account/phone-numbers/verified, or purchase a Twilio number to send messages to unverified numbers", 400),
			want{err: &gateway.SendError{Code: "21608", Text: "The number +15558675310 is unverified. Trial accounts cannot send messages to unverified numbers; verify +15558675310 at twilio.com/user/account/phone-numbers/verified, or purchase a Twilio number to send messages to unverified numbers"}}},
		{"20003 authentication error", 401, twilioErr(20003, "Authenticate", 401),
			want{err: &gateway.SendError{Code: "20003", Text: "Authenticate"}}},
		{"20404 not found", 404, twilioErr(20404, "The requested resource /2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Messages.json was not found", 404),
			want{err: &gateway.SendError{Code: "20404", Text: "The requested resource /2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Messages.json was not found"}}},
		{"4xx without body", 400, ``, want{err: &gateway.SendError{Code: "400", Text: "Bad Request"}}},
		{"code as string (compatible provider)", 400, `{"code":"21610","message":"unsubscribed","status":400}`,
			want{err: &gateway.SendError{OptOut: true, Code: "21610", Text: "unsubscribed"}}},
		{"429 too many requests", 429, twilioErr(20429, "Too Many Requests", 429),
			want{err: &gateway.SendError{Temporary: true, Code: "20429", Text: "Too Many Requests"}}},
		{"20429 under another status", 400, twilioErr(20429, "Too Many Requests", 400),
			want{err: &gateway.SendError{Temporary: true, Code: "20429", Text: "Too Many Requests"}}},
		{"500 internal error, HTML body", 500, `<html>oops</html>`,
			want{err: &gateway.SendError{Temporary: true, Code: "500", Text: "Internal Server Error"}}},
		{"500 with Twilio error", 500, twilioErr(20500, "An internal server error has occurred", 500),
			want{err: &gateway.SendError{Temporary: true, Code: "20500", Text: "An internal server error has occurred"}}},
		{"503 service unavailable", 503, `{"code": 20503, "message": "Service Unavailable", "more_info": "https://www.twilio.com/docs/errors/20503", "status": 503}`,
			want{err: &gateway.SendError{Temporary: true, Code: "20503", Text: "Service Unavailable"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newAPI(t, tt.status, tt.body)
			res, err := p.Send(context.Background(), gateway.Outbound{ID: "1", From: "+14155552345", To: "+15558675310", Body: "Hello from Ferry"})
			if res.ProviderID != tt.want.providerID || res.Queued {
				t.Errorf("result %+v, want ProviderID %q", res, tt.want.providerID)
			}
			if tt.want.err == nil {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				return
			}
			var se *gateway.SendError
			if !errors.As(err, &se) {
				t.Fatalf("error %T %v, want *gateway.SendError", err, err)
			}
			if *se != *tt.want.err {
				t.Errorf("error %+v, want %+v", *se, *tt.want.err)
			}
		})
	}
}

func TestSendNetworkErrors(t *testing.T) {
	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	l.Close()

	// A server that drops the connection without answering.
	drop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer drop.Close()

	// A server that answers 201 and a truncated body.
	truncated := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(201)
		w.Write([]byte(`{"sid":"SMz"`))
	}))
	defer truncated.Close()

	for _, tt := range []struct {
		name, base string
		accepted   bool
	}{
		{"connection refused", refused, false},
		{"connection dropped", drop.URL, false},
		{"2xx with truncated body counts as accepted", truncated.URL, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(Config{BaseURL: tt.base, AccountSID: testSID, AuthToken: testToken, PublicURL: testPublic})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Send(context.Background(), gateway.Outbound{ID: "1", From: "+1", To: "+2", Body: "x"})
			if tt.accepted {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				return
			}
			var se *gateway.SendError
			if !errors.As(err, &se) || !se.Temporary || se.OptOut {
				t.Fatalf("error %#v, want temporary *gateway.SendError", err)
			}
			if strings.Contains(se.Text, testToken) || strings.Contains(se.Text, "Messages.json") {
				t.Errorf("error text %q leaks the request", se.Text)
			}
		})
	}
}

func TestSendContext(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // lets the server notice the client leaving
		arrived <- struct{}{}
		select { // never answers
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	p, err := New(Config{BaseURL: srv.URL, AccountSID: testSID, AuthToken: testToken, PublicURL: testPublic, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	m := gateway.Outbound{ID: "1", From: "+1", To: "+2", Body: "x"}

	t.Run("canceled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-arrived; cancel() }()
		start := time.Now()
		_, err := p.Send(ctx, m)
		var se *gateway.SendError
		if !errors.As(err, &se) || !se.Temporary || se.Text != context.Canceled.Error() {
			t.Fatalf("error %#v, want temporary SendError %q", err, context.Canceled)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Send returned after %v", d)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := p.Send(ctx, m)
		<-arrived
		var se *gateway.SendError
		if !errors.As(err, &se) || !se.Temporary || se.Text != context.DeadlineExceeded.Error() {
			t.Fatalf("error %#v, want temporary SendError %q", err, context.DeadlineExceeded)
		}
	})
	t.Run("already canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := p.Send(ctx, m)
		var se *gateway.SendError
		if !errors.As(err, &se) || !se.Temporary {
			t.Fatalf("error %#v, want temporary SendError", err)
		}
		select {
		case <-arrived:
			t.Error("a request went out on a canceled context")
		default:
		}
	})
}

func TestNew(t *testing.T) {
	ok := Config{AccountSID: testSID, AuthToken: testToken, PublicURL: testPublic}
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"ok", func(*Config) {}, ""},
		{"custom base URL with path", func(c *Config) { c.BaseURL = "https://sms.example.net/twilio-compat/" }, ""},
		{"no account", func(c *Config) { c.AccountSID = "" }, "AccountSID"},
		{"no token", func(c *Config) { c.AuthToken = "" }, "AuthToken"},
		{"no public URL", func(c *Config) { c.PublicURL = "" }, "PublicURL"},
		{"relative public URL", func(c *Config) { c.PublicURL = "gw.example.org" }, "PublicURL"},
		{"public URL with query", func(c *Config) { c.PublicURL = "https://gw.example.org/?a=b" }, "PublicURL"},
		{"public URL with fragment", func(c *Config) { c.PublicURL = "https://gw.example.org/#x" }, "PublicURL"},
		{"ftp base URL", func(c *Config) { c.BaseURL = "ftp://api.twilio.com" }, "BaseURL"},
		{"unparsable base URL", func(c *Config) { c.BaseURL = "https://[::1" }, "BaseURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mod(&cfg)
			p, err := New(cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if p.Name() != "twilio" {
					t.Errorf("Name %q", p.Name())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one about %s", err, tt.wantErr)
			}
		})
	}
	p, _ := New(ok)
	if want := "https://api.twilio.com/2010-04-01/Accounts/" + testSID + "/Messages.json"; p.endpoint != want {
		t.Errorf("default endpoint %s, want %s", p.endpoint, want)
	}
	p, _ = New(Config{BaseURL: "https://sms.example.net/compat/", AccountSID: "AC/../x", AuthToken: "t", PublicURL: testPublic})
	if want := "https://sms.example.net/compat/2010-04-01/Accounts/AC%2F..%2Fx/Messages.json"; p.endpoint != want {
		t.Errorf("endpoint %s, want %s", p.endpoint, want)
	}
}

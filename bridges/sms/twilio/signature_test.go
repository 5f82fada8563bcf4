package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestSignKnownVectors checks Sign against signatures Twilio published.
func TestSignKnownVectors(t *testing.T) {
	tests := []struct {
		name, token, url string
		params           url.Values
		want             string
	}{
		{
			// The example in Twilio's "Validating requests" documentation.
			name:  "twilio docs example",
			token: "12345",
			url:   "https://mycompany.com/myapp.php?foo=1&bar=2",
			params: url.Values{
				"CallSid": {"CA1234567890ABCDE"},
				"Caller":  {"+12349013030"},
				"Digits":  {"1234"},
				"From":    {"+12349013030"},
				"To":      {"+18005551212"},
			},
			want: "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
		},
		{
			// An SMS webhook as recorded in the test suite of Twilio's Ruby
			// helper library (empty values and many parameters).
			name:  "twilio-ruby sms request",
			token: "2bd9e9638872de601313dc77410d3b23",
			url:   "http://twiliotests.heroku.com/validate/sms",
			params: url.Values{
				"ToState":       {"CA"},
				"FromState":     {"CA"},
				"AccountSid":    {"ACba8bc05eacf94afdae398e642c9cc32d"},
				"SmsMessageSid": {"SM2003cbd5e6a3701999aa3e5f20ff2787"},
				"Body":          {"Orly"},
				"From":          {"+14159354345"},
				"FromCity":      {"SAN FRANCISCO"},
				"SmsStatus":     {"received"},
				"FromZip":       {"94107"},
				"FromCountry":   {"US"},
				"To":            {"+14158141819"},
				"ToCity":        {"SAN FRANCISCO"},
				"ToZip":         {"94105"},
				"ToCountry":     {"US"},
				"ApiVersion":    {"2010-04-01"},
				"SmsSid":        {"SM2003cbd5e6a3701999aa3e5f20ff2787"},
			},
			want: "mxeiv65lEe0b8L6LdVw2jgJi8yw=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sign(tt.token, tt.url, tt.params); got != tt.want {
				t.Errorf("Sign = %q, want %q", got, tt.want)
			}
			if !validSignature(tt.token, tt.url, tt.params, tt.want) {
				t.Error("validSignature rejects the published signature")
			}
		})
	}
}

// TestSignDefinition checks Sign against the algorithm spelled out by hand:
// URL, then name+value of each parameter sorted by name, HMAC-SHA1, base64.
func TestSignDefinition(t *testing.T) {
	hmacB64 := func(key, data string) string {
		m := hmac.New(sha1.New, []byte(key))
		m.Write([]byte(data))
		return base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	const token, u = "s3cr3t", "https://gw.example.org/sms/twilio/status?id=42"
	tests := []struct {
		name   string
		params url.Values
		data   string // the string that is signed
	}{
		{"no params", url.Values{}, u},
		{"nil params", nil, u},
		{"sorted by name, not by insertion",
			url.Values{"To": {"+2"}, "Body": {"hi"}, "From": {"+1"}},
			u + "Bodyhi" + "From+1" + "To+2"},
		{"bytewise order: upper case before lower case",
			url.Values{"a": {"1"}, "B": {"2"}, "_": {"3"}},
			u + "B2" + "_3" + "a1"},
		{"prefix sorts first",
			url.Values{"MediaUrl10": {"c"}, "MediaUrl1": {"b"}, "MediaUrl": {"a"}},
			u + "MediaUrla" + "MediaUrl1b" + "MediaUrl10c"},
		{"empty value kept",
			url.Values{"ToCity": {""}, "Body": {"x"}},
			u + "Bodyx" + "ToCity"},
		{"repeated name: one pair per value, values sorted",
			url.Values{"MediaUrl": {"https://b", "https://a", "https://b"}},
			u + "MediaUrlhttps://a" + "MediaUrlhttps://b" + "MediaUrlhttps://b"},
		{"non-ASCII is signed as UTF-8",
			url.Values{"Body": {"Grüße 👋"}},
			u + "BodyGrüße 👋"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := hmacB64(token, tt.data)
			if got := Sign(token, u, tt.params); got != want {
				t.Errorf("Sign = %q, want HMAC of %q = %q", got, tt.data, want)
			}
		})
	}
}

// TestSignDoesNotModifyParams: sorting repeated values works on a copy.
func TestSignDoesNotModifyParams(t *testing.T) {
	p := url.Values{"k": {"b", "a"}}
	Sign("t", "https://x", p)
	if !slices.Equal(p["k"], []string{"b", "a"}) {
		t.Errorf("params changed to %v", p["k"])
	}
}

func TestValidSignature(t *testing.T) {
	const token, u = "tok", "https://gw.example.org/sms/twilio/inbound"
	params := url.Values{"MessageSid": {"SM1"}, "Body": {"hi"}}
	good := Sign(token, u, params)
	raw, _ := base64.StdEncoding.DecodeString(good)
	flipped := slices.Clone(raw)
	flipped[0] ^= 1
	tests := []struct {
		name   string
		token  string
		url    string
		params url.Values
		header string
		want   bool
	}{
		{"valid", token, u, params, good, true},
		{"empty header", token, u, params, "", false},
		{"not base64", token, u, params, "!!!not base64!!!", false},
		{"unpadded", token, u, params, strings.TrimRight(good, "="), false},
		{"truncated digest", token, u, params, base64.StdEncoding.EncodeToString(raw[:19]), false},
		{"flipped bit", token, u, params, base64.StdEncoding.EncodeToString(flipped), false},
		{"other token", "tok2", u, params, good, false},
		{"other URL", token, u + "?x=1", params, good, false},
		{"other scheme", token, "http" + strings.TrimPrefix(u, "https"), params, good, false},
		{"changed value", token, u, url.Values{"MessageSid": {"SM1"}, "Body": {"hi!"}}, good, false},
		{"added param", token, u, url.Values{"MessageSid": {"SM1"}, "Body": {"hi"}, "X": {""}}, good, false},
		{"removed param", token, u, url.Values{"MessageSid": {"SM1"}}, good, false},
		// No separators in Twilio's scheme, but moving text from one value
		// to another still changes the signed string (names sort apart).
		{"text moved to another value", token, u, url.Values{"MessageSid": {"SM1hi"}, "Body": {""}}, good, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validSignature(tt.token, tt.url, tt.params, tt.header); got != tt.want {
				t.Errorf("validSignature = %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzSignature: validation never panics, a signature made by Sign always
// validates (directly and through the handler), and it does not depend on
// the order of repeated values; an added parameter invalidates it.
func FuzzSignature(f *testing.F) {
	f.Add("12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
		"CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212",
		"0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "")
	f.Add("tok", "https://gw.example.org/sms/twilio/status?id=1",
		"MessageSid=SM1&MessageStatus=delivered", "", "1")
	f.Add("tok", "", "MediaUrl0=a&MediaUrl0=b&MediaUrl0=a&NumMedia=2", "====", "id with spaces&=?")
	f.Add("", "http://x", "a=%zz&b;c", "AAAA", "")
	f.Add("t", "https://h/p?q", "=&&=x&%00=%ff", "0/KCTR6DLpKmkAf8muzZqo1nDgQ", "\x00")
	f.Fuzz(func(t *testing.T, token, rawURL, body, header, id string) {
		params, _ := url.ParseQuery(body) // keeps what parses

		validSignature(token, rawURL, params, header) // must not panic

		sig := Sign(token, rawURL, params)
		if !validSignature(token, rawURL, params, sig) {
			t.Fatalf("own signature %q rejected", sig)
		}
		rev := url.Values{}
		for k, vs := range params {
			r := slices.Clone(vs)
			slices.Reverse(r)
			rev[k] = r
		}
		if got := Sign(token, rawURL, rev); got != sig {
			t.Fatalf("signature depends on value order: %q vs %q", got, sig)
		}
		tampered := url.Values{}
		for k, vs := range params {
			tampered[k] = slices.Clone(vs)
		}
		tampered.Add("Tampered", "1")
		if validSignature(token, rawURL, tampered, sig) {
			t.Fatal("signature still valid with an added parameter")
		}

		// Through the handler: a request signed over PublicURL + its
		// RequestURI is never refused as forged, whatever it contains.
		if token == "" {
			return
		}
		p, err := New(Config{AccountSID: "AC1", AuthToken: token, PublicURL: "https://gw.example.org/ferry"})
		if err != nil {
			t.Fatal(err)
		}
		target := "/sms/twilio/status?id=" + url.QueryEscape(id)
		enc := params.Encode()
		reparsed, err := url.ParseQuery(enc)
		if err != nil {
			t.Fatalf("re-parsing %q: %v", enc, err)
		}
		h := p.Handler(nopSink{})
		post := func(sig string) int {
			r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(enc))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if sig != "" {
				r.Header.Set(SignatureHeader, sig)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w.Code
		}
		if code := post(Sign(token, "https://gw.example.org/ferry"+target, reparsed)); code == http.StatusForbidden {
			t.Fatalf("correctly signed request refused (403)")
		}
		if code := post(Sign(token, "https://gw.example.org"+target, reparsed)); code != http.StatusForbidden {
			t.Fatalf("request signed for another URL: status %d, want 403", code)
		}
		if code := post(""); code != http.StatusForbidden {
			t.Fatalf("unsigned request: status %d, want 403", code)
		}
		post(header) // arbitrary header: must not panic
	})
}

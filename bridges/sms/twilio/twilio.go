// Package twilio is the SMS bridge's provider for Twilio's Programmable
// Messaging REST API (2010-04-01) and for providers that copy it.
//
// Sending creates a Message resource:
//
//	POST {BaseURL}/2010-04-01/Accounts/{AccountSID}/Messages.json
//
// with HTTP basic auth AccountSID:AuthToken and the form fields To, From,
// Body, MediaUrl (once per media URL, for MMS) and StatusCallback
// (PublicURL + "/sms/twilio/status?id=<Outbound.ID>").
//
// Twilio calls back at two URLs, both served by Provider.Handler:
//
//	POST {PublicURL}/sms/twilio/inbound  incoming texts: configure it as the
//	                                     number's (or Messaging Service's)
//	                                     "A message comes in" webhook, HTTP POST
//	POST {PublicURL}/sms/twilio/status   status callbacks of sent texts (set
//	                                     per message by Send)
//
// Every callback must carry a valid X-Twilio-Signature, computed over
// PublicURL + the request's path and query. Behind a reverse proxy PublicURL
// must therefore be the base URL Twilio calls (scheme, host, any port and any
// path prefix the proxy strips), not the address Ferry listens on; otherwise
// every callback is refused with 403.
package twilio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/bridges/sms/gateway"
)

// DefaultBaseURL is Twilio's REST API endpoint.
const DefaultBaseURL = "https://api.twilio.com"

// name is the provider's route name: callbacks are served under /sms/twilio/.
const name = "twilio"

const (
	inboundPath = "/sms/" + name + "/inbound"
	statusPath  = "/sms/" + name + "/status"
)

const (
	// maxResponse bounds how much of an API response is read.
	maxResponse = 1 << 20
	// defaultTimeout bounds one API call when Config.HTTPClient is nil.
	defaultTimeout = 30 * time.Second
)

// Config configures a Provider.
type Config struct {
	// BaseURL is the REST API's base URL, default https://api.twilio.com;
	// set it for Twilio-compatible providers (or tests).
	BaseURL string
	// AccountSID and AuthToken authenticate API calls (basic auth) and the
	// AuthToken is the key of callback signatures.
	AccountSID, AuthToken string
	// PublicURL is Ferry's externally visible base URL, e.g.
	// https://gw.example.org: status callback URLs are built from it and
	// callback signatures are checked against it. Behind a proxy it must be
	// the URL Twilio calls.
	PublicURL string
	// HTTPClient makes the API calls; nil means a client with a 30s timeout.
	HTTPClient *http.Client
}

// Provider sends and receives texts through Twilio. It is safe for
// concurrent use.
type Provider struct {
	endpoint   string // the Messages resource's URL
	accountSID string
	authToken  string
	publicURL  string // without trailing slash
	client     *http.Client
	now        func() time.Time
}

var _ gateway.Provider = (*Provider)(nil)

// New checks cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	if cfg.AccountSID == "" {
		return nil, errors.New("twilio: AccountSID is required")
	}
	if cfg.AuthToken == "" {
		return nil, errors.New("twilio: AuthToken is required")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	base, err := baseURL("BaseURL", base)
	if err != nil {
		return nil, err
	}
	if cfg.PublicURL == "" {
		return nil, errors.New("twilio: PublicURL is required (callbacks cannot be authenticated without it)")
	}
	public, err := baseURL("PublicURL", cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: defaultTimeout}
	}
	return &Provider{
		endpoint:   base + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json",
		accountSID: cfg.AccountSID,
		authToken:  cfg.AuthToken,
		publicURL:  public,
		client:     client,
		now:        time.Now,
	}, nil
}

// baseURL checks that s is an absolute http(s) URL without query or
// fragment and returns it without trailing slashes.
func baseURL(field, s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("twilio: %s: %w", field, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return "", fmt.Errorf("twilio: %s %q is not an absolute http(s) URL", field, s)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("twilio: %s %q must not have user info, a query or a fragment", field, s)
	}
	return strings.TrimRight(s, "/"), nil
}

// Name returns "twilio".
func (p *Provider) Name() string { return name }

// message is the part of a Message resource (JSON) that Send reads.
type message struct {
	SID          string `json:"sid"`
	Status       string `json:"status"`
	ErrorCode    code   `json:"error_code"`
	ErrorMessage string `json:"error_message"`
}

// apiError is Twilio's REST error body.
type apiError struct {
	Code     code   `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// code is a Twilio error code: a JSON number, or a string from lenient
// compatible providers, or null ("").
type code string

func (c *code) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*c = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = code(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*c = code(n.String())
	}
	return nil
}

// Send creates a Message resource for m. A 2xx answer gives the message's
// sid as ProviderID. Refusals are *gateway.SendError: 4xx answers are permanent
// and carry Twilio's code and message (OptOut for codes such as 21610);
// 408, 429, 5xx, network errors and cancellation are temporary.
//
// A temporary error after the request was sent (timeout, cancellation, lost
// connection, 5xx) does not prove Twilio did not accept the text, so a retry
// may send it twice; Twilio offers no idempotency key to prevent that.
func (p *Provider) Send(ctx context.Context, m gateway.Outbound) (gateway.SendResult, error) {
	form := url.Values{}
	form.Set("To", m.To)
	form.Set("From", m.From)
	if m.Body != "" || len(m.MediaURLs) == 0 {
		form.Set("Body", m.Body)
	}
	for _, u := range m.MediaURLs {
		form.Add("MediaUrl", u)
	}
	form.Set("StatusCallback", p.statusCallback(m.ID))

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return gateway.SendResult{}, &gateway.SendError{Text: "cannot build request: " + err.Error()}
	}
	req.SetBasicAuth(p.accountSID, p.authToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	resp, err := p.client.Do(req)
	if err != nil {
		return gateway.SendResult{}, networkError(ctx, err)
	}
	defer resp.Body.Close()
	// The status decides; a body cut short only loses detail.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))

	if resp.StatusCode/100 == 2 {
		// Accepted. A body that cannot be read or parsed does not undo that:
		// reports still correlate through the id in the callback URL.
		var msg message
		if json.Unmarshal(body, &msg) == nil && (msg.Status == "failed" || msg.Status == "undelivered") && msg.ErrorCode != "" {
			return gateway.SendResult{ProviderID: msg.SID}, refusal(resp.StatusCode, string(msg.ErrorCode), msg.ErrorMessage)
		}
		return gateway.SendResult{ProviderID: msg.SID}, nil
	}

	var e apiError
	_ = json.Unmarshal(body, &e) // a non-JSON error body leaves the HTTP status
	return gateway.SendResult{}, refusal(resp.StatusCode, string(e.Code), e.Message)
}

// statusCallback is the StatusCallback URL for the text with Ferry's id.
func (p *Provider) statusCallback(id string) string {
	u := p.publicURL + statusPath
	if id != "" {
		u += "?id=" + url.QueryEscape(id)
	}
	return u
}

// optOut lists Twilio error codes meaning the recipient opted out.
var optOut = map[string]bool{
	"21610": true, // Attempt to send to unsubscribed recipient (replied STOP)
}

// temporaryCodes lists Twilio error codes worth retrying whatever the status.
var temporaryCodes = map[string]bool{
	"20429": true, // Too Many Requests
}

// refusal classifies an error answer.
func refusal(status int, twilioCode, text string) *gateway.SendError {
	e := &gateway.SendError{
		Temporary: status == http.StatusTooManyRequests || status == http.StatusRequestTimeout ||
			status >= 500 || temporaryCodes[twilioCode],
		OptOut: optOut[twilioCode],
		Code:   twilioCode,
		Text:   text,
	}
	if e.OptOut {
		e.Temporary = false
	}
	if e.Code == "" {
		e.Code = strconv.Itoa(status)
	}
	if e.Text == "" {
		if e.Text = http.StatusText(status); e.Text == "" {
			e.Text = "HTTP " + strconv.Itoa(status)
		}
	}
	return e
}

// networkError is the temporary error for a failed exchange. When ctx ended,
// its error is the text, not the transport's wrapping of it.
func networkError(ctx context.Context, err error) *gateway.SendError {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &gateway.SendError{Temporary: true, Text: ctxErr.Error()}
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // drop the method and URL: the text may reach the user
	}
	return &gateway.SendError{Temporary: true, Text: "cannot reach Twilio: " + err.Error()}
}

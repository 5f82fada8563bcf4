// Package gateway is the contract between the SMS bridge and each SMS
// gateway or provider (Kannel, Twilio-compatible APIs): a package of its
// own so providers and the bridge do not import each other.
package gateway

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Provider is one way to send and receive texts (Kannel, a
// Twilio-compatible REST API, …). Each lives in its own sub-package.
type Provider interface {
	// Name is the provider's route name, e.g. "kannel" (inbound webhooks are
	// served under /sms/<name>/).
	Name() string
	// Send hands one text to the provider. It returns once the provider has
	// accepted (or refused) it; delivery is reported later through the
	// inbound handler. Errors are *SendError.
	Send(ctx context.Context, m Outbound) (SendResult, error)
	// Handler serves the provider's callbacks: inbound texts (MO) and
	// delivery reports. It must authenticate every request and answer 2xx
	// only after the sink returned nil for it (a non-nil error → 5xx, so the
	// provider retries; nothing is lost).
	Handler(sink Sink) http.Handler
}

// Outbound is one text to send. From is the sender number in E.164 (or a
// short code / alphanumeric id), To the recipient in E.164.
type Outbound struct {
	ID        string // Ferry's id for this text: put in callbacks to correlate reports
	From, To  string
	Body      string
	MediaURLs []string // for providers that send MMS; others get links in Body
}

// SendResult is the provider's acceptance.
type SendResult struct {
	ProviderID string // the provider's message id, "" when it gives none (Kannel)
	Queued     bool   // accepted but queued by the gateway (Kannel "3: Queued")
}

// SendError classifies a refusal: Temporary errors are retried with
// backoff; permanent ones come back to the user on the original stanza.
type SendError struct {
	Temporary bool
	OptOut    bool   // the recipient opted out (STOP): shown as forbidden
	Code      string // provider code or HTTP status
	Text      string // provider's text, fit to show the user
}

func (e *SendError) Error() string {
	kind := "permanent"
	if e.Temporary {
		kind = "temporary"
	}
	return fmt.Sprintf("sms: %s send error %s: %s", kind, e.Code, e.Text)
}

// Sink receives what providers call back with. Both methods persist before
// returning nil.
type Sink interface {
	Inbound(ctx context.Context, m Inbound) error
	Report(ctx context.Context, r Report) error
}

// Inbound is a text from a phone (MO). Concatenated parts arrive joined.
type Inbound struct {
	Provider   string
	ProviderID string // for de-duplication of provider retries
	From, To   string // as the provider gives them (normalised by the bridge)
	Body       string
	MediaURLs  []string
	Time       time.Time
}

// DeliveryState is what a delivery report says.
type DeliveryState int

// Delivery states, in the order they happen.
const (
	Accepted  DeliveryState = iota // the SMSC took it: state only, no receipt
	Delivered                      // the phone got it: XEP-0184 <received/>
	Failed                         // it will not arrive: an error on the stanza
)

// Report is a delivery report for a text Ferry sent.
type Report struct {
	Provider   string
	ID         string // Ferry's Outbound.ID when the provider echoes it
	ProviderID string // otherwise the provider's message id
	State      DeliveryState
	Text       string // provider's detail, for failures
}

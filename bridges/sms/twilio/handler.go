package twilio

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ferry-xmpp/ferry/bridges/sms/gateway"
)

const (
	// maxCallback bounds a callback's body; Twilio's are a few KiB.
	maxCallback = 256 << 10
	// maxMedia bounds the MediaUrlN parameters read from one message
	// (Twilio delivers at most 10).
	maxMedia = 100
)

// emptyTwiML answers a callback: "do nothing more".
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

// Handler serves Twilio's callbacks for sink:
//
//	POST /sms/twilio/inbound  incoming text → sink.Inbound
//	POST /sms/twilio/status   status callback → sink.Report
//
// The handler expects the full request path (mount it on the mux at
// /sms/twilio/ without stripping the prefix). Each request's
// X-Twilio-Signature is checked against PublicURL + r.URL.RequestURI() and
// the POST parameters; a missing or wrong signature is answered 403 before
// anything else happens. A sink error is answered 503 so that Twilio retries;
// success is 200 with an empty TwiML <Response/> (text/xml).
//
// The handler keeps no state: a callback Twilio repeats reaches the sink
// again with the same ProviderID (the MessageSid), and the sink de-duplicates.
func (p *Provider) Handler(sink gateway.Sink) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST "+inboundPath, p.authenticated(func(w http.ResponseWriter, r *http.Request) {
		p.inbound(w, r, sink)
	}))
	mux.Handle("POST "+statusPath, p.authenticated(func(w http.ResponseWriter, r *http.Request) {
		p.status(w, r, sink)
	}))
	return mux
}

// authenticated parses the form and lets next serve the request only if it
// is signed with the auth token.
func (p *Provider) authenticated(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxCallback)
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "malformed form", http.StatusBadRequest)
			return
		}
		signed := p.publicURL + r.URL.RequestURI()
		if !validSignature(p.authToken, signed, r.PostForm, r.Header.Get(SignatureHeader)) {
			http.Error(w, "invalid "+SignatureHeader, http.StatusForbidden)
			return
		}
		next(w, r)
	})
}

// inbound passes an incoming text to the sink.
func (p *Provider) inbound(w http.ResponseWriter, r *http.Request, sink gateway.Sink) {
	f := r.PostForm
	m := gateway.Inbound{
		Provider:   name,
		ProviderID: f.Get("MessageSid"),
		From:       f.Get("From"),
		To:         f.Get("To"),
		Body:       f.Get("Body"),
		MediaURLs:  mediaURLs(f),
		Time:       p.now(),
	}
	if m.ProviderID == "" || m.From == "" {
		http.Error(w, "MessageSid and From are required", http.StatusBadRequest)
		return
	}
	if err := sink.Inbound(r.Context(), m); err != nil {
		http.Error(w, "cannot store the message, retry later", http.StatusServiceUnavailable)
		return
	}
	ok(w)
}

// mediaURLs reads MediaUrl0 … MediaUrl{NumMedia-1}. Without a usable
// NumMedia it reads MediaUrl0, MediaUrl1, … up to the first one missing.
func mediaURLs(f url.Values) []string {
	n, err := strconv.Atoi(f.Get("NumMedia"))
	if err != nil || n < 0 || n > maxMedia {
		n = maxMedia
	}
	var urls []string
	for i := range n {
		key := "MediaUrl" + strconv.Itoa(i)
		if _, present := f[key]; !present {
			break
		}
		if u := f.Get(key); u != "" {
			urls = append(urls, u)
		}
	}
	return urls
}

// status passes a status callback to the sink.
func (p *Provider) status(w http.ResponseWriter, r *http.Request, sink gateway.Sink) {
	f := r.PostForm
	sid, status := f.Get("MessageSid"), strings.ToLower(f.Get("MessageStatus"))
	if sid == "" || status == "" {
		http.Error(w, "MessageSid and MessageStatus are required", http.StatusBadRequest)
		return
	}
	rep := gateway.Report{
		Provider:   name,
		ID:         r.URL.Query().Get("id"),
		ProviderID: sid,
	}
	switch status {
	case "queued", "accepted", "scheduled", "sending", "sent":
		rep.State = gateway.Accepted
	case "delivered", "read":
		rep.State = gateway.Delivered
	case "undelivered", "failed", "canceled":
		rep.State = gateway.Failed
		rep.Text = failureText(status, f.Get("ErrorCode"))
	default:
		// A status of no concern to a sent text ("receiving", "received",
		// ones Twilio adds later): acknowledged, nothing to record.
		ok(w)
		return
	}
	if err := sink.Report(r.Context(), rep); err != nil {
		http.Error(w, "cannot store the report, retry later", http.StatusServiceUnavailable)
		return
	}
	ok(w)
}

// deliveryErrors describes Twilio's common delivery error codes.
var deliveryErrors = map[string]string{
	"21610": "the recipient has opted out (STOP)",
	"30001": "queue overflow",
	"30002": "account suspended",
	"30003": "unreachable destination handset",
	"30004": "message blocked",
	"30005": "unknown destination handset",
	"30006": "landline or unreachable carrier",
	"30007": "message filtered by the carrier",
	"30008": "unknown error",
}

// failureText is a report's Text for a failed text.
func failureText(status, errorCode string) string {
	text := "message " + status
	if errorCode == "" {
		return text
	}
	if d, known := deliveryErrors[errorCode]; known {
		return text + ": " + d + " (Twilio error " + errorCode + ")"
	}
	return text + " (Twilio error " + errorCode + ")"
}

// ok answers a callback that was handled.
func ok(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(emptyTwiML))
}

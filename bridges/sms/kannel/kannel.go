// Package kannel is the SMS bridge's provider for a Kannel gateway
// (https://www.kannel.org/): texts go out through smsbox's sendsms
// interface, texts from phones and delivery reports come back as HTTP
// requests from smsbox to Ferry.
//
// Kannel's side, in kannel.conf:
//
//	group = smsbox
//	mo-recode = true          # UCS-2 texts arrive as UTF-8
//	http-request-retry = 5    # retry a post-url/dlr-url that fails (Ferry answers 503)
//	http-queue-delay = 1
//	…
//	group = sendsms-user
//	username = ferry          # Config.Username, Config.Password
//	password = …
//	concatenation = true
//	max-messages = 10
//
//	group = sms-service
//	keyword = default
//	catch-all = true
//	max-messages = 0          # never text Ferry's HTTP answer back to the phone
//	post-url = "…"            # PostURL(Config.PublicURL, Config.Secret)
//
// Every callback URL carries Config.Secret; Ferry refuses requests without
// it. Delivery reports need no configuration: each text sent asks for them
// with its own dlr-url. smsbox makes callback requests concurrently, so the
// reports of one text can arrive in any order: "delivered" (1) before
// "accepted by the SMSC" (8) happens.
package kannel

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ferry-xmpp/ferry/bridges/sms/gateway"
)

// Name is the provider's route name: callbacks are served under /sms/kannel/.
const Name = "kannel"

// Callback paths served by Handler unless Config.Path says otherwise: the
// inbound texts under DefaultPath + "/mo", delivery reports under + "/dlr".
const (
	DefaultPath = "/sms/" + Name
	MOPath      = DefaultPath + "/mo"
	DLRPath     = DefaultPath + "/dlr"
)

// Limits.
const (
	// MaxBodyBytes bounds an inbound text's request body. Ten concatenated
	// UCS-2 parts are under 1.4 KiB.
	MaxBodyBytes = 64 << 10
	// maxAnswerBytes bounds how much of sendsms's answer is read.
	maxAnswerBytes = 4 << 10
	// dlrMask asks for every report Kannel has: delivered (1),
	// undelivered (2), buffered at the SMSC (4), accepted by the SMSC (8)
	// and rejected by the SMSC (16).
	dlrMask = "31"
	// defaultTimeout is the HTTP client's timeout when Config gives none.
	defaultTimeout = 30 * time.Second
)

// Config configures a Kannel provider.
type Config struct {
	// SendSMSURL is smsbox's sendsms interface,
	// e.g. "http://127.0.0.1:13013/cgi-bin/sendsms".
	SendSMSURL string
	// Username and Password of Kannel's sendsms-user.
	Username, Password string
	// PublicURL is where Kannel reaches Ferry's HTTP listener, e.g.
	// "http://127.0.0.1:8080"; delivery report URLs are built on it.
	PublicURL string
	// Secret is required on every callback URL (?secret=…). Prefer letters,
	// digits and -._~: it also goes into kannel.conf (see PostURL).
	Secret string
	// Path is the URL path the callbacks are served under, on Ferry's
	// listener: inbound texts at Path+"/mo", reports at Path+"/dlr".
	// Empty means DefaultPath.
	Path string
	// HTTPClient sends requests to Kannel; nil means one with a 30s
	// timeout.
	HTTPClient *http.Client
}

// Provider sends texts through Kannel and serves its callbacks. It
// implements gateway.Provider.
type Provider struct {
	sendURL    *url.URL
	username   string
	password   string
	publicURL  string // without a trailing slash
	moPath     string
	dlrPath    string
	secretHash [sha256.Size]byte
	secret     string
	client     *http.Client
}

var _ gateway.Provider = (*Provider)(nil)

// New checks cfg and returns a provider.
func New(cfg Config) (*Provider, error) {
	u, err := url.Parse(cfg.SendSMSURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("kannel: SendSMSURL %q is not an http(s) URL", cfg.SendSMSURL)
	}
	if cfg.Username == "" {
		return nil, errors.New("kannel: no Username for the sendsms user")
	}
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || (pub.Scheme != "http" && pub.Scheme != "https") || pub.Host == "" || pub.RawQuery != "" || pub.Fragment != "" {
		return nil, fmt.Errorf("kannel: PublicURL %q is not an http(s) URL without query", cfg.PublicURL)
	}
	if cfg.Secret == "" {
		return nil, errors.New("kannel: no Secret for the callback URLs")
	}
	path := strings.TrimSuffix(cfg.Path, "/")
	if cfg.Path == "" {
		path = DefaultPath
	}
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#% \t\r\n") || strings.Contains(path, "//") {
		return nil, fmt.Errorf("kannel: Path %q is not a URL path such as %s", cfg.Path, DefaultPath)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: defaultTimeout}
	}
	return &Provider{
		sendURL:    u,
		username:   cfg.Username,
		password:   cfg.Password,
		publicURL:  strings.TrimSuffix(cfg.PublicURL, "/"),
		moPath:     path + "/mo",
		dlrPath:    path + "/dlr",
		secretHash: sha256.Sum256([]byte(cfg.Secret)),
		secret:     cfg.Secret,
		client:     client,
	}, nil
}

// Name returns "kannel".
func (p *Provider) Name() string { return Name }

// PostURL returns the post-url for kannel.conf's sms-service: Kannel POSTs
// each inbound text there, the text as the body. Kannel replaces %p, %P, %I
// and %T (sender, receiver, its message id, Unix time); percent signs of
// the URL itself are doubled, as Kannel wants.
func PostURL(publicURL, secret string) string { return postURL(publicURL, MOPath, secret) }

func postURL(publicURL, moPath, secret string) string {
	base := strings.TrimSuffix(publicURL, "/") + moPath + "?secret=" + url.QueryEscape(secret)
	return kannelLiteral(base) + "&from=%p&to=%P&id=%I&ts=%T"
}

// PostURL is the post-url for this provider's Config (its Path included).
func (p *Provider) PostURL() string { return postURL(p.publicURL, p.moPath, p.secret) }

// dlrURL is the dlr-url for the text with Ferry's id: Kannel fetches it
// with %d replaced by the report type and %A by the SMSC's answer.
func (p *Provider) dlrURL(id string) string {
	base := p.publicURL + p.dlrPath + "?secret=" + url.QueryEscape(p.secret) + "&id=" + url.QueryEscape(id)
	return kannelLiteral(base) + "&status=%d&answer=%A"
}

// kannelLiteral escapes s for a Kannel URL template, where "%" starts an
// escape of Kannel's own: a doubled "%%" is one "%".
func kannelLiteral(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// Send hands m to Kannel's sendsms interface. The text goes as UTF-8, with
// coding=2 (UCS-2) when it has a character outside the GSM 7-bit alphabet;
// media URLs are added as lines of text. With an m.ID, every delivery report
// is asked for (dlr-mask 31) with a dlr-url carrying the id. Kannel splits a
// long text into concatenated parts, up to the sendsms user's max-messages,
// and drops the rest without saying so (the phone gets a shorter text).
// Kannel gives no message id.
func (p *Provider) Send(ctx context.Context, m gateway.Outbound) (gateway.SendResult, error) {
	text := m.Body
	if len(m.MediaURLs) > 0 {
		links := strings.Join(m.MediaURLs, "\n")
		if text == "" {
			text = links
		} else {
			text += "\n" + links
		}
	}
	if m.To == "" {
		return gateway.SendResult{}, &gateway.SendError{Code: "invalid", Text: "no recipient number"}
	}
	if text == "" {
		return gateway.SendResult{}, &gateway.SendError{Code: "invalid", Text: "empty text"}
	}
	if !utf8.ValidString(text) {
		return gateway.SendResult{}, &gateway.SendError{Code: "invalid", Text: "text is not UTF-8"}
	}
	q := url.Values{}
	q.Set("username", p.username)
	q.Set("password", p.password)
	if m.From != "" {
		q.Set("from", m.From)
	}
	q.Set("to", m.To)
	q.Set("text", text)
	q.Set("charset", "UTF-8")
	if !isGSM7(text) {
		q.Set("coding", "2")
	}
	if m.ID != "" {
		q.Set("dlr-mask", dlrMask)
		q.Set("dlr-url", p.dlrURL(m.ID))
	}
	u := *p.sendURL
	if u.RawQuery != "" {
		u.RawQuery += "&" + q.Encode()
	} else {
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return gateway.SendResult{}, &gateway.SendError{Code: "invalid", Text: "building the sendsms request failed"}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		// Not err itself: a *url.Error quotes the URL, password and all.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return gateway.SendResult{}, &gateway.SendError{Temporary: true, Code: "network", Text: "Kannel unreachable: " + err.Error()}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	answer := strings.TrimSpace(strings.ToValidUTF8(string(b), "\uFFFD"))
	code := strconv.Itoa(resp.StatusCode)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if err != nil {
			// Kannel answered 2xx: it has the text. Retrying would send
			// it twice.
			return gateway.SendResult{}, nil
		}
		switch {
		case strings.HasPrefix(answer, "0:"):
			return gateway.SendResult{}, nil
		case strings.HasPrefix(answer, "3:"):
			return gateway.SendResult{Queued: true}, nil
		}
		return gateway.SendResult{}, &gateway.SendError{Code: code, Text: "unexpected answer from Kannel's sendsms: " + orStatus(answer, resp)}
	case resp.StatusCode == http.StatusForbidden:
		return gateway.SendResult{}, &gateway.SendError{Code: code, Text: "Kannel refused the sendsms user (bad credentials or address not allowed): " + orStatus(answer, resp)}
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return gateway.SendResult{}, &gateway.SendError{Code: code, Text: orStatus(answer, resp)}
	case resp.StatusCode >= 500:
		return gateway.SendResult{}, &gateway.SendError{Temporary: true, Code: code, Text: orStatus(answer, resp)}
	}
	return gateway.SendResult{}, &gateway.SendError{Code: code, Text: "unexpected HTTP status from Kannel's sendsms: " + orStatus(answer, resp)}
}

func orStatus(answer string, resp *http.Response) string {
	if answer == "" {
		return resp.Status
	}
	return answer
}

// gsm7 is the GSM 03.38 default alphabet (the escape itself excluded) and
// its extension table (form feed and ^{}\[~]|€).
const gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà" +
	"\f^{}\\[~]|€"

// isGSM7 reports whether every character of s is in the GSM 7-bit default
// alphabet or its extension table, so Kannel can send it without UCS-2.
func isGSM7(s string) bool {
	for _, r := range s {
		if r < 0x80 {
			if r == '`' || r == 0x7f || (r < 0x20 && r != '\n' && r != '\r' && r != '\f') {
				return false
			}
			continue
		}
		if !strings.ContainsRune(gsm7, r) {
			return false
		}
	}
	return true
}

// Handler serves Kannel's callbacks under Config.Path, /sms/kannel by
// default (the full path, not stripped of the prefix):
//
//   - MOPath, POST (the text as the body, charset from Content-Type) or GET
//     (the text in ?text=, charset in ?charset=): secret, from, to, and
//     optional id (Kannel's %I, kept for de-duplication) and ts (Unix
//     time, %T) → sink.Inbound.
//   - DLRPath, GET or POST: secret, id (Ferry's Outbound.ID), status
//     (Kannel's %d) and optional answer (%A) → sink.Report. Status 1 is
//     Delivered, 2 and 16 Failed, 4 and 8 Accepted.
//
// A missing or wrong secret is 403 and nothing else happens; a malformed
// request 400; a body over MaxBodyBytes 413; a sink error 503 (Kannel
// retries, see the package documentation); success 200 with an empty body,
// which Kannel would not text back anyway (max-messages = 0).
func (p *Provider) Handler(sink gateway.Sink) http.Handler {
	return &handler{p: p, sink: sink}
}

type handler struct {
	p    *Provider
	sink gateway.Sink
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != h.p.moPath && r.URL.Path != h.p.dlrPath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// The values parsed before a malformed one still count for the secret,
	// so an unauthenticated caller learns nothing more than 403.
	q, qerr := url.ParseQuery(r.URL.RawQuery)
	if !h.p.secretOK(q["secret"]) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if qerr != nil {
		http.Error(w, "malformed query", http.StatusBadRequest)
		return
	}
	if r.URL.Path == h.p.moPath {
		h.mo(w, r, q)
	} else {
		h.dlr(w, r, q)
	}
}

// secretOK compares in constant time (hashes, so the length does not show
// either).
func (p *Provider) secretOK(got []string) bool {
	if len(got) != 1 {
		return false
	}
	sum := sha256.Sum256([]byte(got[0]))
	return subtle.ConstantTimeCompare(sum[:], p.secretHash[:]) == 1
}

// one returns the only value of key, or "" and false if it is missing or
// repeated.
func one(q url.Values, key string) (string, bool) {
	v := q[key]
	if len(v) != 1 {
		return "", false
	}
	return v[0], true
}

func (h *handler) mo(w http.ResponseWriter, r *http.Request, q url.Values) {
	from, ok1 := one(q, "from")
	to, ok2 := one(q, "to")
	if !ok1 || !ok2 || from == "" || to == "" {
		http.Error(w, "from and to are required", http.StatusBadRequest)
		return
	}
	in := gateway.Inbound{Provider: Name, From: from, To: to, Time: time.Now().UTC()}
	if ids := q["id"]; len(ids) > 1 {
		http.Error(w, "repeated id", http.StatusBadRequest)
		return
	} else if len(ids) == 1 {
		in.ProviderID = ids[0]
	}
	if tss := q["ts"]; len(tss) > 1 {
		http.Error(w, "repeated ts", http.StatusBadRequest)
		return
	} else if len(tss) == 1 && tss[0] != "" {
		ts, err := strconv.ParseInt(tss[0], 10, 64)
		if err != nil || ts < 0 {
			http.Error(w, "ts is not a Unix time", http.StatusBadRequest)
			return
		}
		in.Time = time.Unix(ts, 0).UTC()
	}

	var raw []byte
	charset := ""
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, fmt.Sprintf("text over %d bytes", MaxBodyBytes), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "reading the body failed", http.StatusBadRequest)
			return
		}
		raw = body
		if ct := r.Header.Get("Content-Type"); ct != "" {
			_, params, err := mime.ParseMediaType(ct)
			if err != nil {
				http.Error(w, "malformed Content-Type", http.StatusBadRequest)
				return
			}
			charset = params["charset"]
		}
	}
	if r.Method == http.MethodGet || len(raw) == 0 {
		// GET (get-url with &text=%a), or a POST with the text in the URL.
		text, ok := one(q, "text")
		if !ok && r.Method == http.MethodGet {
			http.Error(w, "text is required", http.StatusBadRequest)
			return
		}
		if len(text) > MaxBodyBytes {
			http.Error(w, fmt.Sprintf("text over %d bytes", MaxBodyBytes), http.StatusRequestEntityTooLarge)
			return
		}
		if ok {
			raw = []byte(text)
			charset, _ = one(q, "charset")
		}
	}
	body, err := decodeText(raw, charset)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	in.Body = body
	if err := h.sink.Inbound(r.Context(), in); err != nil {
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// decodeText turns a text in the charset Kannel named into UTF-8: UTF-8
// (what mo-recode gives, and the default), UTF-16BE/UCS-2 (UCS-2 texts
// without mo-recode) or ISO-8859-1. Bytes that are not UTF-8 become
// U+FFFD.
func decodeText(b []byte, charset string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return strings.ToValidUTF8(string(b), "\uFFFD"), nil
	case "utf-16be", "utf-16", "ucs-2", "ucs-2be", "iso-10646-ucs-2", "unicodebig":
		if len(b)%2 != 0 {
			return "", errors.New("UTF-16 text of odd length")
		}
		units := make([]uint16, len(b)/2)
		for i := range units {
			units[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		}
		if len(units) > 0 && units[0] == 0xfeff {
			units = units[1:]
		}
		return string(utf16.Decode(units)), nil
	case "iso-8859-1", "latin1", "iso_8859-1":
		rs := make([]rune, len(b))
		for i, c := range b {
			rs[i] = rune(c)
		}
		return string(rs), nil
	}
	return "", fmt.Errorf("unsupported charset %q", charset)
}

func (h *handler) dlr(w http.ResponseWriter, r *http.Request, q url.Values) {
	id, ok1 := one(q, "id")
	status, ok2 := one(q, "status")
	if !ok1 || !ok2 || id == "" {
		http.Error(w, "id and status are required", http.StatusBadRequest)
		return
	}
	answer, _ := one(q, "answer")
	rep := gateway.Report{Provider: Name, ID: id}
	switch status {
	case "1":
		rep.State = gateway.Delivered
	case "4", "8":
		rep.State = gateway.Accepted
	case "2":
		rep.State, rep.Text = gateway.Failed, "not delivered"
	case "16":
		rep.State, rep.Text = gateway.Failed, "rejected by the SMSC"
	default:
		http.Error(w, "unknown status", http.StatusBadRequest)
		return
	}
	if rep.State == gateway.Failed && answer != "" {
		rep.Text += ": " + answer
	}
	if err := h.sink.Report(r.Context(), rep); err != nil {
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

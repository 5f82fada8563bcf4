package mailparse

import (
	"io"
	"strconv"
	"strings"
	"time"
)

// Kind says who or what sent a mail.
type Kind int

const (
	// Personal is a mail a person wrote.
	Personal Kind = iota
	// AutoReply is an automatic answer or other machine-written mail: an
	// Auto-Submitted field other than "no" (RFC 3834), X-Autoreply,
	// X-Autorespond and the like, or a read receipt.
	AutoReply
	// Bulk is mailing-list or mass mail: Precedence bulk, list or junk, a
	// List-Id or a List-Unsubscribe field.
	Bulk
	// Bounce is a delivery failure report: a DSN (multipart/report;
	// report-type=delivery-status) or a mail from MAILER-DAEMON or
	// postmaster with the null Return-Path "<>".
	Bounce
)

// String returns "personal", "auto-reply", "bulk" or "bounce".
func (k Kind) String() string {
	switch k {
	case Personal:
		return "personal"
	case AutoReply:
		return "auto-reply"
	case Bulk:
		return "bulk"
	case Bounce:
		return "bounce"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Attachment is a part of the mail that is not shown as its text.
type Attachment struct {
	// Name is the file name (Content-Disposition filename, else
	// Content-Type name, RFC 2231/2047 decoded, without any directory), or
	// a made-up "part-1.2.bin"-like name when there is none.
	Name string
	// ContentType is the lower-case media type without parameters, e.g.
	// "application/pdf".
	ContentType string
	// Size is the decoded size in bytes.
	Size int64
	// Part is the IMAP section number (RFC 3501 §6.4.5) to give to
	// OpenPart or to an IMAP FETCH BODY[...].
	Part string
}

// BounceReport is what a delivery status notification says.
//
// It is not called Bounce, as the brief had it, because Go cannot have a
// type and a constant (the Kind Bounce) of the same name in one package.
// Callers rarely spell it: they read Mail.Bounce.
type BounceReport struct {
	// OriginalMessageID is the Message-ID, without angle brackets, of the
	// mail that bounced, from the returned message or header.
	OriginalMessageID string
	// Recipients are the Final-Recipient (else Original-Recipient)
	// addresses, normalised like Mail.From.
	Recipients []string
	// Action is the first recipient's action: "failed", "delayed", ...
	Action string
	// Status is the first recipient's status code, e.g. "5.1.1".
	Status string
	// Diagnostic is the first recipient's Diagnostic-Code without its type
	// ("smtp;"), on a single line.
	Diagnostic string
}

// Mail is what a chat user should see of a mail.
type Mail struct {
	// From is the From address normalised as the bridge's JIDs are (see
	// package mailaddr); when mailaddr refuses it (a domain literal, an
	// address a JID cannot carry), it is the address lower-cased, for the
	// caller to decide. FromName is the display name, RFC 2047 decoded.
	From, FromName string
	// To, Cc and ReplyTo are addresses only, normalised like From.
	To, Cc, ReplyTo []string
	// Subject is RFC 2047 decoded and on one line.
	Subject string
	// Date is zero when the Date field is absent or unreadable.
	Date time.Time
	// MessageID is the Message-ID without angle brackets; "" if absent.
	MessageID string
	// InReplyTo and References hold message ids without angle brackets,
	// in order.
	InReplyTo  []string
	References []string
	// Thread is a thread id for XEP-0201: the first id of References (the
	// root of the conversation), else the first In-Reply-To, else
	// MessageID, else "".
	Thread string
	// Text is the text to show: see the package documentation. It is
	// valid UTF-8 with "\n" line endings, no control characters but tab
	// and line feed, and at most MaxText bytes plus "\n[…]" when cut.
	Text string
	// HTMLOnly says Text was converted from HTML.
	HTMLOnly bool
	// Attachments lists every other part worth offering, in order.
	Attachments []Attachment
	// Kind says who or what sent the mail and KindReason why we think so,
	// e.g. "Auto-Submitted: auto-replied" or "List-Id: <x.example.org>".
	Kind       Kind
	KindReason string
	// Bounce is set when Kind is Bounce and the mail is a readable DSN.
	Bounce *BounceReport
}

// MaxText is the most bytes of Text, not counting the "\n[…]" that marks a
// cut.
const MaxText = 64 << 10

// How much decoded body is read before cleaning: cleaning can shrink text
// (blank lines, markup), so more than MaxText is read, but not unboundedly.
const (
	maxPlainRead = 1 << 20
	maxHTMLRead  = 2 << 20
)

// Parse reads one message. It never panics and degrades gracefully on
// malformed input: an unknown charset yields the raw bytes, broken base64
// what decodes, a broken structure what could be found. MIME nesting beyond
// 20 levels and parts beyond 500 are not looked at. Parse holds the raw
// message in memory plus a bounded amount. It returns an error only when r
// fails or the input does not start with a header block.
func Parse(r io.Reader) (*Mail, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	t, err := parseTree(raw)
	if err != nil {
		return nil, err
	}
	m := &Mail{}
	rawFrom := m.setHeaderFields(t.header)
	body := m.setText(t.root)
	m.Attachments = attachments(t.root, body)
	m.Kind, m.KindReason = classify(t.header, t.root, rawFrom)
	if m.Kind == Bounce {
		m.Bounce = readDSN(t.root)
	}
	return m, nil
}

// OpenPart returns the part of the message at IMAP section path part (as in
// Attachment.Part) with its file name and content type (as Parse reports
// them), for serving an attachment. The body has its transfer encoding
// undone but keeps its charset. A multipart section yields its raw body.
func OpenPart(r io.Reader, part string) (name, contentType string, body []byte, err error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return "", "", nil, err
	}
	t, err := parseTree(raw)
	if err != nil {
		return "", "", nil, err
	}
	p, err := t.lookup(part)
	if err != nil {
		return "", "", nil, err
	}
	if p.children != nil {
		return p.fileName(), p.mediaType, p.body, nil
	}
	body, _ = decodeTransfer(p.encoding, p.body, -1)
	return p.fileName(), p.mediaType, body, nil
}

// setHeaderFields fills the fields that come from the header. It returns
// the From address as written, lower-cased, for recognising MAILER-DAEMON
// even when it has no domain.
func (m *Mail) setHeaderFields(h header) (rawFrom string) {
	addr, name := parseMailbox(h.get("from"))
	if addr != "" {
		m.From = normAddr(addr)
	}
	m.FromName = cleanLine(name)
	m.To = addrList(h, "to")
	m.Cc = addrList(h, "cc")
	m.ReplyTo = addrList(h, "reply-to")
	m.Subject = cleanLine(decodeWords(h.get("subject")))
	m.Date = parseDate(h.get("date"))
	m.MessageID = firstID(h.get("message-id"))
	m.InReplyTo = msgIDs(h.get("in-reply-to"))
	m.References = msgIDs(strings.Join(h.values("references"), " "))
	m.Thread = threadID(m)
	return strings.ToLower(addr)
}

// threadID picks the conversation root, so that every mail of a thread
// maps to the same XEP-0201 thread.
func threadID(m *Mail) string {
	switch {
	case len(m.References) > 0:
		return m.References[0]
	case len(m.InReplyTo) > 0:
		return m.InReplyTo[0]
	}
	return m.MessageID
}

// setText chooses the body part and fills Text and HTMLOnly. It returns the
// chosen part, nil when there is none.
func (m *Mail) setText(root *part) *part {
	if p := findBody(root, "text/plain"); p != nil {
		if m.Text = plainText(p); m.Text != "" {
			return p
		}
		// An empty text/plain next to a real HTML body is a mailer's
		// placeholder: fall through to the HTML.
		if h := findBody(root, "text/html"); h != nil {
			if text := htmlText(h); text != "" {
				m.Text, m.HTMLOnly = text, true
				return h
			}
		}
		return p
	}
	if h := findBody(root, "text/html"); h != nil {
		m.Text, m.HTMLOnly = htmlText(h), true
		return h
	}
	return nil
}

// findBody returns the first part of type want, depth first, that is meant
// to be read inline: not an attachment, not a named file. Depth first in
// multipart/alternative finds the plain version before the HTML one.
func findBody(p *part, want string) *part {
	if p.children == nil {
		if p.mediaType == want && p.disposition != "attachment" && p.ownName() == "" {
			return p
		}
		return nil
	}
	for _, c := range p.children {
		if b := findBody(c, want); b != nil {
			return b
		}
	}
	return nil
}

func plainText(p *part) string {
	data, size := decodeTransfer(p.encoding, p.body, maxPlainRead)
	s, cut := toUTF8(data, p.params["charset"], maxPlainRead)
	flowed := strings.EqualFold(p.params["format"], "flowed")
	delsp := strings.EqualFold(p.params["delsp"], "yes")
	return finishText(s, flowed, delsp, cut || size > int64(len(data)))
}

func htmlText(p *part) string {
	data, size := decodeTransfer(p.encoding, p.body, maxHTMLRead)
	s, cut := htmlToUTF8(data, p.params["charset"], maxHTMLRead)
	text, stopped := htmlToText(s)
	return finishText(text, false, false, cut || stopped || size > int64(len(data)))
}

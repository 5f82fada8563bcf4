package compose

import (
	"bytes"
	"io"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	_ "github.com/emersion/go-message/charset"
	gomail "github.com/emersion/go-message/mail"
)

// parsed is what a built message reads back as. Every value that both
// parsers give is compared between them.
type parsed struct {
	raw        []byte
	fieldNames []string // as written, in order
	subject    string
	from       *netmail.Address
	to         []*netmail.Address
	date       time.Time
	messageID  string
	inReplyTo  []string
	references []string
	cte        string
	body       string // after transfer decoding
	header     netmail.Header
}

// parse reads raw back with go-message/mail and net/mail, checks the
// properties every built message must have and returns what it found.
func parse(t testing.TB, raw []byte) *parsed {
	t.Helper()
	return parseOpt(t, raw, strict)
}

// rawRules are the line rules checkRaw applies.
type rawRules struct {
	maxHeaderLine int  // longest header line, without CRLF
	allow8bit     bool // RFC 6532 UTF-8 in header fields
}

var strict = rawRules{maxHeaderLine: 78}

func parseOpt(t testing.TB, raw []byte, rules rawRules) *parsed {
	t.Helper()
	p := &parsed{raw: raw}
	checkRaw(t, raw, rules)

	head, _, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("no end of header in %q", raw)
	}
	for line := range strings.SplitSeq(string(head), "\r\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		name, _, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("header line without colon: %q", line)
		}
		p.fieldNames = append(p.fieldNames, name)
	}

	// go-message/mail.
	mr, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("go-message CreateReader: %v", err)
	}
	if p.subject, err = mr.Header.Subject(); err != nil {
		t.Fatalf("go-message Subject: %v", err)
	}
	from, err := mr.Header.AddressList("From")
	if err != nil || len(from) != 1 {
		t.Fatalf("go-message From: %v %v", from, err)
	}
	p.from = from[0]
	if p.to, err = mr.Header.AddressList("To"); err != nil {
		t.Fatalf("go-message To: %v", err)
	}
	if p.date, err = mr.Header.Date(); err != nil {
		t.Fatalf("go-message Date: %v", err)
	}
	if p.messageID, err = mr.Header.MessageID(); err != nil {
		t.Fatalf("go-message Message-ID: %v", err)
	}
	if p.inReplyTo, err = mr.Header.MsgIDList("In-Reply-To"); err != nil {
		t.Fatalf("go-message In-Reply-To: %v", err)
	}
	if p.references, err = mr.Header.MsgIDList("References"); err != nil {
		t.Fatalf("go-message References: %v", err)
	}
	part, err := mr.NextPart()
	if err != nil {
		t.Fatalf("go-message NextPart: %v", err)
	}
	if _, ok := part.Header.(*gomail.InlineHeader); !ok {
		t.Fatalf("go-message part header is %T, want inline", part.Header)
	}
	ct, params, err := part.Header.(*gomail.InlineHeader).ContentType()
	if err != nil || ct != "text/plain" || params["charset"] != "utf-8" {
		t.Fatalf("go-message Content-Type %q %v %v", ct, params, err)
	}
	body, err := io.ReadAll(part.Body)
	if err != nil {
		t.Fatalf("go-message body: %v", err)
	}
	p.body = string(body)
	if _, err := mr.NextPart(); err != io.EOF {
		t.Fatalf("go-message: second part: %v", err)
	}

	// net/mail.
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail ReadMessage: %v", err)
	}
	p.header = msg.Header
	if len(msg.Header) != len(p.fieldNames) {
		t.Errorf("net/mail sees %d fields, raw has %q", len(msg.Header), p.fieldNames)
	}
	for k, v := range msg.Header {
		if len(v) != 1 {
			t.Errorf("net/mail: %d %s fields", len(v), k)
		}
	}
	nfrom, err := msg.Header.AddressList("From")
	if err != nil || len(nfrom) != 1 || *nfrom[0] != *p.from {
		t.Errorf("net/mail From %v %v, go-message %v", nfrom, err, p.from)
	}
	nto, err := msg.Header.AddressList("To")
	if err != nil || len(nto) != len(p.to) {
		t.Errorf("net/mail To %v %v, go-message %v", nto, err, p.to)
	} else {
		for i := range nto {
			if *nto[i] != *p.to[i] {
				t.Errorf("net/mail To[%d] %v, go-message %v", i, nto[i], p.to[i])
			}
		}
	}
	nsubj, err := new(netmail.AddressParser).WordDecoder.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || nsubj != p.subject {
		t.Errorf("net/mail Subject %q %v, go-message %q", nsubj, err, p.subject)
	}
	ndate, err := msg.Header.Date()
	if err != nil || !ndate.Equal(p.date) {
		t.Errorf("net/mail Date %v %v, go-message %v", ndate, err, p.date)
	}
	nbody, err := io.ReadAll(msg.Body)
	if err != nil {
		t.Fatalf("net/mail body: %v", err)
	}
	p.cte = msg.Header.Get("Content-Transfer-Encoding")
	switch p.cte {
	case "7bit":
	case "quoted-printable":
		nbody, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(nbody)))
		if err != nil {
			t.Fatalf("quoted-printable: %v", err)
		}
	default:
		t.Fatalf("Content-Transfer-Encoding %q", p.cte)
	}
	if string(nbody) != p.body {
		t.Errorf("net/mail body %q, go-message %q", nbody, p.body)
	}
	return p
}

// checkRaw checks the line structure of raw: CRLF line ends only, every
// line at most 998 octets, header lines within the rules, only ASCII unless
// allowed in the header, no NUL, and a line end at the end.
func checkRaw(t testing.TB, raw []byte, rules rawRules) {
	t.Helper()
	inHeader := true
	lines := strings.Split(string(raw), "\r\n")
	for i, line := range lines {
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i, line)
		}
		if len(line) > 998 {
			t.Errorf("line %d is %d octets", i, len(line))
		}
		if inHeader && len(line) > rules.maxHeaderLine {
			t.Errorf("header line %d is %d octets: %q", i, len(line), line)
		}
		if line == "" {
			inHeader = false
		}
		for j := 0; j < len(line); j++ {
			if line[j] >= 0x80 && !(inHeader && rules.allow8bit) || line[j] == 0 {
				t.Errorf("line %d has byte %#x", i, line[j])
				break
			}
		}
	}
	if inHeader {
		t.Errorf("no end of header")
	}
	if last := lines[len(lines)-1]; last != "" {
		t.Errorf("message does not end with CRLF: last line %q", last)
	}
}

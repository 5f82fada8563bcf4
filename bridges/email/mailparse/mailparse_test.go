package mailparse

import (
	"bytes"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// crlf gives a literal message the line endings it has on the wire.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// b64 encodes data in 76-column lines, as mailers do.
func b64(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	return b.String() + enc + "\n"
}

var pdfData = []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")

var pngData = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")

var (
	msgPlain = crlf(`From: Alice Example <Alice@Example.ORG>
To: bob@example.net, "Carol" <Carol@Example.net>
Cc: dave@example.net
Reply-To: alice+replies@example.org
Subject: Hello
	there
Date: Tue, 1 Jul 2003 10:52:37 +0200
Message-ID: <m1@example.org>
Content-Type: text/plain; charset=utf-8

Hi Bob,

How are you?
`)

	msgHTML = `From: news@example.org
Subject: Newsletter
Content-Type: text/html; charset=utf-8

<html><head><title>Page title</title>
<style>p > a { color: red; } body { font-family: sans-serif }</style></head>
<body><script>if (a < b && c > d) { alert("boo"); }</script>
<h1>News</h1>
<p>Caf&eacute; &amp; friends &lt;3</p>
<ul><li class="first">one</li><li>two</li></ul>
<p>Read <a href="https://example.org/a?x=1&amp;y=2">the article</a> on <a href="https://www.example.org/">example.org</a>.</p>
<table><tr><td>Name</td><td>Price</td></tr><tr><td>Tea</td><td>3</td></tr></table>
<pre>code
  indented</pre>
</body></html>
`

	msgLatin1 = "From: a@example.org\nSubject: latin\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nCaf=E9 =93cr=E8me=94 soft=\n break\n"

	msgCP1252 = "From: =?UTF-8?B?w4lsaXNl?= <elise@example.org>\n" +
		"Subject: =?ISO-8859-1?Q?Caf=E9_cr=E8me?= and =?UTF-8?B?4oKs?=\n" +
		"Content-Type: text/plain; charset=windows-1252\nContent-Transfer-Encoding: 8bit\n\n" +
		"\x93quoted\x94 costs 5\x80\n"

	msgPDF = crlf(`From: alice@example.org
To: bob@example.net
Subject: report
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XYZ"

preamble is ignored
--XYZ
Content-Type: text/plain; charset=us-ascii

See the report.
--XYZ
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

`) + crlf(b64(pdfData)) + "--XYZ--\r\nepilogue\r\n"

	msgAlternative = `From: alice@example.org
Subject: photo
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8

Plain version.
--inner
Content-Type: text/html; charset=utf-8

<p>HTML <b>version</b>.</p>
--inner--

--outer
Content-Type: image/png
Content-Disposition: inline; filename=photo.png
Content-Transfer-Encoding: base64

` + b64(pngData) + `--outer--
`

	msgRFC2231 = `From: alice@example.org
Subject: names
Content-Type: multipart/mixed; boundary=----=_Part_0_1.2

------=_Part_0_1.2
Content-Type: text/plain

Files attached.
------=_Part_0_1.2
Content-Type: text/plain; charset=utf-8
Content-Disposition: attachment;
 filename*0*=UTF-8''%E2%82%AC%20rates;
 filename*1=".txt"

1 EUR = 1 EUR
------=_Part_0_1.2
Content-Type: application/octet-stream
Content-Disposition: attachment; filename*=iso-8859-1''caf%E9.bin

x
------=_Part_0_1.2
Content-Type: application/octet-stream; name="=?UTF-8?Q?na=C3=AFve.dat?="

y
------=_Part_0_1.2
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="../../etc/passwd"

z
------=_Part_0_1.2--
`

	msgForward = `From: alice@example.org
Subject: Fwd: old
Content-Type: multipart/mixed; boundary=b1

--b1
Content-Type: text/plain

Forwarding this.
--b1
Content-Type: message/rfc822

From: carol@example.org
Subject: old
Content-Type: multipart/mixed; boundary=b2

--b2
Content-Type: text/plain

Inner text.
--b2
Content-Type: application/pdf; name=inner.pdf

%PDF
--b2--
--b1--
`

	msgAutoReply = `From: bob@example.net
To: alice@example.org
Subject: Out of office
Auto-Submitted: auto-replied; owner-email="bob@example.net"
Precedence: bulk
In-Reply-To: <m1@example.org>

I am away.
`

	msgXAutoreply = "From: bob@example.net\nSubject: away\nX-Autoreply: yes\n\nAway.\n"

	msgBulk = "From: shop@example.com\nSubject: Sale\nPrecedence: bulk\n\nBuy!\n"

	msgList = "From: someone@example.org\nSubject: [x] topic\nList-Id: <x.example.org>\n\nPost.\n"

	msgUnsub = "From: someone@example.org\nSubject: promo\nList-Unsubscribe: <mailto:u@example.org>\n\nPromo.\n"

	msgNotAuto = "From: a@example.org\nSubject: hi\nAuto-Submitted: no\n\nHi.\n"

	msgDSN = crlf(`Return-Path: <>
Delivered-To: alice@example.org
Received: by mail.example.org (Postfix)
	id 3F1C2A0E4; Tue, 14 Nov 2023 22:13:20 +0000 (UTC)
Date: Tue, 14 Nov 2023 22:13:20 +0000 (UTC)
From: MAILER-DAEMON@mail.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: alice@example.org
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="3F1C2A0E4.1700000000/mail.example.org"
Content-Transfer-Encoding: 7bit
Message-Id: <20231114221320.3F1C2A0E4@mail.example.org>

This is a MIME-encapsulated message.

--3F1C2A0E4.1700000000/mail.example.org
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<nobody@remote.test>: unknown user

--3F1C2A0E4.1700000000/mail.example.org
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.org
X-Postfix-Queue-ID: 3F1C2A0E4
X-Postfix-Sender: rfc822; alice@example.org
Arrival-Date: Tue, 14 Nov 2023 22:13:19 +0000 (UTC)

Final-Recipient: rfc822; nobody@remote.test
Original-Recipient: rfc822;nobody@remote.test
Action: failed
Status: 5.1.1
Diagnostic-Code: X-Postfix; unknown user

--3F1C2A0E4.1700000000/mail.example.org
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <alice@example.org>
Received: by mail.example.org (Postfix, from userid 1000)
	id 3F1C2A0E4; Tue, 14 Nov 2023 22:13:19 +0000 (UTC)
From: Alice <alice@example.org>
To: nobody@remote.test
Subject: Hi
Message-Id: <orig-123@example.org>
Date: Tue, 14 Nov 2023 22:13:19 +0000 (UTC)

--3F1C2A0E4.1700000000/mail.example.org--
`)

	msgDaemon = "Return-Path: <>\nFrom: Mail System <postmaster@example.org>\nSubject: failure\n\nYour mail to x@y failed.\n"

	msgThreadRefs = "From: a@example.org\nMessage-ID: <c@x>\nIn-Reply-To: <b@x>\n" +
		"References: <root@x>\n <a@x> <b@x>\n\nreply\n"

	msgThreadReply = "From: a@example.org\nMessage-ID: <c@x>\nIn-Reply-To: <b@x> (Bob's message of Monday)\n\nreply\n"

	msgThreadNone = "From: a@example.org\nMessage-ID: <c@x>\n\nnew\n"

	msgControls = "From: a@example.org\nSubject: ctl\n\nline1\r\nline2\rline3\x00end\x01\x7f\t tab   \n\n\n\n\n\n  indented\n\n\n"

	msgFlowed = "From: a@example.org\nContent-Type: text/plain; charset=utf-8; format=flowed; delsp=no\n\n" +
		"This is a long \nflowed paragraph.\n>> quoted and \n>> flowed\n \nFrom stuffed\n-- \nsig\n"

	msgEmptyPlain = `From: a@example.org
Content-Type: multipart/alternative; boundary=b

--b
Content-Type: text/plain

--b
Content-Type: text/html

<p>Only the HTML says something.</p>
--b--
`

	msgNoBoundary = "From: a@example.org\nContent-Type: multipart/mixed\n\nJust text.\n"

	msgBadBase64 = "From: a@example.org\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n" +
		"SGVsbG8g!!d29y\nbGQ=\n*"

	msgConcatBase64 = "From: a@example.org\nContent-Transfer-Encoding: base64\n\nSGk=\nIHRoZXJl"

	msgHTMLNoHeadEnd = "From: a@example.org\nContent-Type: text/html\n\n<head><style>p>b{}</style><p>Body <a name=x>text</a>"

	msgOddHeaders = "From: \"Q\" <\"John Doe\"@Example.org>\n" +
		"Subject: =?x-no-such?Q?abc?= =?utf-8?Q?d=C3=A9f?=\n\nx\n"

	msgUnknownCharset = "From: a@example.org\nContent-Type: text/plain; charset=x-no-such\n\nna\xefve\n"

	msgCalendar = `From: a@example.org
Content-Type: multipart/alternative; boundary=b

--b
Content-Type: text/plain

Meeting.
--b
Content-Type: multipart/related; boundary=c

--c
Content-Type: text/html

<p>Meeting <img src="cid:logo"></p>
--c
Content-Type: image/png
Content-ID: <logo>

PNG
--c--
--b
Content-Type: text/calendar; method=REQUEST

BEGIN:VCALENDAR
END:VCALENDAR
--b--
`
)

type parseCase struct {
	name  string
	raw   string
	check func(t *testing.T, m *Mail)
}

var parseCases = []parseCase{
	{"plain", msgPlain, func(t *testing.T, m *Mail) {
		eq(t, "From", m.From, "alice@example.org")
		eq(t, "FromName", m.FromName, "Alice Example")
		eq(t, "To", m.To, []string{"bob@example.net", "carol@example.net"})
		eq(t, "Cc", m.Cc, []string{"dave@example.net"})
		eq(t, "ReplyTo", m.ReplyTo, []string{"alice+replies@example.org"})
		eq(t, "Subject", m.Subject, "Hello there")
		eq(t, "Date", m.Date.UTC(), time.Date(2003, 7, 1, 8, 52, 37, 0, time.UTC))
		eq(t, "MessageID", m.MessageID, "m1@example.org")
		eq(t, "Thread", m.Thread, "m1@example.org")
		eq(t, "Text", m.Text, "Hi Bob,\n\nHow are you?")
		eq(t, "HTMLOnly", m.HTMLOnly, false)
		eq(t, "Kind", m.Kind, Personal)
		eq(t, "Attachments", len(m.Attachments), 0)
	}},
	{"html only", msgHTML, func(t *testing.T, m *Mail) {
		eq(t, "HTMLOnly", m.HTMLOnly, true)
		eq(t, "Text", m.Text, "News\n\nCafé & friends <3\n\n - one\n - two\n\n"+
			"Read the article <https://example.org/a?x=1&y=2> on example.org.\n\nName Price\nTea 3\n\ncode\n  indented")
		eq(t, "Attachments", len(m.Attachments), 0)
	}},
	{"latin-1 quoted-printable", msgLatin1, func(t *testing.T, m *Mail) {
		// 0x93/0x94 are Windows-1252 quotes: Latin-1 is read as such.
		eq(t, "Text", m.Text, "Café “crème” soft break")
	}},
	{"windows-1252 and encoded words", msgCP1252, func(t *testing.T, m *Mail) {
		eq(t, "FromName", m.FromName, "Élise")
		eq(t, "From", m.From, "elise@example.org")
		eq(t, "Subject", m.Subject, "Café crème and €")
		eq(t, "Text", m.Text, "“quoted” costs 5€")
	}},
	{"mixed with pdf", msgPDF, func(t *testing.T, m *Mail) {
		eq(t, "Text", m.Text, "See the report.")
		eq(t, "Attachments", m.Attachments, []Attachment{
			{Name: "report.pdf", ContentType: "application/pdf", Size: int64(len(pdfData)), Part: "2"},
		})
	}},
	{"alternative in mixed", msgAlternative, func(t *testing.T, m *Mail) {
		eq(t, "Text", m.Text, "Plain version.")
		eq(t, "HTMLOnly", m.HTMLOnly, false)
		eq(t, "Attachments", m.Attachments, []Attachment{
			{Name: "photo.png", ContentType: "image/png", Size: int64(len(pngData)), Part: "2"},
		})
	}},
	{"rfc 2231 names", msgRFC2231, func(t *testing.T, m *Mail) {
		eq(t, "Text", m.Text, "Files attached.")
		names := []string{}
		for _, a := range m.Attachments {
			names = append(names, a.Part+" "+a.Name+" "+a.ContentType)
		}
		eq(t, "Attachments", names, []string{
			"2 € rates.txt text/plain",
			"3 café.bin application/octet-stream",
			"4 naïve.dat application/octet-stream",
			"5 passwd application/octet-stream",
		})
	}},
	{"message/rfc822 attachment", msgForward, func(t *testing.T, m *Mail) {
		eq(t, "Text", m.Text, "Forwarding this.")
		eq(t, "Attachments", len(m.Attachments), 1)
		a := m.Attachments[0]
		eq(t, "Part", a.Part, "2")
		eq(t, "ContentType", a.ContentType, "message/rfc822")
		eq(t, "Name", a.Name, "part-2.eml")
	}},
	{"auto-submitted", msgAutoReply, func(t *testing.T, m *Mail) {
		eq(t, "Kind", m.Kind, AutoReply)
		eq(t, "KindReason", m.KindReason, "Auto-Submitted: auto-replied")
		eq(t, "Thread", m.Thread, "m1@example.org")
	}},
	{"x-autoreply", msgXAutoreply, func(t *testing.T, m *Mail) {
		eq(t, "Kind", m.Kind, AutoReply)
		eq(t, "KindReason", m.KindReason, "X-Autoreply: yes")
	}},
	{"precedence bulk", msgBulk, func(t *testing.T, m *Mail) {
		eq(t, "Kind", m.Kind, Bulk)
		eq(t, "KindReason", m.KindReason, "Precedence: bulk")
	}},
	{"list-id", msgList, func(t *testing.T, m *Mail) {
		eq(t, "Kind", m.Kind, Bulk)
		eq(t, "KindReason", m.KindReason, "List-Id: <x.example.org>")
	}},
	{"list-unsubscribe", msgUnsub, func(t *testing.T, m *Mail) {
		eq(t, "Kind", m.Kind, Bulk)
		eq(t, "KindReason", m.KindReason, "List-Unsubscribe")
	}},
	{"auto-submitted no", msgNotAuto, func(t *testing.T, m *Mail) {
		eq(t, "Kind", m.Kind, Personal)
		eq(t, "KindReason", m.KindReason, "")
	}},
	{"postfix dsn", msgDSN, func(t *testing.T, m *Mail) {
		eq(t, "Kind", m.Kind, Bounce)
		eq(t, "KindReason", m.KindReason, "delivery status notification")
		eq(t, "From", m.From, "mailer-daemon@mail.example.org")
		eq(t, "FromName", m.FromName, "Mail Delivery System")
		if m.Bounce == nil {
			t.Fatal("Bounce is nil")
		}
		eq(t, "Bounce", *m.Bounce, BounceReport{
			OriginalMessageID: "orig-123@example.org",
			Recipients:        []string{"nobody@remote.test"},
			Action:            "failed",
			Status:            "5.1.1",
			Diagnostic:        "unknown user",
		})
		if !strings.HasPrefix(m.Text, "This is the mail system at host mail.example.org.\n\n") ||
			!strings.HasSuffix(m.Text, "<nobody@remote.test>: unknown user") {
			t.Errorf("Text = %q", m.Text)
		}
		parts := []string{}
		for _, a := range m.Attachments {
			parts = append(parts, a.Part+" "+a.Name)
		}
		eq(t, "Attachments", parts, []string{"2 part-2.txt", "3 part-3.txt"})
	}},
	{"non-dsn bounce", msgDaemon, func(t *testing.T, m *Mail) {
		eq(t, "Kind", m.Kind, Bounce)
		eq(t, "KindReason", m.KindReason, "From: postmaster@example.org with Return-Path: <>")
		if m.Bounce != nil {
			t.Errorf("Bounce = %+v, want nil", m.Bounce)
		}
	}},
	{"thread from references", msgThreadRefs, func(t *testing.T, m *Mail) {
		eq(t, "References", m.References, []string{"root@x", "a@x", "b@x"})
		eq(t, "InReplyTo", m.InReplyTo, []string{"b@x"})
		eq(t, "Thread", m.Thread, "root@x")
	}},
	{"thread from in-reply-to", msgThreadReply, func(t *testing.T, m *Mail) {
		eq(t, "InReplyTo", m.InReplyTo, []string{"b@x"})
		eq(t, "Thread", m.Thread, "b@x")
	}},
	{"thread from message-id", msgThreadNone, func(t *testing.T, m *Mail) {
		eq(t, "Thread", m.Thread, "c@x")
		eq(t, "Date", m.Date.IsZero(), true)
	}},
	{"control characters", msgControls, func(t *testing.T, m *Mail) {
		eq(t, "Text", m.Text, "line1\nline2\nline3end\x7f\t tab\n\n\n  indented")
	}},
	{"format=flowed", msgFlowed, func(t *testing.T, m *Mail) {
		eq(t, "Text", m.Text, "This is a long flowed paragraph.\n>> quoted and flowed\n\nFrom stuffed\n--\nsig")
	}},
	{"empty plain alternative", msgEmptyPlain, func(t *testing.T, m *Mail) {
		eq(t, "Text", m.Text, "Only the HTML says something.")
		eq(t, "HTMLOnly", m.HTMLOnly, true)
		eq(t, "Attachments", len(m.Attachments), 0)
	}},
	{"multipart without boundary", msgNoBoundary, func(t *testing.T, m *Mail) {
		eq(t, "Text", m.Text, "Just text.")
	}},
	{"broken base64", msgBadBase64, func(t *testing.T, m *Mail) {
		eq(t, "Text", m.Text, "Hello world")
	}},
	{"concatenated base64", msgConcatBase64, func(t *testing.T, m *Mail) {
		eq(t, "Text", m.Text, "Hi there") // "SGk=" + "IHRoZXJl"
	}},
	{"html with unclosed head", msgHTMLNoHeadEnd, func(t *testing.T, m *Mail) {
		eq(t, "Text", m.Text, "Body text")
	}},
	{"quoted local part, unknown charset word", msgOddHeaders, func(t *testing.T, m *Mail) {
		eq(t, "From", m.From, `"john doe"@example.org`)
		eq(t, "Subject", m.Subject, "abcdéf")
	}},
	{"unknown charset", msgUnknownCharset, func(t *testing.T, m *Mail) {
		eq(t, "Text", m.Text, "na\uFFFDve")
	}},
	{"calendar in alternative", msgCalendar, func(t *testing.T, m *Mail) {
		eq(t, "Text", m.Text, "Meeting.")
		eq(t, "Attachments", m.Attachments, []Attachment{
			{Name: "part-3.ics", ContentType: "text/calendar", Size: int64(len("BEGIN:VCALENDAR\nEND:VCALENDAR")), Part: "3"},
		})
	}},
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(strings.NewReader(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, m)
			checkInvariants(t, []byte(tc.raw), m)
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, raw := range []string{"", "no header here\n", "\nbody only\n", " folded\n"} {
		if m, err := Parse(strings.NewReader(raw)); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", raw, m)
		}
	}
}

func TestParseMbox(t *testing.T) {
	raw := "From alice@example.org Tue Jul  1 10:52:37 2003\n" + msgPlain
	m, err := Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "Subject", m.Subject, "Hello there")
}

func TestTruncate(t *testing.T) {
	for _, unit := range []string{"x", "é", "日本", "line\n"} {
		body := strings.Repeat(unit, 2*MaxText/len(unit))
		m, err := Parse(strings.NewReader("From: a@example.org\n\n" + body))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(m.Text, cutMark) || len(m.Text) > MaxText+len(cutMark) || !utf8.ValidString(m.Text) {
			t.Errorf("%q: len %d, tail %q", unit, len(m.Text), m.Text[len(m.Text)-10:])
		}
	}
	// A body past the read limit that cleans down to little is marked too.
	m, err := Parse(strings.NewReader("From: a@example.org\n\nhead" + strings.Repeat("\x00", maxPlainRead)))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "Text", m.Text, "head"+cutMark)
}

func TestLimits(t *testing.T) {
	var deep strings.Builder
	deep.WriteString("From: a@example.org\n")
	for i := range 50 {
		deep.WriteString("Content-Type: multipart/mixed; boundary=b" + string(rune('A'+i)) + "\n\n--b" + string(rune('A'+i)) + "\n")
	}
	deep.WriteString("Content-Type: text/plain\n\ndeep text\n")
	m, err := Parse(strings.NewReader(deep.String()))
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "" || len(m.Attachments) != 1 || strings.Count(m.Attachments[0].Part, ".") != maxDepth-1 {
		t.Errorf("deep: Text %q, Attachments %+v", m.Text, m.Attachments)
	}

	var many strings.Builder
	many.WriteString("From: a@example.org\nContent-Type: multipart/mixed; boundary=b\n\n")
	for range 2 * maxParts {
		many.WriteString("--b\nContent-Type: application/octet-stream\n\nx\n")
	}
	m, err = Parse(strings.NewReader(many.String()))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "attachments", len(m.Attachments), maxParts-1) // the root counts too
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Personal: "personal", AutoReply: "auto-reply", Bulk: "bulk", Bounce: "bounce", 9: "Kind(9)"} {
		eq(t, "String", k.String(), want)
	}
}

func TestOpenPart(t *testing.T) {
	name, ct, body, err := OpenPart(strings.NewReader(msgPDF), "2")
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "name", name, "report.pdf")
	eq(t, "contentType", ct, "application/pdf")
	if !bytes.Equal(body, pdfData) {
		t.Errorf("body = %q", body)
	}

	// The charset is not converted: Latin-1 stays Latin-1.
	_, ct, body, err = OpenPart(strings.NewReader(msgLatin1), "1")
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "contentType", ct, "text/plain")
	eq(t, "body", string(body), "Caf\xe9 \x93cr\xe8me\x94 soft break\n")

	_, ct, body, err = OpenPart(strings.NewReader(msgAlternative), "1.2")
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "contentType", ct, "text/html")
	eq(t, "body", string(body), "<p>HTML <b>version</b>.</p>")

	for _, bad := range []string{"3", "0", "", "1.1", "2.1", "01", "+1", "-1", "a", "1.", ".1", "99999999999999999999"} {
		if _, _, _, err := OpenPart(strings.NewReader(msgPDF), bad); err == nil {
			t.Errorf("OpenPart(%q): no error", bad)
		}
	}
	if _, _, _, err := OpenPart(strings.NewReader(msgPlain), "2"); err == nil {
		t.Error("OpenPart(plain, 2): no error")
	}
	if _, _, _, err := OpenPart(strings.NewReader(""), "1"); err == nil {
		t.Error("OpenPart(empty): no error")
	}
}

func TestAddressFallback(t *testing.T) {
	raw := "From: \"Broken <Bob@Example.NET\nTo: ok@example.org, Bad Name <x@example.org, [weird]\nCc: undisclosed-recipients:;\n\nhi\n"
	m, err := Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "From", m.From, "bob@example.net")
	eq(t, "To", m.To, []string{"ok@example.org", "x@example.org"})
	eq(t, "Cc", len(m.Cc), 0)

	// An address mailaddr refuses is kept lower-cased for the caller.
	m, err = Parse(strings.NewReader("From: Joe <Joe@[192.0.2.1]>\n\nhi\n"))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "From", m.From, "joe@[192.0.2.1]")
}

// checkInvariants checks what FuzzParse checks, on every test message too.
func checkInvariants(t *testing.T, raw []byte, m *Mail) {
	t.Helper()
	if !utf8.ValidString(m.Text) || strings.ContainsAny(m.Text, "\x00\r") {
		t.Errorf("Text has invalid UTF-8, NUL or CR: %q", m.Text)
	}
	if len(m.Text) > MaxText+len(cutMark) {
		t.Errorf("Text is %d bytes", len(m.Text))
	}
	for _, s := range []string{m.Subject, m.FromName, m.From, m.KindReason} {
		if !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\r\n") {
			t.Errorf("header value %q is not one clean line", s)
		}
	}
	for _, a := range m.Attachments {
		name, ct, body, err := OpenPart(bytes.NewReader(raw), a.Part)
		if err != nil {
			t.Errorf("OpenPart(%q): %v", a.Part, err)
			continue
		}
		if name != a.Name || ct != a.ContentType || int64(len(body)) != a.Size {
			t.Errorf("OpenPart(%q) = %q, %q, %d bytes; Parse said %+v", a.Part, name, ct, len(body), a)
		}
	}
}

package compose

import (
	"errors"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var testDate = time.Date(2024, time.March, 5, 14, 7, 9, 0, time.FixedZone("", 3600))

// base returns a valid mail for the tests to change.
func base() Mail {
	return Mail{
		From:      Address{Name: "Alice", Addr: "alice@example.org"},
		To:        []Address{{Addr: "bob@example.net"}},
		Subject:   "Hello",
		Date:      testDate,
		MessageID: "0123abcd@example.org",
		Body:      "Hi Bob\n",
	}
}

var baseFields = []string{"Date", "From", "To", "Subject", "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"}

func TestBuild(t *testing.T) {
	long := strings.Repeat("0123456789", 150) // 1500 octets, no break
	longUTF8 := strings.Repeat("Grüße ", 200) // 1400 octets, spaces only
	tests := []struct {
		name   string
		change func(*Mail)
		// Expectations; zero values mean "as in base".
		fields   []string
		subject  string
		from     *mail.Address
		to       []*mail.Address
		body     string
		cte      string
		inReply  []string
		refs     []string
		rawHas   []string // substrings of the raw message
		rawHasnt []string
		rules    *rawRules
	}{
		{
			name:   "ascii",
			change: func(m *Mail) { m.Subject = "Hello world"; m.Body = "Hi Bob\nBye" },
			fields: baseFields, subject: "Hello world", body: "Hi Bob\r\nBye\r\n", cte: "7bit",
			from:   &mail.Address{Name: "Alice", Address: "alice@example.org"},
			to:     []*mail.Address{{Address: "bob@example.net"}},
			rawHas: []string{"\r\nSubject: Hello world\r\n", "\r\nFrom: Alice <alice@example.org>\r\n", "\r\nTo: bob@example.net\r\n", "\r\nMIME-Version: 1.0\r\n", "\r\nContent-Type: text/plain; charset=utf-8\r\n", "\r\n\r\nHi Bob\r\nBye\r\n"},
		},
		{
			name: "utf8 subject and name",
			change: func(m *Mail) {
				m.Subject = "Grüße aus Köln 🎉"
				m.From.Name = "Jürgen Müller"
				m.To = []Address{{Name: "Zoë", Addr: "zoe@example.net"}, {Name: "Bob", Addr: "bob@example.net"}}
			},
			subject:  "Grüße aus Köln 🎉",
			from:     &mail.Address{Name: "Jürgen Müller", Address: "alice@example.org"},
			to:       []*mail.Address{{Name: "Zoë", Address: "zoe@example.net"}, {Name: "Bob", Address: "bob@example.net"}},
			rawHas:   []string{"Subject: =?utf-8?b?"},
			rawHasnt: []string{"Grüße"},
		},
		{
			name: "header injection in subject and name",
			change: func(m *Mail) {
				m.Subject = "Hi\r\nBcc: evil@x.org"
				m.From.Name = "Eve\r\nBcc: evil@x.org\r\n\r\nbody"
				m.To[0].Name = "Bob\nTo: evil@x.org"
			},
			fields:   baseFields,
			subject:  "Hi Bcc: evil@x.org",
			from:     &mail.Address{Name: "Eve Bcc: evil@x.org body", Address: "alice@example.org"},
			to:       []*mail.Address{{Name: "Bob To: evil@x.org", Address: "bob@example.net"}},
			rawHasnt: []string{"\nBcc", "\nbody"},
		},
		{
			name:    "controls collapsed and trimmed",
			change:  func(m *Mail) { m.Subject = " \t a\x00\x01\x7f\u0085\u2028 b\t\t" },
			subject: "a b",
		},
		{
			name:    "invalid utf-8 subject",
			change:  func(m *Mail) { m.Subject = "a\xffb" },
			subject: "a\uFFFDb",
		},
		{
			name:     "text that looks encoded",
			change:   func(m *Mail) { m.Subject = "=?utf-8?q?evil?="; m.From.Name = "=?utf-8?q?Bank?=" },
			subject:  "=?utf-8?q?evil?=",
			from:     &mail.Address{Name: "=?utf-8?q?Bank?=", Address: "alice@example.org"},
			rawHasnt: []string{"Subject: =?utf-8?q?"},
		},
		{
			name:    "empty subject",
			change:  func(m *Mail) { m.Subject = "\r\n" },
			fields:  baseFields,
			subject: "",
			rawHas:  []string{"\r\nSubject:\r\n"},
		},
		{
			name:    "long subject truncated",
			change:  func(m *Mail) { m.Subject = strings.Repeat("ü", 150) + " " + strings.Repeat("x", 150) },
			subject: strings.Repeat("ü", 150) + " " + strings.Repeat("x", 49),
		},
		{
			name:    "long ascii subject folded",
			change:  func(m *Mail) { m.Subject = strings.Repeat("word ", 40) },
			subject: strings.TrimSpace(strings.Repeat("word ", 40)),
			rawHas:  []string{"Subject: word word", "\r\n word"},
		},
		{
			name: "quoted names",
			change: func(m *Mail) {
				m.From.Name = `Doe, John "JD" \o/`
				m.To[0].Name = "B. Smith"
			},
			from:   &mail.Address{Name: `Doe, John "JD" \o/`, Address: "alice@example.org"},
			to:     []*mail.Address{{Name: "B. Smith", Address: "bob@example.net"}},
			rawHas: []string{`From: "Doe, John \"JD\" \\o/" <alice@example.org>`, `To: "B. Smith" <bob@example.net>`},
		},
		{
			name:   "long names",
			change: func(m *Mail) { m.From.Name = strings.Repeat("a", 300); m.To[0].Name = strings.Repeat("Ω ", 300) },
			from:   &mail.Address{Name: strings.Repeat("a", 200), Address: "alice@example.org"},
			to:     []*mail.Address{{Name: strings.TrimSpace(strings.Repeat("Ω ", 100)), Address: "bob@example.net"}},
		},
		{
			name: "idn domain",
			change: func(m *Mail) {
				m.To = []Address{{Name: "Bücher", Addr: "info@Bücher.example"}}
			},
			to:     []*mail.Address{{Name: "Bücher", Address: "info@xn--bcher-kva.example"}},
			rawHas: []string{"<info@xn--bcher-kva.example>"},
		},
		{
			name:   "quoted local part",
			change: func(m *Mail) { m.To = []Address{{Addr: `"john doe"@example.net`}} },
			to:     []*mail.Address{{Address: "john doe@example.net"}},
			rawHas: []string{`To: "john doe"@example.net`},
		},
		{
			name:   "utf-8 local part",
			change: func(m *Mail) { m.To = []Address{{Name: "J", Addr: "jürgen@example.net"}} },
			to:     []*mail.Address{{Name: "J", Address: "jürgen@example.net"}},
			rules:  &rawRules{maxHeaderLine: 78, allow8bit: true},
		},
		{
			name: "many recipients folded",
			change: func(m *Mail) {
				m.To = nil
				for i := range 20 {
					m.To = append(m.To, Address{Name: "R" + string(rune('a'+i)), Addr: "r" + string(rune('a'+i)) + "@example.net"})
				}
			},
			rawHas: []string{"To: Ra <ra@example.net>, Rb <rb@example.net>,"},
		},
		{
			name: "threading",
			change: func(m *Mail) {
				m.InReplyTo = "parent@example.net"
				m.References = []string{"root@example.net", "mid.1$x@example.net", "parent@example.net"}
			},
			fields:  []string{"Date", "From", "To", "Subject", "Message-ID", "In-Reply-To", "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"},
			inReply: []string{"parent@example.net"},
			refs:    []string{"root@example.net", "mid.1$x@example.net", "parent@example.net"},
			rawHas:  []string{"\r\nIn-Reply-To: <parent@example.net>\r\n", "\r\nReferences: <root@example.net> <mid.1$x@example.net> <parent@example.net>\r\n"},
		},
		{
			name: "long references",
			change: func(m *Mail) {
				m.References = nil
				for i := range 40 {
					m.References = append(m.References, strings.Repeat(string(rune('a'+i%26)), 30)+"@example.net")
				}
			},
			fields: []string{"Date", "From", "To", "Subject", "Message-ID", "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"},
		},
		{
			name:   "very long message id",
			change: func(m *Mail) { m.InReplyTo = strings.Repeat("x", MaxMsgIDLen-12) + "@example.net" },
			rules:  &rawRules{maxHeaderLine: 998},
		},
		{
			name:   "auto-submitted",
			change: func(m *Mail) { m.AutoSubmitted = "auto-replied" },
			fields: append(slices.Clone(baseFields), "Auto-Submitted"),
			rawHas: []string{"\r\nAuto-Submitted: auto-replied\r\n"},
		},
		{
			name:   "signature",
			change: func(m *Mail) { m.Body = "Hi"; m.Signature = "Alice\nexample.org\n" },
			body:   "Hi\r\n-- \r\nAlice\r\nexample.org\r\n", cte: "7bit",
		},
		{
			name:   "signature with its own separator",
			change: func(m *Mail) { m.Body = "Hi\r\n"; m.Signature = "-- \nAlice" },
			body:   "Hi\r\n-- \r\nAlice\r\n",
		},
		{
			name:   "signature only",
			change: func(m *Mail) { m.Body = ""; m.Signature = "Alice" },
			body:   "-- \r\nAlice\r\n",
		},
		{
			name:   "empty body",
			change: func(m *Mail) { m.Body = "" },
			body:   "", cte: "7bit",
		},
		{
			name:   "line ends and NUL",
			change: func(m *Mail) { m.Body = "a\r\nb\nc\rd\x00e\r\n\r\n." },
			body:   "a\r\nb\r\nc\r\nde\r\n\r\n.\r\n", cte: "7bit",
		},
		{
			name:   "utf-8 body",
			change: func(m *Mail) { m.Body = "Grüße\n" },
			body:   "Grüße\r\n", cte: "quoted-printable",
			rawHas: []string{"Gr=C3=BC=C3=9Fe\r\n"},
		},
		{
			name:   "1500-octet line",
			change: func(m *Mail) { m.Body = "start\n" + long + "\nend" },
			body:   "start\r\n" + long + "\r\nend\r\n", cte: "quoted-printable",
		},
		{
			name:   "long utf-8 line with trailing space",
			change: func(m *Mail) { m.Body = longUTF8 },
			body:   longUTF8 + "\r\n", cte: "quoted-printable",
		},
		{
			name:   "trailing white space kept",
			change: func(m *Mail) { m.Body = "a \nb\t\n" },
			body:   "a \r\nb\t\r\n", cte: "quoted-printable",
		},
		{
			name:   "controls in body",
			change: func(m *Mail) { m.Body = "a\x1b[31mred\x0c\n" },
			body:   "a\x1b[31mred\x0c\r\n", cte: "quoted-printable",
		},
		{
			name:   "invalid utf-8 body",
			change: func(m *Mail) { m.Body = "a\xff\xfeb" },
			body:   "a\uFFFDb\r\n", cte: "quoted-printable",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			if tt.change != nil {
				tt.change(&m)
			}
			raw, err := Build(m)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			rules := strict
			if tt.rules != nil {
				rules = *tt.rules
			}
			p := parseOpt(t, raw, rules)
			if t.Failed() {
				t.Logf("raw:\n%s", raw)
			}
			want := tt.fields
			if want == nil {
				want = baseFields
				if m.InReplyTo != "" {
					want = []string{"Date", "From", "To", "Subject", "Message-ID", "In-Reply-To", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"}
				}
			}
			if !slices.Equal(p.fieldNames, want) {
				t.Errorf("fields %q, want %q", p.fieldNames, want)
			}
			wantSubject := tt.subject
			if tt.subject == "" && m.Subject == "Hello" {
				wantSubject = "Hello"
			}
			if p.subject != wantSubject {
				t.Errorf("subject %q, want %q", p.subject, wantSubject)
			}
			if utf8.RuneCountInString(p.subject) > maxSubjectRunes {
				t.Errorf("subject has %d runes", utf8.RuneCountInString(p.subject))
			}
			wantFrom := tt.from
			if wantFrom == nil {
				wantFrom = &mail.Address{Name: "Alice", Address: "alice@example.org"}
			}
			if *p.from != *wantFrom {
				t.Errorf("from %q, want %q", p.from, wantFrom)
			}
			wantTo := tt.to
			if wantTo == nil {
				for _, a := range m.To {
					wantTo = append(wantTo, &mail.Address{Name: a.Name, Address: a.Addr})
				}
			}
			if len(p.to) != len(wantTo) {
				t.Errorf("to %v, want %v", p.to, wantTo)
			} else {
				for i := range wantTo {
					if *p.to[i] != *wantTo[i] {
						t.Errorf("to[%d] %q, want %q", i, p.to[i], wantTo[i])
					}
				}
			}
			if !p.date.Equal(testDate) {
				t.Errorf("date %v, want %v", p.date, testDate)
			}
			if p.messageID != m.MessageID {
				t.Errorf("Message-ID %q, want %q", p.messageID, m.MessageID)
			}
			wantBody := tt.body
			if tt.body == "" && m.Body == "Hi Bob\n" {
				wantBody = "Hi Bob\r\n"
			}
			if p.body != wantBody {
				t.Errorf("body %q, want %q", p.body, wantBody)
			}
			if tt.cte != "" && p.cte != tt.cte {
				t.Errorf("Content-Transfer-Encoding %q, want %q", p.cte, tt.cte)
			}
			wantIRT := tt.inReply
			if wantIRT == nil && m.InReplyTo != "" {
				wantIRT = []string{m.InReplyTo}
			}
			if !slices.Equal(p.inReplyTo, wantIRT) {
				t.Errorf("In-Reply-To %q, want %q", p.inReplyTo, wantIRT)
			}
			wantRefs := tt.refs
			if wantRefs == nil {
				wantRefs = m.References
			}
			if !slices.Equal(p.references, wantRefs) {
				t.Errorf("References %q, want %q", p.references, wantRefs)
			}
			for _, s := range tt.rawHas {
				if !strings.Contains(string(raw), s) {
					t.Errorf("raw message lacks %q", s)
				}
			}
			for _, s := range tt.rawHasnt {
				if strings.Contains(string(raw), s) {
					t.Errorf("raw message has %q", s)
				}
			}
		})
	}
}

func TestBuildRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Mail)
	}{
		{"from with CRLF", func(m *Mail) { m.From.Addr = "alice@example.org\r\nBcc: evil@x.org" }},
		{"to with CRLF", func(m *Mail) { m.To[0].Addr = "bob@example.net\r\nBcc: evil@x.org" }},
		{"to with LF", func(m *Mail) { m.To[0].Addr = "bob@example.net\nBcc: evil@x.org" }},
		{"second to bad", func(m *Mail) { m.To = append(m.To, Address{Addr: "Evil <evil@x.org>"}) }},
		{"to with name", func(m *Mail) { m.To[0].Addr = "Bob <bob@example.net>" }},
		{"to list", func(m *Mail) { m.To[0].Addr = "bob@example.net, evil@x.org" }},
		{"empty from", func(m *Mail) { m.From.Addr = "" }},
		{"no recipient", func(m *Mail) { m.To = nil }},
		{"domain literal", func(m *Mail) { m.To[0].Addr = "bob@[192.0.2.1]" }},
		{"no message id", func(m *Mail) { m.MessageID = "" }},
		{"message id with brackets", func(m *Mail) { m.MessageID = "<a@b>" }},
		{"message id with CRLF", func(m *Mail) { m.MessageID = "a@b\r\nBcc: evil@x.org" }},
		{"message id with space", func(m *Mail) { m.MessageID = "a b@c" }},
		{"message id without at", func(m *Mail) { m.MessageID = "abc" }},
		{"message id two ats", func(m *Mail) { m.MessageID = "a@b@c" }},
		{"message id non-ascii", func(m *Mail) { m.MessageID = "ä@b" }},
		{"message id too long", func(m *Mail) { m.MessageID = strings.Repeat("a", MaxMsgIDLen) + "@b" }},
		{"in-reply-to bad", func(m *Mail) { m.InReplyTo = "a@b>\r\nBcc: x@y.org" }},
		{"reference bad", func(m *Mail) { m.References = []string{"ok@x", "bad"} }},
		{"reference empty", func(m *Mail) { m.References = []string{""} }},
		{"auto-submitted with CRLF", func(m *Mail) { m.AutoSubmitted = "auto-replied\r\nBcc: evil@x.org" }},
		{"auto-submitted with params", func(m *Mail) { m.AutoSubmitted = "auto-replied; x=y" }},
		{"date out of range", func(m *Mail) { m.Date = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			tt.change(&m)
			raw, err := Build(m)
			if err == nil {
				t.Fatalf("Build succeeded:\n%s", raw)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if raw != nil {
				t.Errorf("Build returned bytes with an error")
			}
		})
	}
}

func TestBuildDateDefault(t *testing.T) {
	m := base()
	m.Date = time.Time{}
	before := time.Now().Truncate(time.Second)
	raw, err := Build(m)
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	p := parse(t, raw)
	if p.date.Before(before) || p.date.After(after) {
		t.Errorf("date %v not between %v and %v", p.date, before, after)
	}
	if !regexp.MustCompile(`\r\nDate: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}\r\n`).Match(append([]byte("\r\n"), raw...)) {
		t.Errorf("Date not in RFC 5322 format:\n%s", raw)
	}
}

func TestBuildDoesNotModifyInput(t *testing.T) {
	m := base()
	m.To = append(m.To, Address{Name: "C", Addr: "c@example.net"})
	m.References = []string{"a@b", "c@d"}
	to, refs := slices.Clone(m.To), slices.Clone(m.References)
	if _, err := Build(m); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.To, to) || !slices.Equal(m.References, refs) {
		t.Errorf("Build changed its input: %v %v", m.To, m.References)
	}
}

func TestNewMessageID(t *testing.T) {
	idRe := regexp.MustCompile(`^[0-9a-f]{32}@`)
	a := NewMessageID("stanza-1", "alice@xmpp.example", "example.org")
	if b := NewMessageID("stanza-1", "alice@xmpp.example", "example.org"); a != b {
		t.Errorf("not deterministic: %q, %q", a, b)
	}
	if !idRe.MatchString(a) || !strings.HasSuffix(a, "@example.org") || !ValidMsgID(a) {
		t.Errorf("bad id %q", a)
	}
	others := []string{
		NewMessageID("stanza-2", "alice@xmpp.example", "example.org"),
		NewMessageID("stanza-1", "bob@xmpp.example", "example.org"),
		NewMessageID("stanza-1a", "lice@xmpp.example", "example.org"),
		NewMessageID("", "alice@xmpp.example", "example.org"),
		NewMessageID("", "alice@xmpp.example", "example.org"),
	}
	seen := map[string]bool{strings.Split(a, "@")[0]: true}
	for _, o := range others {
		if !idRe.MatchString(o) || !ValidMsgID(o) {
			t.Errorf("bad id %q", o)
		}
		left := strings.Split(o, "@")[0]
		if seen[left] {
			t.Errorf("id-left %q repeated", left)
		}
		seen[left] = true
	}
	if got := NewMessageID("s", "j", "Bücher.Example."); !strings.HasSuffix(got, "@xn--bcher-kva.example") || !ValidMsgID(got) {
		t.Errorf("idn domain: %q", got)
	}
	for _, bad := range []string{"", "a b", "x>y", "a@b", "\r\n", "[192.0.2.1]"} {
		if got := NewMessageID("s", "j", bad); !strings.HasSuffix(got, "@"+fallbackIDRight) || !ValidMsgID(got) {
			t.Errorf("domain %q: %q", bad, got)
		}
	}
	// The domain only names the id-right.
	if x, y := NewMessageID("s", "j", "a.example"), NewMessageID("s", "j", "b.example"); strings.Split(x, "@")[0] != strings.Split(y, "@")[0] {
		t.Errorf("id-left depends on the domain: %q %q", x, y)
	}
	// A message built with it keeps it.
	m := base()
	m.MessageID = a
	raw, err := Build(m)
	if err != nil {
		t.Fatal(err)
	}
	if p := parse(t, raw); p.messageID != a {
		t.Errorf("Message-ID %q, want %q", p.messageID, a)
	}
}

func TestValidMsgID(t *testing.T) {
	for _, id := range []string{"a@b", "0123abcd@example.org", "a.b.c$%&'*+/=?^_`{|}~-@x.y"} {
		if !ValidMsgID(id) {
			t.Errorf("ValidMsgID(%q) = false", id)
		}
	}
	for _, id := range []string{"", "@", "a@", "@b", "ab", "a@b@c", "<a@b>", "a b@c", "a@b\r\n", "a\x00@b", "a@b;c", "a,b@c", `a"b@c`, "a@[b]", "a(b)@c", "a:b@c", `a\b@c`, "ä@b", "a@b\x7f"} {
		if ValidMsgID(id) {
			t.Errorf("ValidMsgID(%q) = true", id)
		}
	}
}

func TestReplySubject(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hello", "Re: Hello"},
		{"", "Re: "},
		{"Re: Hello", "Re: Hello"},
		{"RE: Hello", "RE: Hello"},
		{"re:Hello", "re:Hello"},
		{"  Re: Hello", "  Re: Hello"},
		{"Reply", "Re: Reply"},
		{"Aw: Hallo", "Re: Aw: Hallo"},
		{"Fwd: x", "Re: Fwd: x"},
	}
	for _, tt := range tests {
		if got := ReplySubject(tt.in); got != tt.want {
			t.Errorf("ReplySubject(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

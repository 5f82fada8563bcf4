package compose

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// refSanitize is an independent statement of what Build does to a subject
// or display name: every control character, space and Unicode line or
// paragraph separator is a separator; the words are joined by single
// spaces; the result is cut to max runes and trailing space trimmed.
func refSanitize(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Join(strings.FieldsFunc(s, isBlank), " ")
	if r := []rune(s); len(r) > max {
		s = strings.TrimRight(string(r[:max]), " ")
	}
	return s
}

// refBody is an independent statement of the body text Build sends: NUL
// dropped, each line (ended by CRLF, LF, a lone CR or the end of the text)
// followed by CRLF, then the signature after a "-- " line.
func refBody(body, sig string) string {
	norm := func(s string) string {
		s = strings.ToValidUTF8(s, "\uFFFD")
		s = strings.Map(func(r rune) rune {
			if r == 0 {
				return -1
			}
			return r
		}, s)
		var b strings.Builder
		for s != "" {
			i := strings.IndexAny(s, "\r\n")
			if i < 0 {
				i = len(s)
			}
			b.WriteString(s[:i])
			b.WriteString("\r\n")
			if strings.HasPrefix(s[i:], "\r\n") {
				i++
			}
			s = s[min(i+1, len(s)):]
		}
		return b.String()
	}
	out, s := norm(body), norm(sig)
	if s != "" && !strings.HasPrefix(s, "-- \r\n") {
		s = "-- \r\n" + s
	}
	return out + s
}

func FuzzBuild(f *testing.F) {
	f.Add("Hello", "Alice", "Hi Bob\n")
	f.Add("Hi\r\nBcc: evil@x.org", "Eve\r\nBcc: evil@x.org", "body\r\n.\r\n")
	f.Add("Grüße aus Köln 🎉", "Jürgen Müller", "Grüße\n-- \nJ")
	f.Add("=?utf-8?q?evil?=", "=?utf-8?b?QmFuaw==?=", "=3D=\n")
	f.Add(strings.Repeat("ü", 250), strings.Repeat("x", 300), strings.Repeat("y", 2000))
	f.Add(" \t\x00\x7f\u0085\u2028 ", `Doe, John "JD" \o/`, "a\rb\r\n\x00c \n\t")
	f.Add("a\xffb", "\xfe", "\xff\xfe\r")
	f.Add("", "", "")
	f.Add("From nobody", "<x@y>", "From me\n.\n..\n")
	f.Fuzz(func(t *testing.T, subject, name, body string) {
		m := Mail{
			From:       Address{Name: name, Addr: "alice@example.org"},
			To:         []Address{{Name: name, Addr: "bob@example.net"}, {Addr: "carol@example.net"}},
			Subject:    subject,
			Date:       testDate,
			MessageID:  "fuzz.1@example.org",
			InReplyTo:  "parent@example.net",
			References: []string{"root@example.net", "parent@example.net"},
			Body:       body,
			Signature:  "Alice",
		}
		raw, err := Build(m)
		if err != nil {
			// Subject, name and body cannot make a mail invalid.
			t.Fatalf("Build: %v", err)
		}
		p := parse(t, raw) // also checks line lengths and line ends
		want := []string{"Date", "From", "To", "Subject", "Message-ID", "In-Reply-To", "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"}
		if !slices.Equal(p.fieldNames, want) {
			t.Fatalf("fields %q, want %q\n%s", p.fieldNames, want, raw)
		}
		wantSubject := refSanitize(subject, maxSubjectRunes)
		if got := sanitizeSubject(subject); got != wantSubject {
			t.Fatalf("sanitizeSubject(%q) = %q, reference %q", subject, got, wantSubject)
		}
		if p.subject != wantSubject {
			t.Fatalf("subject %q, want %q\n%s", p.subject, wantSubject, raw)
		}
		if utf8.RuneCountInString(p.subject) > maxSubjectRunes {
			t.Fatalf("subject has %d runes", utf8.RuneCountInString(p.subject))
		}
		wantName := refSanitize(name, maxNameRunes)
		if p.from.Name != wantName || p.from.Address != "alice@example.org" {
			t.Fatalf("from %q, want name %q\n%s", p.from, wantName, raw)
		}
		if len(p.to) != 2 || p.to[0].Name != wantName || p.to[0].Address != "bob@example.net" ||
			p.to[1].Name != "" || p.to[1].Address != "carol@example.net" {
			t.Fatalf("to %q, want name %q\n%s", p.to, wantName, raw)
		}
		wantBody := refBody(body, "Alice")
		if got := bodyText(body, "Alice"); got != wantBody {
			t.Fatalf("bodyText(%q) = %q, reference %q", body, got, wantBody)
		}
		if p.body != wantBody {
			t.Fatalf("body %q, want %q\n%s", p.body, wantBody, raw)
		}
		if p.messageID != m.MessageID || !slices.Equal(p.inReplyTo, []string{m.InReplyTo}) || !slices.Equal(p.references, m.References) {
			t.Fatalf("ids %q %q %q", p.messageID, p.inReplyTo, p.references)
		}
	})
}

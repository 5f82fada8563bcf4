package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"testing"

	smtp "github.com/emersion/go-smtp"
)

func TestDeliver(t *testing.T) {
	rec := &recorder{}
	k3x9 := Recipient{Address: "alerts.k3x9@" + testDomain, Owner: "dave@xmpp.example"}
	_, addr := start(t, Config{}, newDir(k3x9), rec.deliver)

	c := hello(t, addr)
	c.send("Sender@X.org", []string{"Alerts.K3X9@Relay.Example.ORG"}, message("hello world"))

	envs := rec.got()
	if len(envs) != 1 {
		t.Fatalf("got %d envelopes, want 1", len(envs))
	}
	e := envs[0]
	mustEqual(t, "From", e.From, "sender@x.org")
	mustEqual(t, "Recipient.Address", e.Recipient.Address, k3x9.Address)
	mustEqual(t, "Recipient.Owner", e.Recipient.Owner, "dave@xmpp.example")
	data := string(e.Data)
	if !strings.HasPrefix(data, "Received: from client.example ([127.0.0.1])\r\n\tby mx.relay.test with ESMTP id ") {
		t.Errorf("Data does not start with our Received header:\n%s", data)
	}
	if !strings.Contains(data, "\r\n\tfor <alerts.k3x9@relay.example.org>; ") {
		t.Errorf("Received header lacks the for clause:\n%s", data)
	}
	if !strings.HasSuffix(data, "\r\n"+message("hello world")) {
		t.Errorf("Data does not end with the message as sent:\n%q", data)
	}
	// The Received header is a single header field, folded.
	hdr, _, _ := strings.Cut(data, "\r\nFrom: ")
	if strings.Count(hdr, "\r\n") != 2 || strings.Contains(hdr, "\r\n\r\n") {
		t.Errorf("malformed Received header %q", hdr)
	}
}

// TestGoSMTPClient sends with go-smtp's own client (BODY=8BITMIME, SIZE).
func TestGoSMTPClient(t *testing.T) {
	rec := &recorder{}
	_, addr := start(t, Config{MaxSize: 4096}, newDir(alice), rec.deliver)

	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"8BITMIME", "SMTPUTF8", "PIPELINING"} {
		if ok, _ := c.Extension(ext); !ok {
			t.Errorf("extension %s not advertised", ext)
		}
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH advertised")
	}
	if size, ok := c.MaxMessageSize(); !ok || size != 4096 {
		t.Errorf("SIZE = %d, %v; want 4096", size, ok)
	}
	msg := message("caf\xc3\xa9 8-bit")
	if err := c.Mail("sender@x.org", &smtp.MailOptions{Size: int64(len(msg))}); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(alice.Address, nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, msg)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	envs := rec.got()
	if len(envs) != 1 || !bytes.HasSuffix(envs[0].Data, []byte(msg)) {
		t.Fatalf("envelopes %+v", envs)
	}
}

func TestNoAuthNoVrfy(t *testing.T) {
	rec := &recorder{}
	_, addr := start(t, Config{}, newDir(alice), rec.deliver)
	c := dial(t, addr)
	ehlo := c.expect("EHLO client.example", 250, "")
	for _, want := range []string{"8BITMIME", "SMTPUTF8", "SIZE 10485760", "PIPELINING"} {
		if !strings.Contains(ehlo, want) {
			t.Errorf("EHLO reply %q lacks %s", ehlo, want)
		}
	}
	if strings.Contains(ehlo, "AUTH") || strings.Contains(ehlo, "STARTTLS") {
		t.Errorf("EHLO reply %q advertises AUTH or STARTTLS", ehlo)
	}
	if code, msg := c.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA=="); code/100 != 5 {
		t.Errorf("AUTH: %d %s, want a permanent refusal", code, msg)
	}
	if code, msg := c.cmd("VRFY alice"); code != 252 {
		t.Errorf("VRFY: %d %s, want 252", code, msg)
	}
	if code, msg := c.cmd("EXPN staff"); code != 502 {
		t.Errorf("EXPN: %d %s, want 502", code, msg)
	}
}

func TestUnknownRecipient(t *testing.T) {
	rec := &recorder{}
	dir := newDir(alice)
	_, addr := start(t, Config{}, dir, rec.deliver)
	c := hello(t, addr)
	c.expect("MAIL FROM:<sender@x.org>", 250, "2.")
	msg := c.expect("RCPT TO:<nobody@relay.example.org>", 550, "5.1.1")
	if !strings.Contains(strings.ToLower(msg), "no such address") {
		t.Errorf("reply %q", msg)
	}
	c.expect("DATA", 502, "")
	if got := dir.lookups(); !slices.Equal(got, []string{"nobody@relay.example.org"}) {
		t.Errorf("lookups %q", got)
	}
	if n := len(rec.got()); n != 0 {
		t.Errorf("%d deliveries", n)
	}
}

func TestNoOpenRelay(t *testing.T) {
	rec := &recorder{}
	dir := newDir(alice)
	_, addr := start(t, Config{}, dir, rec.deliver)
	c := hello(t, addr)
	c.expect("MAIL FROM:<spammer@x.org>", 250, "2.")
	for _, rcpt := range []string{
		"someone@gmail.com",
		"someone@sub.relay.example.org",
		"someone@relay.example.org.evil.com",
		"@relay.example.org:someone@gmail.com", // source route
		"someone%gmail.com@evil.com",
	} {
		msg := c.expect("RCPT TO:<"+rcpt+">", 554, "5.7.1")
		if !strings.Contains(strings.ToLower(msg), "relay access denied") {
			t.Errorf("reply %q", msg)
		}
	}
	c.expect("DATA", 502, "")
	// A valid recipient next to a refused one only gets its own copy.
	c.expect("RCPT TO:<alice@relay.example.org>", 250, "2.")
	if code, msg := c.data(message("x")); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	if got := addrs(rec.got()); !slices.Equal(got, []string{alice.Address}) {
		t.Errorf("delivered to %q", got)
	}
	if got := dir.lookups(); !slices.Equal(got, []string{alice.Address}) {
		t.Errorf("lookups %q: the directory must not see foreign domains", got)
	}
}

func TestSenderAllowList(t *testing.T) {
	rec := &recorder{}
	_, addr := start(t, Config{}, newDir(guarded), rec.deliver)
	c := hello(t, addr)
	for _, tc := range []struct {
		from string
		ok   bool
	}{
		{"boss@x.org", true},
		{"Boss@X.ORG", true},        // normalised
		{"anyone@y.org", true},      // domain entry
		{"eve@x.org", false},        // only boss@x.org in x.org
		{"anyone@sub.y.org", false}, // not subdomains
		{"boss@x.org.evil.com", false},
		{"", false}, // null sender
	} {
		c.expect("MAIL FROM:<"+tc.from+">", 250, "2.")
		if tc.ok {
			c.expect("RCPT TO:<guarded@relay.example.org>", 250, "2.")
			if code, msg := c.data(message("from " + tc.from)); code != 250 {
				t.Fatalf("%s: DATA %d %s", tc.from, code, msg)
			}
		} else {
			msg := c.expect("RCPT TO:<guarded@relay.example.org>", 550, "5.7.1")
			if !strings.Contains(strings.ToLower(msg), "sender not allowed for this address") {
				t.Errorf("reply %q", msg)
			}
			c.expect("RSET", 250, "")
		}
	}
	var froms []string
	for _, e := range rec.got() {
		froms = append(froms, e.From)
	}
	if want := []string{"boss@x.org", "boss@x.org", "anyone@y.org"}; !slices.Equal(froms, want) {
		t.Errorf("delivered from %q, want %q", froms, want)
	}
}

func TestTooBig(t *testing.T) {
	rec := &recorder{}
	_, addr := start(t, Config{MaxSize: 1024}, newDir(alice), rec.deliver)
	c := hello(t, addr)

	// Announced with SIZE: refused at MAIL.
	c.expect("MAIL FROM:<sender@x.org> SIZE=5000", 552, "5.3.4")

	// Not announced: refused after DATA.
	c.expect("MAIL FROM:<sender@x.org>", 250, "2.")
	c.expect("RCPT TO:<alice@relay.example.org>", 250, "2.")
	code, msg := c.data(message(strings.Repeat("xxxxxxxxx\r\n", 200)))
	if code != 552 || !strings.HasPrefix(msg, "5.3.4") {
		t.Fatalf("DATA: %d %s, want 552 5.3.4", code, msg)
	}
	// Just over the limit.
	c.expect("MAIL FROM:<sender@x.org>", 250, "2.")
	c.expect("RCPT TO:<alice@relay.example.org>", 250, "2.")
	big := strings.Repeat("y", 1025-len(message("")))
	if code, msg := c.data(message(big)); code != 552 {
		t.Fatalf("DATA of 1025 bytes: %d %s, want 552", code, msg)
	}
	if n := len(rec.got()); n != 0 {
		t.Fatalf("%d deliveries of a message too big", n)
	}

	// The session goes on; a message under the limit is accepted.
	small := message(strings.Repeat("z", 1000-len(message(""))))
	c.send("sender@x.org", []string{alice.Address}, small)
	envs := rec.got()
	if len(envs) != 1 || !bytes.HasSuffix(envs[0].Data, []byte(small)) {
		t.Fatalf("envelopes %v", addrs(envs))
	}
}

func TestLineTooLong(t *testing.T) {
	rec := &recorder{}
	_, addr := start(t, Config{}, newDir(alice), rec.deliver)
	c := hello(t, addr)
	c.expect("MAIL FROM:<sender@x.org>", 250, "2.")
	c.expect("RCPT TO:<alice@relay.example.org>", 250, "2.")
	// go-smtp allows lines of up to 2000 bytes, twice RFC 5321's limit.
	if code, msg := c.data(message(strings.Repeat("x", 3000))); code != 500 {
		t.Fatalf("DATA: %d %s, want 500", code, msg)
	}
	if n := len(rec.got()); n != 0 {
		t.Fatalf("%d deliveries", n)
	}
}

func TestRateLimit(t *testing.T) {
	rec := &recorder{}
	s, addr := start(t, Config{PerAddressPerHour: 2}, newDir(alice, bob), rec.deliver)
	c := hello(t, addr)
	c.send("sender@x.org", []string{alice.Address}, message("1"))
	c.send("sender@x.org", []string{alice.Address}, message("2"))
	c.expect("MAIL FROM:<sender@x.org>", 250, "2.")
	msg := c.expect("RCPT TO:<alice@relay.example.org>", 450, "4.7.1")
	if !strings.Contains(msg, "Too many messages for this address") || !strings.Contains(msg, "2 per hour") {
		t.Errorf("reply %q is not clear", msg)
	}
	// Other addresses have their own bucket.
	c.expect("RCPT TO:<bob@relay.example.org>", 250, "2.")
	if code, msg := c.data(message("3")); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	// A new connection does not reset the bucket.
	c2 := hello(t, addr)
	c2.expect("MAIL FROM:<other@y.org>", 250, "2.")
	c2.expect("RCPT TO:<alice@relay.example.org>", 450, "4.7.1")

	if got := addrs(rec.got()); !slices.Equal(got, []string{alice.Address, alice.Address, bob.Address}) {
		t.Errorf("delivered to %q", got)
	}
	if n := s.limits.size(); n != 2 {
		t.Errorf("%d buckets, want 2", n)
	}
}

func TestDeliverError(t *testing.T) {
	rec := &recorder{failFor: "*"}
	_, addr := start(t, Config{}, newDir(alice), rec.deliver)

	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.SendMail("sender@x.org", []string{alice.Address}, strings.NewReader(message("x")))
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("SendMail: %v, want an SMTP error", err)
	}
	if !se.Temporary() || se.Code != 451 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 0}) {
		t.Fatalf("SendMail: %d %v %q, want 451 4.3.0", se.Code, se.EnhancedCode, se.Message)
	}
}

func TestDeliverErrorSecondRecipient(t *testing.T) {
	rec := &recorder{failFor: bob.Address}
	_, addr := start(t, Config{}, newDir(alice, bob), rec.deliver)
	c := hello(t, addr)
	c.expect("MAIL FROM:<sender@x.org>", 250, "2.")
	c.expect("RCPT TO:<alice@relay.example.org>", 250, "2.")
	c.expect("RCPT TO:<bob@relay.example.org>", 250, "2.")
	if code, msg := c.data(message("x")); code != 451 || !strings.HasPrefix(msg, "4.3.0") {
		t.Fatalf("DATA: %d %s, want 451 4.3.0 for the whole message", code, msg)
	}
}

func TestTwoRecipients(t *testing.T) {
	rec := &recorder{}
	_, addr := start(t, Config{}, newDir(alice, bob), rec.deliver)
	c := hello(t, addr)
	c.expect("MAIL FROM:<sender@x.org>", 250, "2.")
	c.expect("RCPT TO:<alice@relay.example.org>", 250, "2.")
	c.expect("RCPT TO:<bob@relay.example.org>", 250, "2.")
	c.expect("RCPT TO:<ALICE@relay.example.org>", 250, "2.") // duplicate
	if code, msg := c.data(message("to both")); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	envs := rec.got()
	if got := addrs(envs); !slices.Equal(got, []string{alice.Address, bob.Address}) {
		t.Fatalf("delivered to %q", got)
	}
	mustEqual(t, "owner 0", envs[0].Recipient.Owner, alice.Owner)
	mustEqual(t, "owner 1", envs[1].Recipient.Owner, bob.Owner)
	if !bytes.Equal(envs[0].Data, envs[1].Data) {
		t.Error("recipients got different data")
	}
	if bytes.Contains(envs[0].Data, []byte("\tfor <")) {
		t.Error("Received header names a recipient of a message with two")
	}
}

func TestMaxRecipients(t *testing.T) {
	rec := &recorder{}
	_, addr := start(t, Config{MaxRecipients: 1}, newDir(alice, bob), rec.deliver)
	c := hello(t, addr)
	c.expect("MAIL FROM:<sender@x.org>", 250, "2.")
	c.expect("RCPT TO:<alice@relay.example.org>", 250, "2.")
	c.expect("RCPT TO:<bob@relay.example.org>", 452, "4.5.3")
}

func TestNullSender(t *testing.T) {
	rec := &recorder{}
	_, addr := start(t, Config{}, newDir(alice), rec.deliver)
	c := hello(t, addr)
	c.send("", []string{alice.Address}, message("bounce"))
	envs := rec.got()
	if len(envs) != 1 || envs[0].From != "" {
		t.Fatalf("envelopes %+v", envs)
	}
}

func TestDirectoryError(t *testing.T) {
	rec := &recorder{}
	dir := newDir(alice)
	dir.err = errors.New("database locked")
	_, addr := start(t, Config{}, dir, rec.deliver)
	c := hello(t, addr)
	c.expect("MAIL FROM:<sender@x.org>", 250, "2.")
	c.expect("RCPT TO:<alice@relay.example.org>", 451, "4.3.0")
}

func TestBadAddresses(t *testing.T) {
	rec := &recorder{}
	dir := newDir(alice)
	_, addr := start(t, Config{}, dir, rec.deliver)
	c := hello(t, addr)
	for _, from := range []string{"a\x00b@x.org", "a\rb@x.org", "a@x\x00.org", "a@x\r.org", "a\x7fb@x.org"} {
		code, msg := c.cmd("MAIL FROM:<" + from + ">")
		if code/100 != 5 {
			t.Errorf("MAIL FROM %q: %d %s, want a refusal", from, code, msg)
		}
	}
	c.expect("MAIL FROM:<sender@x.org>", 250, "2.")
	for _, to := range []string{
		"ali\x00ce@relay.example.org",
		"ali\rce@relay.example.org",
		"alice@relay.example.org\x00",
		"alice\r@relay.example.org",
		"alice@relay..example.org",
		"alice@[127.0.0.1]",
		"\"ali\\\x00ce\"@relay.example.org",
		"alice@relay.example.org\xff",
	} {
		c.expect("RCPT TO:<"+to+">", 501, "5.1.3")
	}
	// A bare LF ends the command line: the rest is another (bad) command.
	c.expect("RCPT TO:<alice@relay.example.org\nDATA>", 501, "")
	c.read()
	// And the connection still works.
	c2 := hello(t, addr)
	c2.send("sender@x.org", []string{alice.Address}, message("ok"))
	if got := dir.lookups(); !slices.Equal(got, []string{alice.Address}) {
		t.Errorf("lookups %q", got)
	}
}

func TestQuotedAndUTF8(t *testing.T) {
	rec := &recorder{}
	jurgen := Recipient{Address: "jürgen@" + testDomain, Owner: "j@xmpp.example"}
	_, addr := start(t, Config{}, newDir(alice, jurgen), rec.deliver)
	c := hello(t, addr)
	c.send(`"Boss"@X.org`, []string{`"Alice"@relay.example.org`}, message("quoted"))
	c.expect("MAIL FROM:<jörg@bücher.example> SMTPUTF8", 250, "2.")
	c.expect("RCPT TO:<Jürgen@Relay.Example.org>", 250, "2.")
	if code, msg := c.data(message("utf8")); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	envs := rec.got()
	if len(envs) != 2 {
		t.Fatalf("got %d envelopes", len(envs))
	}
	mustEqual(t, "From", envs[0].From, "boss@x.org")
	mustEqual(t, "Recipient", envs[0].Recipient.Address, alice.Address)
	mustEqual(t, "From", envs[1].From, "jörg@xn--bcher-kva.example")
	mustEqual(t, "Recipient", envs[1].Recipient.Address, jurgen.Address)
	if !bytes.Contains(envs[1].Data, []byte(" with UTF8SMTP id ")) {
		t.Errorf("Received header: %q", envs[1].Data)
	}
}

func TestLongSender(t *testing.T) {
	rec := &recorder{}
	_, addr := start(t, Config{}, newDir(alice), rec.deliver)
	c := hello(t, addr)
	verp := "Bounces+" + strings.Repeat("A1", 40) + "=example.net@mailer.example.com"
	c.send(verp, []string{alice.Address}, message("verp"))
	c.send("postmaster@[192.0.2.1]", []string{alice.Address}, message("literal"))
	envs := rec.got()
	mustEqual(t, "From", envs[0].From, strings.ToLower(verp))
	mustEqual(t, "From", envs[1].From, "postmaster@[192.0.2.1]")
}

func TestNestedMail(t *testing.T) {
	rec := &recorder{}
	_, addr := start(t, Config{}, newDir(alice), rec.deliver)
	c := hello(t, addr)
	c.expect("MAIL FROM:<a@x.org>", 250, "2.")
	c.expect("RCPT TO:<alice@relay.example.org>", 250, "2.")
	c.expect("MAIL FROM:<b@x.org>", 503, "5.5.1")
	if code, msg := c.data(message("x")); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	envs := rec.got()
	mustEqual(t, "From", envs[0].From, "a@x.org")
}

func TestBDAT(t *testing.T) {
	rec := &recorder{}
	_, addr := start(t, Config{MaxSize: 100}, newDir(alice), rec.deliver)
	c := hello(t, addr)
	c.expect("MAIL FROM:<a@x.org>", 250, "2.")
	c.expect("RCPT TO:<alice@relay.example.org>", 250, "2.")
	fmt.Fprintf(c.conn, "BDAT 7\r\nSubject")
	if code, msg := c.read(); code != 250 {
		t.Fatalf("BDAT: %d %s", code, msg)
	}
	fmt.Fprintf(c.conn, "BDAT 11 LAST\r\n: x\r\n\r\nhi\r\n")
	if code, msg := c.read(); code != 250 {
		t.Fatalf("BDAT LAST: %d %s", code, msg)
	}
	envs := rec.got()
	if len(envs) != 1 || !bytes.HasSuffix(envs[0].Data, []byte("\r\nSubject: x\r\n\r\nhi\r\n")) {
		t.Fatalf("envelopes %q", envs)
	}
	// Too big in chunks.
	c.expect("MAIL FROM:<a@x.org>", 250, "2.")
	c.expect("RCPT TO:<alice@relay.example.org>", 250, "2.")
	chunk := strings.Repeat("z", 60)
	fmt.Fprintf(c.conn, "BDAT 60\r\n%s", chunk)
	c.read()
	fmt.Fprintf(c.conn, "BDAT 60 LAST\r\n%s", chunk)
	if code, msg := c.read(); code != 552 {
		t.Fatalf("BDAT over the limit: %d %s", code, msg)
	}
	if n := len(rec.got()); n != 1 {
		t.Fatalf("%d deliveries", n)
	}
}

func TestPipelinedGarbage(t *testing.T) {
	rec := &recorder{}
	dir := newDir(alice)
	_, addr := start(t, Config{}, dir, rec.deliver)

	rnd := rand.New(rand.NewPCG(1, 2))
	inputs := []string{
		// A valid transaction interleaved with garbage, all in one write.
		"EHLO client.example\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<x@gmail.com>\r\n" +
			"RCPT TO:<alice@relay.example.org>\r\nXYZZY\r\nRCPT TO:<\x00>\r\nDATA\r\n" +
			"Subject: pipelined\r\n\r\n.hidden\r\n..dot\r\n.\r\nRCPT TO:<bob@relay.example.org>\r\nQUIT\r\n",
		// Commands before EHLO, junk, an overlong line.
		"MAIL FROM:<a@x.org>\r\nRCPT TO:<alice@relay.example.org>\r\nDATA\r\n" +
			strings.Repeat("A", 5000) + "\r\n",
		// DATA never terminated.
		"HELO x\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<alice@relay.example.org>\r\nDATA\r\nSubject: cut\r\n",
		// BDAT with a size larger than what follows.
		"EHLO x\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<alice@relay.example.org>\r\nBDAT 4000000000 LAST\r\nabc",
		"\x00\x01\x02\xff\xfe\r\n\r\n\n\n\r\r\r.\r\n",
	}
	var junk []byte
	for range 20000 {
		junk = append(junk, byte(rnd.IntN(256)))
	}
	inputs = append(inputs, string(junk), "EHLO x\r\n"+string(junk))

	for _, in := range inputs {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		// Write and read at once: the server may stop reading at any time.
		go func() {
			io.WriteString(conn, in)
			conn.(*net.TCPConn).CloseWrite()
		}()
		io.Copy(io.Discard, conn) // until the server closes the connection
		conn.Close()
	}

	envs := rec.got()
	if len(envs) != 1 || envs[0].Recipient.Address != alice.Address {
		t.Fatalf("delivered %q, want only the valid pipelined one", addrs(envs))
	}
	if !bytes.HasSuffix(envs[0].Data, []byte("\r\nSubject: pipelined\r\n\r\nhidden\r\n.dot\r\n")) {
		t.Errorf("dot-unstuffing: %q", envs[0].Data)
	}
	for _, a := range dir.lookups() {
		if a != alice.Address {
			t.Errorf("looked up %q", a)
		}
	}

	// Still serving.
	c := hello(t, addr)
	c.send("a@x.org", []string{alice.Address}, message("after"))
}

func TestClose(t *testing.T) {
	entered := make(chan struct{})
	var ctxErr error
	deliver := func(ctx context.Context, e Envelope) error {
		close(entered)
		<-ctx.Done()
		ctxErr = ctx.Err()
		return ctxErr
	}
	s, err := New(Config{Domains: []string{testDomain}, Hostname: "mx.relay.test"}, newDir(alice), deliver)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()

	c := hello(t, ln.Addr().String())
	c.expect("MAIL FROM:<a@x.org>", 250, "2.")
	c.expect("RCPT TO:<alice@relay.example.org>", 250, "2.")
	c.expect("DATA", 354, "")
	io.WriteString(c.conn, message("x")+".\r\n")
	<-entered // Deliver is running

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Close waited for Deliver, which saw its context cancelled.
	if ctxErr == nil {
		t.Error("Deliver's context was not cancelled")
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if code, _, err := c.tp.ReadResponse(250); err == nil {
		t.Errorf("client got %d after Close", code)
	}
	if conn, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		conn.Close()
		t.Error("still listening after Close")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(ln2); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve after Close: %v", err)
	}
	if _, err := ln2.Accept(); err == nil {
		t.Error("Serve after Close left the listener open")
	}
}

func TestLog(t *testing.T) {
	var buf lockedBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	rec := &recorder{}
	_, addr := start(t, Config{Logger: log}, newDir(alice), rec.deliver)
	c := hello(t, addr)
	c.expect("MAIL FROM:<a@x.org>", 250, "2.")
	c.expect("RCPT TO:<x@gmail.com>", 554, "5.7.1")
	c.expect("RCPT TO:<alice@relay.example.org>", 250, "2.")
	if code, msg := c.data(message("top secret body")); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	out := buf.String()
	for _, want := range []string{
		`msg="relay: refused"`, "remote=127.0.0.1", "from=a@x.org", "rcpt=x@gmail.com",
		`reason="relay access denied"`,
		`msg="relay: message accepted"`, "rcpt=[alice@relay.example.org]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secret") {
		t.Errorf("log contains the message body:\n%s", out)
	}
}

func TestNew(t *testing.T) {
	dir, rec := newDir(), &recorder{}
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no domains", Config{}},
		{"bad domain", Config{Domains: []string{"not a domain"}}},
		{"address as domain", Config{Domains: []string{"a@relay.example.org"}}},
		{"IP domain", Config{Domains: []string{"192.0.2.1"}}},
		{"bad hostname", Config{Domains: []string{testDomain}, Hostname: "mx\r\nX-Evil: 1"}},
		{"negative size", Config{Domains: []string{testDomain}, MaxSize: -1}},
		{"negative recipients", Config{Domains: []string{testDomain}, MaxRecipients: -1}},
		{"negative rate", Config{Domains: []string{testDomain}, PerAddressPerHour: -1}},
		{"negative timeout", Config{Domains: []string{testDomain}, ReadTimeout: -1}},
	} {
		if _, err := New(tc.cfg, dir, rec.deliver); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, err := New(Config{Domains: []string{testDomain}}, nil, rec.deliver); err == nil {
		t.Error("nil Directory accepted")
	}
	if _, err := New(Config{Domains: []string{testDomain}}, dir, nil); err == nil {
		t.Error("nil Deliver accepted")
	}

	s, err := New(Config{Domains: []string{"Relay.Example.ORG", "bücher.example", "relay.example.org"}}, dir, rec.deliver)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"relay.example.org", "xn--bcher-kva.example"}; !slices.Equal(s.cfg.Domains, want) {
		t.Errorf("Domains = %q, want %q", s.cfg.Domains, want)
	}
	mustEqual(t, "MaxSize", s.cfg.MaxSize, 10<<20)
	mustEqual(t, "MaxRecipients", s.cfg.MaxRecipients, 50)
	mustEqual(t, "PerAddressPerHour", s.cfg.PerAddressPerHour, 60)
	mustEqual(t, "ReadTimeout", s.cfg.ReadTimeout, defaultTimeout)
	mustEqual(t, "WriteTimeout", s.cfg.WriteTimeout, defaultTimeout)
	if s.cfg.Hostname == "" {
		t.Error("no default Hostname")
	}
	s.Close()
}

// TestPipelinedAfterClose: commands pipelined after QUIT or after too many
// errors are not handled once go-smtp has closed the connection (go-smtp
// stops because setting the read deadline fails; otherwise it would pass
// them to its nil session and panic).
func TestPipelinedAfterClose(t *testing.T) {
	catcher := &panicCatcher{}
	rec := &recorder{}
	_, addr := start(t, Config{Logger: slog.New(catcher)}, newDir(alice), rec.deliver)
	tx := "MAIL FROM:<a@x.org>\r\nRCPT TO:<alice@relay.example.org>\r\nDATA\r\nSubject: x\r\n\r\nx\r\n.\r\n"
	for _, in := range []string{
		"EHLO x\r\nQUIT\r\n" + tx,
		"EHLO x\r\nBAD1\r\nBAD2\r\nBAD3\r\nBAD4\r\n" + tx + tx,
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			io.WriteString(conn, in)
			conn.(*net.TCPConn).CloseWrite()
		}()
		out, _ := io.ReadAll(conn)
		conn.Close()
		if bytes.Contains(out, []byte("Internal server error")) {
			t.Errorf("server panicked:\n%s", out)
		}
	}
	catcher.mu.Lock()
	defer catcher.mu.Unlock()
	if len(catcher.panics) > 0 {
		t.Errorf("panics logged: %s", catcher.panics[0])
	}
	if n := len(rec.got()); n != 0 {
		t.Errorf("%d deliveries after the connection was closed", n)
	}
}

type panicDir struct{}

func (panicDir) Lookup(context.Context, string) (Recipient, bool, error) { panic("lookup") }

// TestPanics: a panic in Lookup or Deliver costs the connection (go-smtp
// recovers it) but neither the server nor Close, and it is logged as ours,
// with the stack.
func TestPanics(t *testing.T) {
	catcher := &panicCatcher{}
	log := slog.New(catcher)
	s, addr := start(t, Config{Logger: log}, panicDir{}, (&recorder{}).deliver)
	c := hello(t, addr)
	c.expect("MAIL FROM:<a@x.org>", 250, "2.")
	c.expect("RCPT TO:<alice@relay.example.org>", 421, "")
	s.Close()

	deliver := func(context.Context, Envelope) error { panic("in deliver") }
	s, addr = start(t, Config{Logger: log}, newDir(alice), deliver)
	c = hello(t, addr)
	c.expect("MAIL FROM:<a@x.org>", 250, "2.")
	c.expect("RCPT TO:<alice@relay.example.org>", 250, "2.")
	if code, msg := c.data(message("x")); code != 421 {
		t.Fatalf("DATA: %d %s, want 421", code, msg)
	}
	s.Close() // waits for the connection, hence the log

	catcher.mu.Lock()
	defer catcher.mu.Unlock()
	if len(catcher.panics) != 2 ||
		!strings.Contains(catcher.panics[0], "lookup") || !strings.Contains(catcher.panics[1], "in deliver") {
		t.Fatalf("panics logged: %q", catcher.panics)
	}
}

func TestSMTPLogger(t *testing.T) {
	var buf lockedBuffer
	l := smtpLogger{slog.New(slog.NewTextHandler(&buf, nil))}
	l.Printf("error handling %v: %s", "192.0.2.1:25", "boom")
	l.Printf("panic serving %v: %v\n%s", "pipe", "nil pointer",
		"goroutine 1\ngithub.com/emersion/go-smtp.(*Conn).handleBdat.func1()\n")
	l.Printf("panic serving %v: %v\n%s", "pipe", "nil pointer",
		"goroutine 1\n"+ourFrames+"(*session).Data()\n")
	out := buf.String()
	for _, want := range []string{
		`level=WARN msg="relay: SMTP connection error" detail="error handling 192.0.2.1:25: boom"`,
		`level=WARN msg="` + msgSMTPPanic + `" detail="panic serving pipe: nil pointer"`,
		`level=ERROR msg="` + msgPanic + `" detail="panic serving pipe: nil pointer\ngoroutine 1\n` + ourFrames,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

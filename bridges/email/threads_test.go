package email

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/email/mailaddr"
)

// recordingSink keeps what a session reports.
type recordingSink struct {
	mu       sync.Mutex
	received []bridges.Message
	failed   []string // stanza ids
}

func (r *recordingSink) Receive(_ context.Context, m bridges.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.received = append(r.received, m)
	return nil
}
func (r *recordingSink) Status(bridges.State, string)      {}
func (r *recordingSink) PeerPresence(string, bool, string) {}
func (r *recordingSink) Delivered(context.Context, string, string, string) error {
	return nil
}
func (r *recordingSink) Failed(_ context.Context, _, id, _ string, _ bridges.Condition, _ string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = append(r.failed, id)
	return nil
}

func (r *recordingSink) last(t *testing.T) bridges.Message {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.received) == 0 {
		t.Fatal("nothing received")
	}
	return r.received[len(r.received)-1]
}

// lastOut is the newest queued mail.
func lastOut(t *testing.T, b *Bridge) outMail {
	t.Helper()
	jobs, err := b.store.DueJobs(context.Background(), b.domain, kindOut, statePending, farFuture(), 100)
	if err != nil || len(jobs) == 0 {
		t.Fatalf("queued mail: %v %v", jobs, err)
	}
	o, err := decodeOut(jobs[len(jobs)-1].Payload)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func mailSession(t *testing.T) (*session, *recordingSink) {
	t.Helper()
	b := testBridge(t, nil, "alice@x.org")
	sink := &recordingSink{}
	a := account{Email: "alice@mail.test", Username: "alice@mail.test", Password: "pw",
		IMAP: endpoint{Host: "127.0.0.1", Port: 1, Security: "plain"}, SMTP: endpoint{Host: "127.0.0.1", Port: 1, Security: "plain"}}
	return newSession(b, "alice@x.org", a, nil, sink), sink
}

func crlf(s string) []byte {
	return []byte(strings.ReplaceAll(strings.TrimLeft(s, "\n"), "\n", "\r\n"))
}

func TestThreadsBothWays(t *testing.T) {
	ctx := context.Background()
	s, sink := mailSession(t)
	bob, _ := mailaddr.LocalPart("bob@remote.test")

	// A new conversation started from XMPP with the client's own thread id.
	if err := s.Send(ctx, bridges.Message{ID: "m1", Peer: bob, Thread: "client-t1", Body: "Lunch today?\nAt noon."}); err != nil {
		t.Fatal(err)
	}
	first := lastOut(t, s.b)
	if first.Subject != "Lunch today?" || first.InReplyTo != "" || first.To != "bob@remote.test" || first.From != "alice@mail.test" {
		t.Fatalf("first mail: %+v", first)
	}
	// Bob's answer references it: shown in the client's thread.
	err := s.deliverMail(ctx, crlf(`
From: Bob <bob@remote.test>
Reply-To: team@lists.remote.test
Subject: Re: Lunch today?
Message-ID: <answer-1@remote.test>
In-Reply-To: <`+first.MessageID+`>
References: <`+first.MessageID+`>

Yes!
`), false, origin{Folder: "INBOX", UIDValidity: 1, UID: 7})
	if err != nil {
		t.Fatal(err)
	}
	if got := sink.last(t); got.Thread != "client-t1" || got.Peer != bob || got.Nick != "Bob" || !strings.Contains(got.Body, "Yes!") {
		t.Fatalf("answer shown as %+v", got)
	}
	// A chat without a thread continues with Bob himself, not his Reply-To.
	if err := s.Send(ctx, bridges.Message{ID: "m2", Peer: bob, Body: "Great"}); err != nil {
		t.Fatal(err)
	}
	second := lastOut(t, s.b)
	if second.Subject != "Re: Lunch today?" || second.InReplyTo != "answer-1@remote.test" || second.To != "bob@remote.test" ||
		len(second.References) != 2 || second.References[0] != first.MessageID {
		t.Fatalf("second mail: %+v", second)
	}
	// Answering in the thread goes where the mail asked (Reply-To).
	if err := s.Send(ctx, bridges.Message{ID: "m3", Peer: bob, Thread: "client-t1", Body: "To all"}); err != nil {
		t.Fatal(err)
	}
	if third := lastOut(t, s.b); third.To != "team@lists.remote.test" {
		t.Fatalf("in-thread answer to %s", third.To)
	}
}

func TestBounceOfOwnMailFailsItsStanza(t *testing.T) {
	ctx := context.Background()
	s, sink := mailSession(t)
	bob, _ := mailaddr.LocalPart("bob@remote.test")
	if err := s.Send(ctx, bridges.Message{ID: "will-bounce", Peer: bob, Body: "hello"}); err != nil {
		t.Fatal(err)
	}
	out := lastOut(t, s.b)
	dsn := crlf(`
From: MAILER-DAEMON@mail.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-1@mail.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Sorry.
--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.test

Final-Recipient: rfc822; bob@remote.test
Action: failed
Status: 5.1.1

--B
Content-Type: text/rfc822-headers

Message-ID: <` + out.MessageID + `>

--B--
`)
	if err := s.deliverMail(ctx, dsn, false, origin{Folder: "INBOX", UIDValidity: 1, UID: 9}); err != nil {
		t.Fatal(err)
	}
	if len(sink.failed) != 1 || sink.failed[0] != "will-bounce" || len(sink.received) != 0 {
		t.Fatalf("failed %v, received %v", sink.failed, sink.received)
	}
	// A bounce of some other mail is shown, labelled.
	other := strings.Replace(string(dsn), out.MessageID, "someone-else@x.org", 1)
	if err := s.deliverMail(ctx, []byte(other), false, origin{Folder: "INBOX", UIDValidity: 1, UID: 10}); err != nil {
		t.Fatal(err)
	}
	if got := sink.last(t); !strings.HasPrefix(got.Body, "[Delivery failure notice]") {
		t.Errorf("foreign bounce shown as %q", got.Body)
	}
}

func TestSendRefusesNonAddresses(t *testing.T) {
	s, _ := mailSession(t)
	for _, peer := range []string{"not-an-address", `invalid-sender\40sender.invalid`} {
		if err := s.Send(context.Background(), bridges.Message{ID: "x", Peer: peer, Body: "hi"}); !isCond(err, bridges.JIDMalformed) {
			t.Errorf("Send to %q: %v", peer, err)
		}
	}
}

func TestSameMailOnceDifferentMailAlways(t *testing.T) {
	ctx := context.Background()
	s, sink := mailSession(t)
	mail := func(subject string) []byte {
		return crlf(`
From: Bob <bob@remote.test>
Subject: ` + subject + `
Date: Tue, 24 Nov 2026 10:00:00 +0000
Message-ID: <same@remote.test>

text
`)
	}
	ids := map[string]bool{}
	for i, m := range [][]byte{mail("one"), mail("one"), mail("two")} {
		if err := s.deliverMail(ctx, m, false, origin{Folder: "INBOX", UIDValidity: 1, UID: uint32(i + 1)}); err != nil {
			t.Fatal(err)
		}
		ids[sink.last(t).ID] = true
	}
	// The sink de-duplicates by ID: the copy shares its ID, the reuse of
	// the Message-ID by a different mail does not.
	if len(ids) != 2 {
		t.Errorf("legacy ids %v: want the copy to share one and the other mail to differ", ids)
	}
}

// carbonSink is a recordingSink that can show mail sent elsewhere.
type carbonSink struct {
	recordingSink
	sent []bridges.Message
}

func (c *carbonSink) SentElsewhere(_ context.Context, m bridges.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, m)
	return nil
}

// A mail the user sent from another client (seen in a watched Sent folder)
// is shown in the chat with each recipient as theirs; the copy of a mail
// Ferry sent is not shown again; with a sink that cannot show it, nothing
// is shown, and it never appears as a mail from the user's own address.
func TestMailSentElsewhere(t *testing.T) {
	ctx := context.Background()
	s, _ := mailSession(t)
	sink := &carbonSink{}
	s.sink = sink
	bob, _ := mailaddr.LocalPart("bob@remote.test")
	carol, _ := mailaddr.LocalPart("carol@remote.test")
	sent := crlf(`
From: Alice <ALICE@mail.test>
To: Bob <bob@remote.test>, alice@mail.test
Cc: carol@remote.test, bob@remote.test
Subject: From my phone
Message-ID: <phone-1@mail.test>
Date: Mon, 07 Dec 2026 10:00:00 +0000

Sent from my phone.
`)
	if err := s.deliverMail(ctx, sent, false, origin{Folder: "Sent", UIDValidity: 1, UID: 3}); err != nil {
		t.Fatal(err)
	}
	if len(sink.received) != 0 {
		t.Errorf("the user's own mail was shown as received: %+v", sink.received)
	}
	if len(sink.sent) != 2 || sink.sent[0].Peer != bob || sink.sent[1].Peer != carol {
		t.Fatalf("shown as sent to %+v, want bob and carol once each", sink.sent)
	}
	if m := sink.sent[0]; !strings.Contains(m.Body, "Sent from my phone.") || m.Subject != "From my phone" || m.ID == sink.sent[1].ID || m.Time.IsZero() {
		t.Errorf("sent elsewhere: %+v", m)
	}

	// Ferry's own mail, as the copy in Sent, is not shown again.
	if err := s.Send(ctx, bridges.Message{ID: "m1", Peer: bob, Body: "from the chat"}); err != nil {
		t.Fatal(err)
	}
	out := lastOut(t, s.b)
	copyInSent := crlf(`
From: alice@mail.test
To: bob@remote.test
Subject: from the chat
Message-ID: <` + out.MessageID + `>

from the chat
`)
	if err := s.deliverMail(ctx, copyInSent, false, origin{Folder: "Sent", UIDValidity: 1, UID: 4}); err != nil {
		t.Fatal(err)
	}
	if len(sink.sent) != 2 {
		t.Errorf("Ferry's own mail shown again: %+v", sink.sent[2:])
	}

	// A sink without the capability shows nothing.
	plain, plainSink := mailSession(t)
	if err := plain.deliverMail(ctx, sent, false, origin{Folder: "Sent", UIDValidity: 1, UID: 3}); err != nil {
		t.Fatal(err)
	}
	if len(plainSink.received) != 0 {
		t.Errorf("shown as received: %+v", plainSink.received)
	}
}

package email

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/email/mailaddr"
)

// relaySession is a relay-only account (no mailbox) with one relay address.
func relaySession(t *testing.T, relay map[string]any) (*session, *recordingSink, string) {
	t.Helper()
	opts := map[string]any{"domain": "relay.test", "smarthost": "127.0.0.1:1", "smarthost_security": "plain"}
	for k, v := range relay {
		opts[k] = v
	}
	b := testBridge(t, map[string]any{"relay": opts}, "bob@x.org")
	note, err := b.addAlias(context.Background(), "bob@x.org", "alerts", "")
	if err != nil {
		t.Fatal(err)
	}
	alias := regexp.MustCompile(`alerts\.[a-z0-9]+@relay\.test`).FindString(note)
	sink := &recordingSink{}
	return newSession(b, "bob@x.org", account{}, nil, sink), sink, alias
}

func peer(t *testing.T, addr string) string {
	t.Helper()
	lp, err := mailaddr.LocalPart(addr)
	if err != nil {
		t.Fatal(err)
	}
	return lp
}

// TestRelayRepliesOnlyToWhoWrote: mail through a relay address goes only
// to addresses that wrote to it: not to strangers, not to a Reply-To an
// incoming mail names, not to a sender of a delivery failure notice.
func TestRelayRepliesOnlyToWhoWrote(t *testing.T) {
	ctx := context.Background()
	s, _, alias := relaySession(t, nil)
	notAllowed := func(err error, who string) {
		t.Helper()
		if !isCond(err, bridges.NotAllowed) || !strings.Contains(err.Error(), who+" has never written to") {
			t.Fatalf("got %v, want not-allowed for %s", err, who)
		}
	}
	queued := func() int {
		jobs, err := s.b.store.DueJobs(ctx, s.b.domain, kindOut, statePending, farFuture(), 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(jobs)
	}

	// Nobody wrote yet: a relay-only user cannot start a conversation.
	notAllowed(s.Send(ctx, bridges.Message{ID: "m1", Peer: peer(t, "victim@remote.test"), Body: "buy now"}), "victim@remote.test")

	// Alice writes to the address, naming someone else in Reply-To.
	err := s.deliverMail(ctx, crlf(`
From: Alice <Alice@Mail.Test>
Reply-To: victim@remote.test
To: `+alias+`
Subject: disk full
Message-ID: <a1@mail.test>

Host1 is full.
`), false, origin{RelayJob: "j1", Via: alias})
	if err != nil {
		t.Fatal(err)
	}
	// Alice herself gets the answer, from the relay address.
	if err := s.Send(ctx, bridges.Message{ID: "m2", Peer: peer(t, "alice@mail.test"), Body: "On it."}); err != nil {
		t.Fatal(err)
	}
	if o := lastOut(t, s.b); o.To != "alice@mail.test" || o.From != alias || o.Via != alias {
		t.Fatalf("reply: %+v", o)
	}
	// Answering in the thread would go to the Reply-To: refused.
	thread := "a1@mail.test"
	notAllowed(s.Send(ctx, bridges.Message{ID: "m3", Peer: peer(t, "alice@mail.test"), Thread: thread, Body: "To all"}), "victim@remote.test")
	// Strangers stay out of reach.
	notAllowed(s.Send(ctx, bridges.Message{ID: "m4", Peer: peer(t, "victim@remote.test"), Body: "hello"}), "victim@remote.test")

	// A delivery failure notice to the relay address makes its sender no
	// correspondent.
	err = s.deliverMail(ctx, crlf(`
From: Mail Delivery System <MAILER-DAEMON@remote.test>
To: `+alias+`
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn1@remote.test>
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

Your mail could not be delivered.
--b
Content-Type: message/delivery-status

Reporting-MTA: dns; remote.test

Final-Recipient: rfc822; nobody@remote.test
Action: failed
Status: 5.1.1
--b--
`), false, origin{RelayJob: "j2", Via: alias})
	if err != nil {
		t.Fatal(err)
	}
	notAllowed(s.Send(ctx, bridges.Message{ID: "m5", Peer: peer(t, "mailer-daemon@remote.test"), Body: "?"}), "mailer-daemon@remote.test")
	if n := queued(); n != 1 {
		t.Fatalf("%d mails queued, want only the reply to alice", n)
	}
}

// TestRelaySendToAnyone: the operator may let relay addresses mail anyone.
func TestRelaySendToAnyone(t *testing.T) {
	ctx := context.Background()
	s, _, alias := relaySession(t, map[string]any{"send_to_anyone": true})
	if err := s.Send(ctx, bridges.Message{ID: "m1", Peer: peer(t, "carol@remote.test"), Body: "hello"}); err != nil {
		t.Fatal(err)
	}
	if o := lastOut(t, s.b); o.To != "carol@remote.test" || o.From != alias {
		t.Fatalf("mail: %+v", o)
	}
}

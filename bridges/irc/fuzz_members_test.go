package irc

import (
	"io"
	"strings"
	"testing"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/internal/smallmap"
)

// FuzzMemberLines feeds a network any lines a server could send about
// members, batches and labeled answers: nothing panics, and what it keeps
// stays within its bounds — open batches, commands waiting for answers,
// and accounts only for nicks in a channel it tracks.
func FuzzMemberLines(f *testing.F) {
	for _, seed := range []string{
		":bob!b@h ACCOUNT bob\n:bob!b@h SETNAME :Bob\n:bob!b@h NICK rob\n:rob!b@h PART #c",
		":carol!c@h JOIN #c carol :Carol\n:srv 354 alice 917 #c carol G carol :C\n:srv 315 alice #c :end",
		"BATCH +s netsplit a b\n@batch=s :bob!b@h QUIT :a b\n@batch=s BATCH +t netjoin\nBATCH -s",
		"@label=fy1 BATCH +l labeled-response\n@batch=l :srv 311 alice bob u h * :B\nBATCH -l\n@label=fy2 :srv ACK",
		":srv 353 alice = #c :@bob!b@h +!x@y ~\n:dave!d@h INVITE erin #c\n:alice!a@h KICK #c alice",
	} {
		f.Add(seed)
	}
	n, srv, rec := testNetwork(f, memberCapsAll()...)
	go func() { _, _ = io.Copy(io.Discard, srv.conn) }() // what the network sends (WHO) never fills the socket
	f.Fuzz(func(t *testing.T, input string) {
		n.mu.Lock()
		n.dropBatches()
		n.profiles, n.away, n.labels = nil, nil, nil
		n.channels = smallmap.Map[*channel]{}
		n.channels.Set("#c", &channel{name: "#c", local: "#c%irc.test", joined: true,
			members: memberList(map[string]string{"alice": "", "bob": "o"})})
		n.labelSeq = 0
		for range 3 {
			n.labelled(ircmsg.MakeMessage(nil, "", "WHOIS", "bob"), "alice@x/r")
		}
		n.mu.Unlock()
		for _, line := range strings.Split(input, "\n") {
			m, err := ircmsg.ParseLine(line)
			if err != nil {
				continue
			}
			n.handleLine(m)
		}
		rec.take()
		n.mu.Lock()
		defer n.mu.Unlock()
		if len(n.batches) > maxOpenBatches || len(n.labels) > maxLabels {
			t.Fatalf("%d batches, %d labels kept", len(n.batches), len(n.labels))
		}
		for folded := range n.profiles {
			if !tracked(n, folded) {
				t.Fatalf("account kept for %q, in no channel: %q", folded, n.profiles)
			}
		}
	})
}

func tracked(n *network, folded string) bool {
	for _, ch := range n.channels.All() {
		for nick := range ch.members.All() {
			if n.fold(nick) == folded {
				return true
			}
		}
	}
	return false
}

func memberCapsAll() []string { return append([]string{"batch", "labeled-response"}, memberCaps...) }

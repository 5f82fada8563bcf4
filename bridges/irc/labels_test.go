package irc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ergochat/irc-go/ircmsg"
)

// userCommand is a raw command from one of alice's resources, as
// session.raw queues it; it returns the line the server read.
func (n *network) userCommand(t *testing.T, srv *fakeIRC, line, from string) string {
	t.Helper()
	m, err := ircmsg.ParseLine(line)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.locked(context.Background(), func() { n.lines = append(n.lines, n.labelled(m, from)) }); err != nil {
		t.Fatal(err)
	}
	return srv.readLine()
}

// TestLabeledResponse: the answer to a user's command reaches the
// resource that sent it, in one message, whether the server answers in
// one line or a batch; lines that answer nothing of ours are handled as
// ever, and a server cannot make Ferry keep more than it bounds.
func TestLabeledResponse(t *testing.T) {
	const phone = "alice@x/phone"
	long := func(count int) []string {
		lines := []string{"@label=fy1 BATCH +b labeled-response"}
		for i := range count {
			lines = append(lines, fmt.Sprintf("@batch=b :srv 322 alice #c%d 1 :topic", i))
		}
		return append(lines, "BATCH -b")
	}
	for _, tc := range []struct {
		name  string
		lines []string
		want  []string
	}{
		{"one line", []string{"@label=fy1 :srv 311 alice bob ~b host * :Bob B"},
			[]string{`receive irc.test to=alice@x/phone "bob ~b host * Bob B"`}},
		{"a batch", []string{
			"@label=fy1 BATCH +w labeled-response",
			"@batch=w :srv 311 alice bob ~b host * :Bob B",
			"@batch=w :srv 401 alice bobby :No such nick",
			"@batch=w :srv 318 alice bob :End of /WHOIS list",
			"BATCH -w",
		}, []string{`receive irc.test to=alice@x/phone "bob ~b host * Bob B\nbobby: No such nick\nbob End of /WHOIS list"`}},
		{"nested batches answer once", []string{
			"@label=fy1 BATCH +o labeled-response",
			"@batch=o BATCH +i something",
			"@batch=i :srv 322 alice #c 1 :t",
			"BATCH -i",
			"BATCH -o",
		}, []string{`receive irc.test to=alice@x/phone "#c 1 t"`}},
		{"an ACK says nothing", []string{"@label=fy1 :srv ACK"}, nil},
		{"hostile: labels not ours, answered twice", []string{
			"@label=zz :srv 401 alice nobody :No such nick",
			"@label=fy1 :srv 311 alice bob ~b host * :Bob",
			"@label=fy1 :srv 311 alice bob ~b host * :Bob again",
		}, []string{
			`receive irc.test "nobody: No such nick" id= time=-`,
			`receive irc.test to=alice@x/phone "bob ~b host * Bob"`,
		}},
		{"hostile: an endless answer is cut", long(maxAnswerLines + 5),
			[]string{`receive irc.test to=alice@x/phone "` + strings.Join(func() []string {
				var l []string
				for i := range maxAnswerLines {
					l = append(l, fmt.Sprintf("#c%d 1 topic", i))
				}
				return l
			}(), `\n`) + `\n… and 5 more lines"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, srv, rec := testNetwork(t, "labeled-response", "batch")
			if got := n.userCommand(t, srv, "WHOIS bob", phone); got != "@label=fy1 WHOIS bob" {
				t.Fatalf("sent %q", got)
			}
			for _, l := range tc.lines {
				n.serverSays(t, l)
			}
			if got := rec.take(); !slices.Equal(got, tc.want) {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestLabelsBounded: commands whose answer never comes are forgotten,
// oldest first; without the capability nothing is labeled.
func TestLabelsBounded(t *testing.T) {
	n, srv, _ := testNetwork(t, "labeled-response")
	for range maxLabels + 3 {
		n.userCommand(t, srv, "PING x", "alice@x/phone")
	}
	if len(n.labels) != maxLabels || n.labels[0].label != "fy4" {
		t.Errorf("%d labels waiting, the oldest %v", len(n.labels), n.labels[0])
	}
	plain, srv2, _ := testNetwork(t)
	if got := plain.userCommand(t, srv2, "WHOIS bob", "alice@x/phone"); got != "WHOIS bob" {
		t.Errorf("without the capability: sent %q", got)
	}
}

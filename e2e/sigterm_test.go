//go:build unix

package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// sigtermMessages is the burst a SIGTERM interrupts.
const sigtermMessages = 300

// TestSIGTERMMidTrafficLosesNothing stops the real ferry binary with
// SIGTERM while a burst of messages is arriving: every message is either
// handled (its echo arrives, if need be after the restart) or answered
// with an error the sender sees (Ferry's "try again", or the server's
// bounce once Ferry is gone). None vanishes.
func TestSIGTERMMidTrafficLosesNothing(t *testing.T) {
	testenv.Need(t, "prosody")
	p := testenv.StartProsody(t, testenv.ProsodyOptions{
		Components: map[string]string{transportDomain: secret},
		Users:      map[string]string{"alice": "alicepw"},
	})
	bin := buildFerryBinary(t)
	dir := t.TempDir()
	cfgPath := writeKillConfig(t, dir, p.ComponentAddr)

	first := startFerryProc(t, bin, cfgPath, "first run")
	alice := p.Login(t, "alice", "alicepw", "term")
	alice.Expect(t, wait, func(s *testenv.Stanza) bool {
		return s.Name == "presence" && s.Attr["from"] == alice.JID.String() && s.Attr["type"] == ""
	})
	waitFerryLink(t, alice, first)
	if r := alice.IQ(t, wait, `<iq type="set" to="echo.localhost"><query xmlns="jabber:iq:register"><username>aliceT</username><password>pw-term</password></query></iq>`); r.Attr["type"] != "result" {
		t.Fatalf("register: %s", r.XML)
	}

	burst := dialBurstSender(t, p.C2SAddr, "alice", "alicepw", "burst")
	var stanzas strings.Builder
	for i := range sigtermMessages {
		fmt.Fprintf(&stanzas, `<message to="%s" type="chat" id="t%d"><body>term %d</body></message>`, killPeer, i, i)
	}
	burst.write(t, stanzas.String())
	// SIGTERM while the burst is being handled.
	var echoes []echoMsg
	for len(echoes) < 20 {
		echoes = append(echoes, echoOf(alice.Expect(t, wait, isEcho)))
	}
	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	first.waitExit(t, stopWithin)
	if code := first.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("ferry exited with %v after SIGTERM, want 0", first.cmd.ProcessState)
	}

	// What was stored before the stop is delivered by the next run; the
	// echo of a message sent now comes after it (stored stanzas go first).
	second := startFerryProc(t, bin, cfgPath, "second run")
	waitFerryLink(t, alice, second)
	alice.SendRaw(t, `<message to="`+killPeer+`" type="chat" id="t-after"><body>after</body></message>`)
	for {
		e := echoOf(alice.Expect(t, wait, isEcho))
		if e.body == "after" {
			break
		}
		echoes = append(echoes, e)
	}
	echoed := map[string]bool{}
	for _, e := range echoes {
		echoed[e.body] = true
	}
	bounced := burst.bounced()
	var lost []string
	handled, refused := 0, 0
	for i := range sigtermMessages {
		switch {
		case echoed[fmt.Sprintf("term %d", i)]:
			handled++
		case bounced[fmt.Sprintf("t%d", i)]:
			refused++
		default:
			lost = append(lost, fmt.Sprintf("t%d", i))
		}
	}
	t.Logf("%d messages: %d handled, %d answered with an error", sigtermMessages, handled, refused)
	if len(lost) > 0 {
		t.Errorf("%d messages neither handled nor refused: %v", len(lost), lost)
	}
	second.cmd.Process.Signal(syscall.SIGTERM)
	second.waitExit(t, stopWithin)
}

package testenv

import (
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
)

// TestErgo: ergo starts from ../shared/tools/ergo, an account registers,
// and two clients talk through it; a restart keeps the port.
func TestErgo(t *testing.T) {
	s := StartErgo(t, ErgoOptions{})
	s.RegisterAccount(t, "carol", "pw-carol")
	a, b := s.Connect(t, "anna"), s.Connect(t, "ben")
	a.Send(t, "PRIVMSG ben :hi")
	b.Expect(t, 10*time.Second, func(m ircmsg.Message) bool {
		return m.Command == "PRIVMSG" && m.Nick() == "anna" && m.Params[1] == "hi"
	})
	s.Stop(t)
	s.Start(t)
	s.Connect(t, "dora")
}

package irc

import (
	"context"
	"strings"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircaddr"
)

// undeliveredExcerpt bounds how much of the refused message is quoted back.
const undeliveredExcerpt = 80

// ReportUndelivered implements bridges.UndeliveredReporter: the IRC user
// who wrote gets a NOTICE from the user's nick saying the message did not
// arrive. Nothing is queued while the connection is down: the report
// concerns a conversation happening now.
func (s *session) ReportUndelivered(ctx context.Context, m bridges.Message, reason string) error {
	a, err := s.address(m.Peer)
	if err != nil {
		return err
	}
	if a.Kind != ircaddr.User {
		return nil // only a person can be told
	}
	n, err := s.network(a.Server, "")
	if err != nil {
		return err
	}
	text := undeliveredText(m.Body, reason)
	var queueErr error
	err = n.locked(ctx, func() {
		if n.conn == nil {
			return
		}
		queueErr = n.queueText("NOTICE", a.Target, text, false)
	})
	if err != nil {
		return sendError(err)
	}
	return queueErr
}

// undeliveredText is the notice, on one line: why, and which message
// when known.
func undeliveredText(body, reason string) string {
	body, reason = oneLine(body), oneLine(reason)
	text := "Your message was not delivered"
	if body != "" {
		r := []rune(body)
		if len(r) > undeliveredExcerpt {
			body = string(r[:undeliveredExcerpt]) + "…"
		}
		text += " (\"" + body + "\")"
	}
	if reason != "" {
		text += ": " + reason
	}
	return text
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

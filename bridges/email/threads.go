package email

import (
	"context"
	"strings"

	"github.com/ferry-xmpp/ferry/bridges/email/mailparse"
)

// conv is a conversation as mail threads it: what a reply needs for its
// Subject, In-Reply-To and References.
type conv struct {
	Thread     string   `json:"thread"` // the XEP-0201 id the user's client sees
	Subject    string   `json:"subject"`
	Last       string   `json:"last"`       // Message-ID of the newest mail
	References []string `json:"references"` // oldest first, bounded
	Via        string   `json:"via,omitempty"`
	// ReplyTo is where the newest mail asked replies to go (Reply-To).
	ReplyTo string `json:"reply_to,omitempty"`
}

// rootThread maps a thread root Message-ID we made to the thread id the
// user's client chose for it.
type rootThread struct {
	Thread string `json:"thread"`
}

// maxReferences bounds the References header: the root and the newest.
const maxReferences = 20

func (c *conv) add(msgID string) {
	if msgID == "" {
		return
	}
	c.Last = msgID
	c.References = append(c.References, msgID)
	if n := len(c.References); n > maxReferences {
		c.References = append(c.References[:1], c.References[n-maxReferences+1:]...)
	}
}

func (s *session) peerKey(peer string) string  { return recordID("conv", s.jid, "peer\x00"+peer) }
func (s *session) threadKey(t string) string   { return recordID("conv", s.jid, "thread\x00"+t) }
func (s *session) rootKey(msgID string) string { return recordID("conv", s.jid, "root\x00"+msgID) }

// inboundThread records a received mail's place in its conversation and
// returns the thread id to show.
func (s *session) inboundThread(ctx context.Context, peer string, pm *mailparse.Mail, via string) (string, error) {
	if pm.Kind == mailparse.Bounce {
		return pm.Thread, nil
	}
	thread := pm.Thread
	if thread != "" {
		var rt rootThread
		if ok, err := s.b.record(ctx, s.rootKey(thread), &rt); err != nil {
			return "", err
		} else if ok && rt.Thread != "" {
			thread = rt.Thread
		}
	}
	c := conv{Thread: thread, Subject: pm.Subject, Via: via}
	if len(pm.ReplyTo) > 0 && !strings.EqualFold(pm.ReplyTo[0], pm.From) {
		if a, err := normaliseAddress(pm.ReplyTo[0]); err == nil {
			c.ReplyTo = a
		}
	}
	refs := pm.References
	if len(refs) == 0 {
		refs = pm.InReplyTo
	}
	for _, r := range refs {
		c.add(r)
	}
	c.add(pm.MessageID)
	if thread != "" {
		if err := s.b.saveRecord(ctx, s.jid, kindConv, s.threadKey(thread), c); err != nil {
			return "", err
		}
	}
	return thread, s.b.saveRecord(ctx, s.jid, kindConv, s.peerKey(peer), c)
}

// outboundConv finds the conversation a chat message continues: its
// thread when the client sent one, else the latest with that peer.
func (s *session) outboundConv(ctx context.Context, peer, thread string) (conv, bool, error) {
	var c conv
	key := s.peerKey(peer)
	if thread != "" {
		key = s.threadKey(thread)
	}
	ok, err := s.b.record(ctx, key, &c)
	return c, ok, err
}

// saveOutbound records a sent mail as the newest of its conversation.
func (s *session) saveOutbound(ctx context.Context, peer string, c conv, newThread bool) error {
	if newThread && c.Thread != "" && c.Thread != c.Last {
		if err := s.b.saveRecord(ctx, s.jid, kindConv, s.rootKey(c.Last), rootThread{Thread: c.Thread}); err != nil {
			return err
		}
	}
	if c.Thread != "" {
		if err := s.b.saveRecord(ctx, s.jid, kindConv, s.threadKey(c.Thread), c); err != nil {
			return err
		}
	}
	return s.b.saveRecord(ctx, s.jid, kindConv, s.peerKey(peer), c)
}

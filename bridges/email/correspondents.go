package email

import (
	"context"
	"strings"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/email/mailparse"
)

// kindCorrespondent records an address that wrote to a relay address:
// mail through that relay address may go back to it.
const kindCorrespondent = "mail-correspondent"

// correspondent is the record's payload (its id says it all; this is for
// people reading the store).
type correspondent struct {
	Alias   string `json:"alias"`
	Address string `json:"address"`
}

func correspondentKey(jid, alias, address string) string {
	return recordID("corr", jid, strings.ToLower(alias)+"\x00"+address)
}

// noteCorrespondent remembers that the sender of pm wrote to alias. The
// From address is what counts: replies go to it, and unlike Reply-To the
// operator's MTA can check it (SPF, DKIM, DMARC). Delivery failure
// notices are nobody's to answer.
func (s *session) noteCorrespondent(ctx context.Context, alias string, pm *mailparse.Mail) error {
	if pm.Kind == mailparse.Bounce {
		return nil
	}
	addr, err := normaliseAddress(pm.From)
	if err != nil {
		return nil // no address to answer
	}
	return s.b.saveRecord(ctx, s.jid, kindCorrespondent, correspondentKey(s.jid, alias, addr), correspondent{Alias: alias, Address: addr})
}

// hasWritten reports whether address wrote to the user's relay address
// alias.
func (b *Bridge) hasWritten(ctx context.Context, jid, alias, address string) (bool, error) {
	addr, err := normaliseAddress(address)
	if err != nil {
		return false, nil
	}
	var c correspondent
	return b.record(ctx, correspondentKey(jid, alias, addr), &c)
}

// mayRelayTo refuses mail through the relay address alias to an address
// that never wrote to it, unless the operator lets relay addresses mail
// anyone.
func (b *Bridge) mayRelayTo(ctx context.Context, jid, alias, to string) error {
	if b.opts.Relay == nil || b.opts.Relay.SendToAnyone {
		return nil
	}
	ok, err := b.hasWritten(ctx, jid, alias, to)
	if err != nil {
		return internal("could not check who wrote to your relay address", err)
	}
	if !ok {
		return bridges.Errorf(bridges.NotAllowed, "%s has never written to %s: a relay address can only answer people who wrote to it", to, alias)
	}
	return nil
}

// aliasFor picks, for a new conversation, the first of the user's relay
// addresses that to has written to, or "" when none has a reply due.
func (b *Bridge) aliasFor(ctx context.Context, jid, to string, aliases []aliasRecord) (string, error) {
	for _, a := range aliases {
		ok, err := b.hasWritten(ctx, jid, a.Address, to)
		if err != nil {
			return "", err
		}
		if ok {
			return a.Address, nil
		}
	}
	return "", nil
}

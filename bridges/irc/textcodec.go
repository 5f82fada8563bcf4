package irc

import (
	"strings"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircaddr"
	"github.com/ferry-xmpp/ferry/bridges/irc/irctext"
)

// textCodecs are the character encodings of one network's lines: the
// network's, and the channels' that override it. The zero value is UTF-8
// everywhere and costs nothing per line.
type textCodecs struct {
	in, out irctext.Codec
	// chans are the channels with encodings of their own, by lower-cased
	// name; nil when none has.
	chans map[string]codecPair
}

type codecPair struct{ in, out irctext.Codec }

// codecsFor reads the encodings the user set for server and its channels
// (values stored were checked, so a name that no longer resolves is UTF-8).
func codecsFor(m ircaddr.Mapper, addrs map[string]map[string]string, server string) textCodecs {
	var t textCodecs
	t.in, _ = irctext.LookupCodec(addrs[server][setEncodingIn])
	t.out, _ = irctext.LookupCodec(addrs[server][setEncodingOut])
	for local, set := range addrs {
		if set[setEncodingIn] == "" && set[setEncodingOut] == "" {
			continue
		}
		a, err := m.Parse(local, ircaddr.DefaultChanTypes)
		if err != nil || a.Kind != ircaddr.Channel || a.Server != server {
			continue
		}
		p := codecPair{in: t.in, out: t.out}
		if c, err := irctext.LookupCodec(set[setEncodingIn]); err == nil && set[setEncodingIn] != "" {
			p.in = c
		}
		if c, err := irctext.LookupCodec(set[setEncodingOut]); err == nil && set[setEncodingOut] != "" {
			p.out = c
		}
		if t.chans == nil {
			t.chans = map[string]codecPair{}
		}
		t.chans[a.Target] = p
	}
	return t
}

// decode turns the parameters of a line read from the network into text:
// in the channel's encoding when the line names a channel that has one
// (PRIVMSG #chan, or 332 me #chan), else the network's. Valid UTF-8 is
// left alone, without allocating.
func (t *textCodecs) decode(m *ircmsg.Message) {
	c := t.in
	if t.chans != nil {
		for _, p := range m.Params[:min(2, len(m.Params))] {
			if pair, ok := t.chans[strings.ToLower(p)]; ok {
				c = pair.in
				break
			}
		}
	}
	if c.IsUTF8() {
		return
	}
	for i, p := range m.Params {
		m.Params[i] = c.Decode(p)
	}
	if m.Source != "" {
		m.Source = c.Decode(m.Source)
	}
}

// encode writes the text of a line for target in the encoding set for
// it; a character that encoding lacks refuses the message.
func (t *textCodecs) encode(target string, m *ircmsg.Message) error {
	c := t.out
	if pair, ok := t.chans[strings.ToLower(target)]; ok {
		c = pair.out
	}
	if c.IsUTF8() || len(m.Params) == 0 {
		return nil
	}
	last := len(m.Params) - 1
	text, err := c.Encode(m.Params[last])
	if err != nil {
		return bridges.Errorf(bridges.NotAcceptable, "not sent: %v", err)
	}
	m.Params[last] = text
	return nil
}

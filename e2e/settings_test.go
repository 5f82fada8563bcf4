package e2e

import (
	"strings"
	"testing"

	"github.com/ergochat/irc-go/ircmsg"
	"github.com/ferry-xmpp/ferry/internal/testenv"
)

const nsCommands = "http://jabber.org/protocol/commands"

// configureNetwork runs the ad-hoc command "configure" on addr with the
// given fields and returns the completed command's note.
func configureNetwork(t *testing.T, c *testenv.Client, addr string, fields map[string]string) string {
	t.Helper()
	r := node(t, c.IQ(t, wait, `<iq type="set" to="`+addr+`"><command xmlns="`+nsCommands+`" node="configure" action="execute"/></iq>`))
	cmd := r.Child(nsCommands, "command")
	if r.Attr("type") != "result" || cmd == nil || cmd.Attr("status") != "executing" {
		t.Fatalf("configure %s: %s", addr, r)
	}
	var b strings.Builder
	for k, v := range fields {
		b.WriteString(`<field var="` + k + `"><value>` + v + `</value></field>`)
	}
	r = node(t, c.IQ(t, wait, `<iq type="set" to="`+addr+`"><command xmlns="`+nsCommands+`" node="configure" sessionid="`+cmd.Attr("sessionid")+
		`"><x xmlns="jabber:x:data" type="submit">`+b.String()+`</x></command></iq>`))
	cmd = r.Child(nsCommands, "command")
	if r.Attr("type") != "result" || cmd == nil || cmd.Attr("status") != "completed" {
		t.Fatalf("configure %s, submitted: %s", addr, r)
	}
	return cmd.ChildText(nsCommands, "note")
}

// A user configures their nick and Latin-1 on a network by ad-hoc, from a
// real XMPP client: an IRC user's Latin-1 bytes reach them as the right
// text, their é reaches IRC as Latin-1, and a € that Latin-1 cannot write
// is refused with an error rather than sent as '?'.
func TestIRCConfigureNickAndEncoding(t *testing.T) {
	s := startIRC(t, testenv.NgircdOptions{})
	bob := s.irc.Connect(t, "bob")
	bob.Send(t, "JOIN #latin")
	bob.Expect(t, wait, command("366"))

	c := ircLogin(t, s, "alice", "one")
	ircRegister(t, c, "alice")
	const network = "irc.test@" + ircDomain

	// A bad value brings the form back with the reason; nothing is saved.
	r := node(t, c.IQ(t, wait, `<iq type="set" to="`+network+`"><command xmlns="`+nsCommands+`" node="configure" action="execute"/></iq>`))
	sid := r.Child(nsCommands, "command").Attr("sessionid")
	r = node(t, c.IQ(t, wait, `<iq type="set" to="`+network+`"><command xmlns="`+nsCommands+`" node="configure" sessionid="`+sid+
		`"><x xmlns="jabber:x:data" type="submit"><field var="nick"><value>al ice</value></field></x></command></iq>`))
	if cmd := r.Child(nsCommands, "command"); cmd.Attr("status") != "executing" || !strings.Contains(cmd.ChildText(nsCommands, "note"), "not a valid IRC nickname") {
		t.Fatalf("a nick with a space: %s", r)
	}

	note := configureNetwork(t, c, network, map[string]string{"nick": "alicia", "encoding_in": "latin1", "encoding_out": "ISO-8859-1"})
	if !strings.Contains(note, "next connect") {
		t.Errorf("the note does not say when the settings apply: %q", note)
	}
	// The nick applies at the next connection.
	r = node(t, c.IQ(t, wait, `<iq type="set" to="`+ircDomain+`"><command xmlns="`+nsCommands+`" node="reconnect" action="execute"/></iq>`))
	if r.Attr("type") != "result" {
		t.Fatalf("reconnect: %s", r)
	}

	const room = "#latin%irc.test@" + ircDomain
	c.SendRaw(t, `<presence to="`+room+`/alice"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	bob.Expect(t, wait, func(m ircmsg.Message) bool { return m.Command == "JOIN" && m.Nick() == "alicia" })
	c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Name == "presence" && strings.HasPrefix(st.Attr["from"], room+"/") && strings.Contains(st.XML, `code="110"`)
	})

	bob.Send(t, "PRIVMSG #latin :caf\xe9 cr\xe8me br\xfbl\xe9e")
	got := node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool {
		return st.Name == "message" && st.Attr["from"] == room+"/bob"
	}))
	if body := got.ChildText("", "body"); body != "café crème brûlée" {
		t.Errorf("Latin-1 from IRC shown as %q", body)
	}

	c.SendRaw(t, `<message to="`+room+`" type="groupchat" id="e1"><body>très bien, é</body></message>`)
	bob.Expect(t, wait, privmsg("#latin", "tr\xe8s bien, \xe9"))

	c.SendRaw(t, `<message to="`+room+`" type="groupchat" id="e2"><body>5 €</body></message>`)
	refusal := node(t, c.Expect(t, wait, func(st *testenv.Stanza) bool { return st.Attr["id"] == "e2" && st.Attr["type"] == "error" }))
	if !strings.Contains(refusal.String(), "not-acceptable") || !strings.Contains(refusal.String(), "ISO-8859-1") {
		t.Errorf("unencodable message: %s", refusal)
	}
	// Nothing of it reached the channel: the next line bob sees is this one.
	c.SendRaw(t, `<message to="`+room+`" type="groupchat" id="e3"><body>fin</body></message>`)
	if m := bob.Expect(t, wait, command("PRIVMSG")); m.Params[1] != "fin" {
		t.Errorf("after the refusal bob got %q", m.Params[1])
	}
}

package e2e

import (
	"fmt"
	"testing"

	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// A network's address lists its channels (disco#items, IRC LIST), a page
// at a time: a client can browse them before joining.
func TestIRCNetworkListsChannels(t *testing.T) {
	s := startIRC(t, testenv.NgircdOptions{})
	carol := s.irc.Connect(t, "carol")
	for _, ch := range []string{"#beta", "#alpha", "#gamma"} {
		carol.Send(t, "JOIN "+ch)
		carol.Expect(t, wait, command("366"))
	}
	carol.Send(t, "TOPIC #alpha :first letter")
	carol.Sync(t)
	alice := ircLogin(t, s, "alice", "browse")
	ircRegister(t, alice, "alice")

	const network = "irc.test@" + ircDomain
	items := func(rsm string) (jids, names []string, count string) {
		r := node(t, alice.IQ(t, 3*wait, `<iq type="get" to="`+network+`"><query xmlns="http://jabber.org/protocol/disco#items">`+rsm+`</query></iq>`))
		if r.Attr("type") != "result" {
			t.Fatalf("disco#items on the network: %s", r)
		}
		q := r.Child("http://jabber.org/protocol/disco#items", "query")
		for _, it := range q.ChildrenNamed("http://jabber.org/protocol/disco#items", "item") {
			jids, names = append(jids, it.Attr("jid")), append(names, it.Attr("name"))
		}
		return jids, names, q.Child("http://jabber.org/protocol/rsm", "set").ChildText("http://jabber.org/protocol/rsm", "count")
	}
	jids, names, count := items("")
	want := []string{"#alpha%irc.test@" + ircDomain, "#beta%irc.test@" + ircDomain, "#gamma%irc.test@" + ircDomain}
	// ngIRCd lists its &SERVER channel too, after the # ones.
	if len(jids) != 4 || fmt.Sprint(jids[:3]) != fmt.Sprint(want) || count != "4" || names[0] != "#alpha (1): first letter" {
		t.Fatalf("listed %v %q (count %s), want %v", jids, names, count, want)
	}
	page, _, _ := items(`<set xmlns="http://jabber.org/protocol/rsm"><max>1</max><after>#alpha%irc.test</after></set>`)
	if fmt.Sprint(page) != fmt.Sprint(want[1:2]) {
		t.Errorf("second page %v, want %v", page, want[1:2])
	}
}

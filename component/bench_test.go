package component

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// BenchmarkMessageRoundTrip measures one user message through the whole
// core: read off the stream, routed to the user's actor, handed to the
// bridge, echoed back, persisted in the outbox and written to the server.
func BenchmarkMessageRoundTrip(b *testing.B) {
	srv, _ := startTransport(b)
	srv.inject(`<iq type="set" id="r1" from="u@x.test/r" to="gw.test"><query xmlns="jabber:iq:register"><username>u</username><password>p</password></query></iq>`)
	srv.next(isReply("r1"))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		srv.inject(fmt.Sprintf(`<message type="chat" id="m%d" from="u@x.test/r" to="peer@gw.test"><body>hello %d</body></message>`, i, i))
		srv.next(func(n *xmlnode.Node) bool {
			return n.Local == "message" && strings.HasPrefix(n.ChildText("", "body"), "echo: hello")
		})
	}
}

// BenchmarkDiscoInfo measures a stateless query answered inline.
func BenchmarkDiscoInfo(b *testing.B) {
	srv, _ := startTransport(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprint("d", i)
		srv.inject(`<iq type="get" id="` + id + `" from="u@x.test/r" to="gw.test"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
		srv.next(isReply(id))
	}
}

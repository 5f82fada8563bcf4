package component

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/testbridge"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// roomSize is how many occupants each user's room has in the memory
// benchmark, as in the load tool's ramp (10 users per channel).
const roomSize = 10

// BenchmarkIdleUserMemory measures what the component keeps for each
// registered user sitting in one room of roomSize occupants: the live
// heap after a collection, per user (the bridge's own state is not
// counted: the echo network keeps next to nothing). It is the fast loop
// for the per-connection memory the load tool's ramp measures end to end
// (go test ./component -run '^$' -bench IdleUserMemory).
func BenchmarkIdleUserMemory(b *testing.B) {
	net := testbridge.NewNetwork()
	h := startHarness(b, net, nil)
	before := liveHeap()
	for i := range b.N {
		bare := fmt.Sprintf("m%d@x.test", i)
		s := registerAs(b, h.srv, net, bare)
		full := bare + "/phone"
		room := fmt.Sprintf("#r%d", i/roomSize)
		joinAs(b, h.srv, full, room, "")
		for k := 2; k < roomSize; k++ { // the echo room has the bot and the user
			nick := fmt.Sprintf("peer%d", k)
			s.Events().OccupantPresence(room, bridges.Occupant{Nick: nick, Role: "participant", Affiliation: "none", Peer: nick})
			h.srv.next(func(n *xmlnode.Node) bool {
				return n.Local == "presence" && n.Attr("to") == full && strings.HasSuffix(n.Attr("from"), "/"+nick)
			})
		}
	}
	b.ReportMetric(float64(liveHeap()-before)/float64(b.N), "live-B/user")
}

// liveHeap is the live heap after a full collection, in bytes.
func liveHeap() int64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

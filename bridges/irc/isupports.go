package irc

import (
	"sync"

	"github.com/ferry-xmpp/ferry/bridges/irc/ircconn"
)

// maxSharedISupports bounds the servers whose ISupport is remembered
// (servers users name themselves can be many); beyond it the memory starts
// afresh.
const maxSharedISupports = 1024

// sharedISupports keeps, per server, the ISupport its last connection
// was told, so that every connection to a server holds the same value:
// about a kilobyte each, and ten thousand connections to one network.
type sharedISupports struct {
	mu  sync.Mutex
	per map[string]ircconn.ISupport
}

// share returns the ISupport conn is to use: the one remembered for
// server when conn was told the same, else conn's own, remembered from
// now on.
func (s *sharedISupports) share(server string, conn *ircconn.Conn) ircconn.ISupport {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.per[server]; ok && conn.AdoptISupport(prev) {
		return prev
	}
	is := conn.ISupport()
	if s.per == nil || len(s.per) >= maxSharedISupports {
		s.per = map[string]ircconn.ISupport{}
	}
	s.per[server] = is
	return is
}

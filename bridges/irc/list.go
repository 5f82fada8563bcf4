package irc

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircaddr"
	"github.com/ferry-xmpp/ferry/bridges/irc/irctext"
)

// A network's channels, for disco#items on its address: the answer to
// LIST, kept for listFresh so browsing pages through one answer, and
// bounded (big networks list tens of thousands of channels). Each user's
// connection asks for itself: a server lists secret channels to their
// members only.

const (
	// listFresh is how long a LIST answer is used before asking again.
	listFresh = 5 * time.Minute
	// maxListed bounds the channels kept from one LIST.
	maxListed = 5000
	// listWait bounds the wait for the server's answer.
	listWait = 30 * time.Second
)

// channelList is a network's LIST: the answer being received, the last
// one complete, and who waits for it.
type channelList struct {
	at        time.Time
	items     []bridges.RoomItem // sorted by Local once complete
	complete  bool               // not cut at maxListed
	receiving []bridges.RoomItem
	cut       bool
	asked     bool
	waiters   []chan struct{}
}

// ListRooms implements bridges.RoomLister.
func (s *session) ListRooms(ctx context.Context, local string) ([]bridges.RoomItem, bool, error) {
	a, err := s.address(local)
	if err != nil {
		return nil, false, err
	}
	if a.Kind != ircaddr.Server {
		return nil, false, bridges.Errorf(bridges.ItemNotFound, "%s is not an IRC network: its channels are listed at the network's address", local)
	}
	n, err := s.network(a.Server, "")
	if err != nil {
		return nil, false, err
	}
	ctx, cancel := context.WithTimeout(ctx, listWait)
	defer cancel()
	for {
		var items []bridges.RoomItem
		var complete bool
		var wait chan struct{}
		var failed error
		lerr := n.locked(ctx, func() {
			switch l := n.listState(); {
			case n.failed != nil:
				failed = userError(n.failed, n.server)
			case !l.at.IsZero() && time.Since(l.at) < listFresh:
				items, complete = l.items, l.complete
			default:
				wait = make(chan struct{})
				l.waiters = append(l.waiters, wait)
				n.askList()
			}
		})
		switch {
		case failed != nil:
			return nil, false, failed
		case lerr != nil:
			return nil, false, lerr
		case wait == nil:
			return items, complete, nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, false, bridges.Errorf(bridges.RemoteServerTmout, "%s did not list its channels in time", n.server)
		}
	}
}

// askList sends LIST when someone waits for it and none is under way
// (also once connected: connect asks for those who waited meanwhile).
func (n *network) askList() {
	l := n.list
	if l != nil && len(l.waiters) > 0 && !l.asked && n.conn != nil {
		l.asked, l.receiving, l.cut = true, nil, false
		n.queue("LIST")
	}
}

// onListLine takes the lines of a LIST answer; false means the line is
// not one of them.
func (n *network) onListLine(m ircmsg.Message) bool {
	if n.answering != nil {
		return false // the answer to a user's own labeled LIST: theirs to see
	}
	switch m.Command {
	case "321", "322", "323":
	default:
		return false
	}
	l := n.listState()
	switch m.Command {
	case "321": // RPL_LISTSTART
		l.receiving, l.cut = nil, false
	case "322": // RPL_LIST: me channel visible :topic
		if len(m.Params) < 3 {
			return true
		}
		if len(l.receiving) >= maxListed {
			l.cut = true
			return true
		}
		name := m.Params[1]
		label := name
		if users := m.Params[2]; users != "" {
			label += " (" + users + ")"
		}
		if len(m.Params) > 3 {
			if topic := strings.TrimSpace(irctext.ToXMPP(m.Params[3])); topic != "" {
				label += ": " + topic
			}
		}
		l.receiving = append(l.receiving, bridges.RoomItem{Local: n.local(ircaddr.Channel, name), Name: label})
	case "323": // RPL_LISTEND
		slices.SortFunc(l.receiving, func(a, b bridges.RoomItem) int { return strings.Compare(a.Local, b.Local) })
		l.items, l.complete, l.at = l.receiving, !l.cut, time.Now()
		l.receiving, l.asked = nil, false
		n.wakeListWaiters()
	}
	return true
}

// listState is the network's LIST state, made when first needed: most
// users never list a network's channels, and every user has a network.
func (n *network) listState() *channelList {
	if n.list == nil {
		n.list = &channelList{}
	}
	return n.list
}

// wakeListWaiters lets everyone waiting for a LIST look again.
func (n *network) wakeListWaiters() {
	if n.list == nil {
		return
	}
	for _, w := range n.list.waiters {
		close(w)
	}
	n.list.waiters = nil
}

// listLost ends a LIST the lost connection will not answer: those
// waiting ask again on the next connection, or time out.
func (n *network) listLost() {
	if n.list == nil {
		return
	}
	n.list.asked, n.list.receiving = false, nil
	n.wakeListWaiters()
}

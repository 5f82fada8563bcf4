package component

import (
	"context"
	"errors"
	"sort"
	"strconv"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// disco#items on a network's address lists its rooms (IRC: LIST, which
// the bridge keeps a few minutes), a page at a time (XEP-0059 RSM, by
// room address), so a client can browse a network's channels.

const (
	roomPageSize = 100 // rooms per page when the client names no max
	roomPageMax  = 500 // rooms per page, whatever the client asks
)

// roomPage is a client's RSM request on the list.
type roomPage struct {
	max           int
	after, before string
	last          bool // <before/>: the last page
}

func parseRoomPage(q *xmlnode.Node) (roomPage, error) {
	p := roomPage{max: roomPageSize}
	set := q.Child(nsRSM, "set")
	if set == nil {
		return p, nil
	}
	if m := set.Child(nsRSM, "max"); m != nil {
		v, err := strconv.Atoi(m.TrimmedText())
		if err != nil || v < 0 {
			return p, errors.New("RSM max must be a number")
		}
		p.max = min(v, roomPageMax)
	}
	p.after = set.ChildText(nsRSM, "after")
	if b := set.Child(nsRSM, "before"); b != nil {
		p.last, p.before = true, b.Text
	}
	return p, nil
}

// listRooms answers disco#items on a network's address.
func (u *user) listRooms(n, q *xmlnode.Node, local string) {
	page, err := parseRoomPage(q)
	if err != nil {
		u.send(ErrorReply(n, Modify, "bad-request", err.Error()))
		return
	}
	if !u.needSession(n) {
		return
	}
	t := u.t
	u.askSession(n, func(s bridges.Session) (func(context.Context) (*xmlnode.Node, error), bool) {
		lister, ok := s.(bridges.RoomLister)
		return func(ctx context.Context) (*xmlnode.Node, error) {
			rooms, _, err := lister.ListRooms(ctx, local)
			if err != nil {
				return nil, err
			}
			return t.roomItems(rooms, page), nil
		}, ok
	}, func() *xmlnode.Node {
		return ErrorReply(n, Cancel, "feature-not-implemented", "this network cannot list its rooms")
	})
}

// roomItems is one page of a network's rooms (sorted by Local) as
// disco#items, with its RSM set.
func (t *Transport) roomItems(rooms []bridges.RoomItem, p roomPage) *xmlnode.Node {
	from, to := 0, len(rooms)
	if p.after != "" {
		from = sort.Search(len(rooms), func(i int) bool { return rooms[i].Local > p.after })
	}
	if p.before != "" {
		to = sort.Search(len(rooms), func(i int) bool { return rooms[i].Local >= p.before })
	}
	if to < from {
		to = from
	}
	if p.last {
		from = max(from, to-p.max)
	} else {
		to = min(to, from+p.max)
	}
	q := xmlnode.New(nsDiscoItem, "query")
	for _, r := range rooms[from:to] {
		q.Add(xmlnode.New(nsDiscoItem, "item").SetAttr("jid", t.puppet(r.Local)).SetAttr("name", r.Name))
	}
	set := xmlnode.New(nsRSM, "set")
	if to > from {
		set.Add(xmlnode.Elem(nsRSM, "first", rooms[from].Local).SetAttr("index", strconv.Itoa(from)),
			xmlnode.Elem(nsRSM, "last", rooms[to-1].Local))
	}
	return q.Add(set.Add(xmlnode.Elem(nsRSM, "count", strconv.Itoa(len(rooms)))))
}

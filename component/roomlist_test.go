package component

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ferry-xmpp/ferry/bridges"
)

func TestRoomItemsPages(t *testing.T) {
	var rooms []bridges.RoomItem
	for i := range 10 {
		rooms = append(rooms, bridges.RoomItem{Local: fmt.Sprintf("#c%d%%irc.test", i), Name: fmt.Sprint(i)})
	}
	tr := &Transport{domain: "gw.test"}
	tests := []struct {
		name  string
		page  roomPage
		want  []int
		first string // its index
	}{
		{"first page", roomPage{max: 3}, []int{0, 1, 2}, "0"},
		{"after", roomPage{max: 3, after: "#c2%irc.test"}, []int{3, 4, 5}, "3"},
		{"the end", roomPage{max: 3, after: "#c8%irc.test"}, []int{9}, "9"},
		{"last page", roomPage{max: 4, last: true}, []int{6, 7, 8, 9}, "6"},
		{"before", roomPage{max: 2, last: true, before: "#c3%irc.test"}, []int{1, 2}, "1"},
		{"past the end", roomPage{max: 3, after: "#c9%irc.test"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tr.roomItems(rooms, tt.page)
			var got []int
			for _, it := range q.ChildrenNamed(nsDiscoItem, "item") {
				var i int
				fmt.Sscanf(it.Attr("name"), "%d", &i)
				if it.Attr("jid") != tr.puppet(rooms[i].Local) {
					t.Errorf("item %d has jid %s", i, it.Attr("jid"))
				}
				got = append(got, i)
			}
			set := q.Child(nsRSM, "set")
			if !slices.Equal(got, tt.want) || set.ChildText(nsRSM, "count") != "10" || set.Child(nsRSM, "first").Attr("index") != tt.first {
				t.Errorf("page %v, set %s; want %v from index %s", got, set, tt.want, tt.first)
			}
		})
	}
}

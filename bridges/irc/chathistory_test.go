package irc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var histT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// histTime is the server-time tag of line i.
func histTime(i int) string {
	return histT0.Add(time.Duration(i) * time.Second).Format("2006-01-02T15:04:05.000Z")
}

func histLine(batch string, i int) string {
	tags := fmt.Sprintf("msgid=m%d;time=%s", i, histTime(i))
	if batch != "" {
		tags = "batch=" + batch + ";" + tags
	}
	return fmt.Sprintf("@%s :bob!b@h PRIVMSG #chan :line %d", tags, i)
}

func roomLine(i int, replayed bool) string {
	prefix := ""
	if replayed {
		prefix = "replayed "
	}
	return fmt.Sprintf("%sroom #chan%%irc.test <bob> \"line %d\" id=irc.test/m%d time=%s echo= origin=", prefix, i, i, stamp(histT0.Add(time.Duration(i)*time.Second)))
}

// rejoin puts #chan back as it is after a lost connection or a restart
// (resume set), and has the server confirm the join.
func rejoin(t *testing.T, n *network, r resume) {
	t.Helper()
	_ = n.locked(context.Background(), func() {
		n.channels.Set("#chan", &channel{name: "#chan", local: "#chan%irc.test", members: memberList(nil), resume: &r})
	})
	n.serverSays(t, ":alice!a@h JOIN #chan")
	n.serverSays(t, ":srv 353 alice = #chan :alice bob")
	n.serverSays(t, ":srv 366 alice #chan :End of /NAMES list")
}

func roomEvents(rec *record) []string {
	var out []string
	for _, e := range rec.take() {
		if strings.HasPrefix(e, "room ") || strings.HasPrefix(e, "replayed ") || strings.HasPrefix(e, "gap ") {
			out = append(out, e)
		}
	}
	return out
}

// After a rejoin, what was said after the last line Ferry has is fetched
// and reported first, marked replayed; lines said live meanwhile follow,
// each once, in order.
func TestCatchUpReplaysThenHeldLines(t *testing.T) {
	n, srv, rec := testNetwork(t, "batch", "draft/chathistory", "server-time", "message-tags")
	rejoin(t, n, resume{at: histT0, afterID: "m1", gapFrom: histT0})
	if got := srv.readLine(); got != "CHATHISTORY AFTER #chan msgid=m1 100" {
		t.Fatalf("asked %q", got)
	}
	n.serverSays(t, histLine("", 4)) // live, said after the rejoin
	n.serverSays(t, "BATCH +b1 chathistory #chan")
	for i := 2; i <= 4; i++ {
		n.serverSays(t, histLine("b1", i))
	}
	n.serverSays(t, "@batch=b1;msgid=x :bob!b@h PRIVMSG #chan :\x01VERSION\x01")
	if got := roomEvents(rec); len(got) != 0 {
		t.Fatalf("reported before the batch ended: %q", got)
	}
	n.serverSays(t, "BATCH -b1")
	n.serverSays(t, histLine("", 5))
	want := []string{roomLine(2, true), roomLine(3, true), roomLine(4, false), roomLine(5, false)}
	if got := roomEvents(rec); !slices.Equal(got, want) {
		t.Fatalf("reported\n%q\nwant\n%q", got, want)
	}
	if n.channel("#chan").lastID != "m5" {
		t.Errorf("the next catch-up would start after %q", n.channel("#chan").lastID)
	}
}

// A full page asks for the next one, after its last line; by time when
// Ferry has no msgid of the last line.
func TestCatchUpPages(t *testing.T) {
	n, srv, rec := testNetwork(t, "batch", "draft/chathistory", "server-time", "message-tags")
	rejoin(t, n, resume{at: histT0, gapFrom: histT0})
	if got, want := srv.readLine(), "CHATHISTORY AFTER #chan timestamp="+histTime(0)+" 100"; got != want {
		t.Fatalf("asked %q, want %q", got, want)
	}
	n.serverSays(t, "BATCH +p1 chathistory #chan")
	for i := 1; i <= historyPage; i++ {
		n.serverSays(t, histLine("p1", i))
	}
	n.serverSays(t, "BATCH -p1")
	if got, want := srv.readLine(), fmt.Sprintf("CHATHISTORY AFTER #chan msgid=m%d 100", historyPage); got != want {
		t.Fatalf("asked %q, want %q", got, want)
	}
	n.serverSays(t, "BATCH +p2 chathistory #chan")
	n.serverSays(t, histLine("p2", historyPage+1))
	n.serverSays(t, "BATCH -p2")
	got := roomEvents(rec)
	if len(got) != historyPage+1 || got[historyPage] != roomLine(historyPage+1, true) {
		t.Fatalf("reported %d lines, the last %q", len(got), got[len(got)-1])
	}
	if n.channel("#chan").catching != nil {
		t.Error("still catching up after a short page")
	}
}

// Without chathistory, or when the server refuses it, the room is told
// which stretch may be missing, and live lines are not held.
func TestCatchUpGap(t *testing.T) {
	t.Run("no chathistory", func(t *testing.T) {
		n, _, rec := testNetwork(t, "server-time", "message-tags")
		rejoin(t, n, resume{at: histT0, afterID: "m1", gapFrom: histT0})
		n.serverSays(t, histLine("", 2))
		want := []string{"gap #chan%irc.test from=" + stamp(histT0), roomLine(2, false)}
		if got := roomEvents(rec); !slices.Equal(got, want) {
			t.Fatalf("reported %q, want %q", got, want)
		}
	})
	t.Run("refused", func(t *testing.T) {
		n, srv, rec := testNetwork(t, "batch", "draft/chathistory", "server-time", "message-tags", "standard-replies")
		rejoin(t, n, resume{at: histT0, afterID: "m1", gapFrom: histT0})
		srv.readLine()
		n.serverSays(t, histLine("", 2))
		n.serverSays(t, ":srv FAIL CHATHISTORY MESSAGE_ERROR AFTER #chan :Messages could not be retrieved")
		want := []string{"gap #chan%irc.test from=" + stamp(histT0), roomLine(2, false)}
		if got := roomEvents(rec); !slices.Equal(got, want) {
			t.Fatalf("reported %q, want %q", got, want)
		}
	})
}

// A lost connection remembers the newest line reported, where the next
// catch-up starts.
func TestChannelLostResumesAfterLastLine(t *testing.T) {
	ch := &channel{last: histT0, lastID: "m9"}
	var n network
	n.channelLost(ch)
	if r := ch.resume; r == nil || !r.at.Equal(histT0) || r.afterID != "m9" || r.gapFrom.Before(histT0) {
		t.Fatalf("resume %+v", ch.resume)
	}
}

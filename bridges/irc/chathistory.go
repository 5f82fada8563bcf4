package irc

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/irctext"
)

// Catching up on a channel after Ferry was away from it (restarted, or
// its connection lost): once the channel is joined again, a server that
// offers draft/chathistory is asked for what was said after the last line
// Ferry has (CHATHISTORY AFTER, by msgid where it has one, else by time),
// page by page. The replayed lines are reported first, marked Replayed;
// the lines said live meanwhile are held and reported after them, and a
// held line the replay also carries is reported once. Where the server
// cannot replay (ngIRCd), or stops answering, the user is told which
// stretch may be missing (RoomGap) instead.
//
// A page is one kind of batch in the connection's table (batch.go),
// whose rules bound it like any other.

const (
	// historyPage is the most lines asked for at once, below the server's
	// own limit (ISUPPORT CHATHISTORY) when it has one.
	historyPage = 100
	// historyPages bounds the pages fetched in one catch-up: beyond
	// them the rest is reported as a gap.
	historyPages = 10
	// catchUpWait is how long the server has to answer before the
	// catch-up is given up; held lines then go out at once.
	catchUpWait = 15 * time.Second
	// maxHeld bounds the live lines held while catching up.
	maxHeld = 500
)

// resume is where a channel's talk continues from, once it is joined
// again: the newest line Ferry has, and since when lines may be missing.
type resume struct {
	at      time.Time // the newest line's time (zero: none)
	afterID string    // its msgid on this server ("" if none)
	gapFrom time.Time // when Ferry went away (zero: unknown)
}

// catchUp is a channel's fetch in progress.
type catchUp struct {
	resume
	started time.Time
	limit   int
	pages   int
	// answered: the page asked for is being received (a chathistory
	// batch of the connection's batch table, batch.go)
	answered bool
	got      int // lines in the page so far
	replay   []heard
	held     []heard
	live     map[string]bool // msgids of the held lines
}

// heard is a channel line waiting to be reported.
type heard struct {
	nick  string
	msg   bridges.Message
	rawID string // the server's msgid, unqualified
}

// RestoreRoom implements bridges.RoomRestorer: a join that catches up on
// what was said after lastID (an id this bridge gave, "server/msgid") or
// since.
func (s *session) RestoreRoom(ctx context.Context, local, nick string, since time.Time, lastID string) error {
	return s.join(ctx, local, nick, "", func(n *network, ch *channel) {
		afterID, _ := strings.CutPrefix(lastID, n.server+"/")
		if afterID == lastID {
			afterID = "" // Ferry's own id, or another server's
		}
		ch.resume = &resume{at: since, afterID: afterID, gapFrom: since}
	})
}

// channelLost remembers where a joined channel's talk stops, as the
// connection is lost; a catch-up in progress is abandoned (its held lines
// come again with the next one).
func (n *network) channelLost(ch *channel) {
	gapFrom := time.Now()
	if ch.catching != nil {
		gapFrom = ch.catching.gapFrom
	}
	ch.catching = nil
	ch.resume = &resume{at: nonZero(ch.last, gapFrom), afterID: ch.lastID, gapFrom: gapFrom}
}

func nonZero(t, fallback time.Time) time.Time {
	if t.IsZero() {
		return fallback
	}
	return t
}

// startCatchUp runs once a channel is joined again: it asks for what was
// missed, or reports the gap when the server cannot say.
func (n *network) startCatchUp(ch *channel) {
	r := ch.resume
	if r == nil {
		return
	}
	ch.resume = nil
	if !n.conn.HasCap("draft/chathistory") || !n.conn.HasCap("batch") || r.at.IsZero() && r.afterID == "" {
		n.reportGap(ch, r.gapFrom)
		return
	}
	ch.catching = &catchUp{resume: *r, started: time.Now(), limit: n.historyLimit(), live: map[string]bool{}}
	n.askHistory(ch)
}

// historyLimit is the page size: historyPage, or less if the server
// says so.
func (n *network) historyLimit() int {
	tokens := n.is.Tokens()
	for _, name := range []string{"CHATHISTORY", "draft/CHATHISTORY"} {
		if v, err := strconv.Atoi(tokens[name]); err == nil && v > 0 {
			return min(v, historyPage)
		}
	}
	return historyPage
}

// askHistory asks for the next page after the newest line known.
func (n *network) askHistory(ch *channel) {
	c := ch.catching
	after := "timestamp=" + c.at.UTC().Format("2006-01-02T15:04:05.000Z")
	if c.afterID != "" {
		after = "msgid=" + c.afterID
	}
	c.pages++
	c.answered, c.got = false, 0
	n.queue("CHATHISTORY", "AFTER", ch.name, after, strconv.Itoa(c.limit))
}

// historyPage is the kind of the chathistory batch BATCH +ref
// chathistory channel opens (batch.go), when that channel waits for a
// page of its catch-up; nil otherwise, and the batch's lines are handled
// as plain lines.
func (n *network) historyPage(target string) batchKind {
	ch := n.channel(n.fold(target))
	if ch == nil || ch.catching == nil || ch.catching.answered {
		return nil
	}
	ch.catching.answered = true
	return &page{ch: ch, c: ch.catching}
}

// page is one page of a channel's catch-up being replayed.
type page struct {
	ch *channel
	c  *catchUp
}

// current reports the catch-up the page belongs to is still under way:
// not given up, the channel not left.
func (p *page) current(n *network) bool {
	return p.ch.catching == p.c && n.channel(n.fold(p.ch.name)) == p.ch
}

// line keeps a replayed line. Once the catch-up is over (given up, the
// channel left), the rest of the page is handled as plain lines, as it
// is after a page is cut (batch.go): nothing is lost.
func (p *page) line(n *network, m ircmsg.Message) bool {
	if !p.current(n) {
		return false
	}
	n.replayed(p.ch, m)
	return true
}

// end reports the page and goes on. A lost connection abandons the
// catch-up instead (channelLost).
func (p *page) end(n *network, how batchEnd) {
	if how != batchLost && p.current(n) {
		n.pageDone(p.ch, how == batchCut)
	}
}

// onHistoryRefused gives up the catch-ups waiting for a page when the
// server refuses CHATHISTORY; false means the line is not that refusal.
func (n *network) onHistoryRefused(m ircmsg.Message) bool {
	if m.Command != "FAIL" || len(m.Params) == 0 || !strings.EqualFold(m.Params[0], "CHATHISTORY") {
		return false
	}
	for _, ch := range n.channels.All() {
		if ch.catching != nil && !ch.catching.answered {
			n.giveUpCatchUp(ch)
		}
	}
	return true
}

// replayed keeps one line of the replay, unless it was held live
// already. Only messages are replayed; other CTCP is not chat.
func (n *network) replayed(ch *channel, m ircmsg.Message) {
	c := ch.catching
	c.got++
	_, rawID := m.GetTag("msgid")
	msg := bridges.Message{Time: serverTime(m), ID: messageID(n.server, m), Replayed: true}
	if rawID != "" {
		c.afterID = rawID // the next page starts after it
	}
	if !msg.Time.IsZero() {
		c.at = msg.Time
	}
	if (m.Command != "PRIVMSG" && m.Command != "NOTICE") || len(m.Params) < 2 || msg.ID != "" && c.live[msg.ID] {
		return
	}
	msg.Body = m.Params[1]
	if cmd, args, ok := irctext.CTCP(msg.Body); ok {
		if cmd != "ACTION" {
			return
		}
		msg.Body, msg.Action = args, true
	}
	msg.Body = irctext.ToXMPP(msg.Body)
	c.replay = append(c.replay, heard{m.Nick(), msg, rawID})
}

// pageDone reports a page of the replay and asks for the next one, or
// ends the catch-up when the page was the last. A page cut short
// (batch.go: the server did not end it) is the last, followed by the gap
// after what it held.
func (n *network) pageDone(ch *channel, cut bool) {
	c := ch.catching
	full := c.got >= c.limit // there may be more after it
	for _, h := range c.replay {
		n.reportLine(ch, h)
	}
	c.replay = c.replay[:0]
	switch {
	case cut || full && c.pages >= historyPages:
		// More was said than this catch-up fetched: say so.
		n.reportGap(ch, c.at)
		n.endCatchUp(ch)
	case full:
		n.askHistory(ch)
	default:
		n.endCatchUp(ch)
	}
}

// endCatchUp reports the held live lines, after the replay.
func (n *network) endCatchUp(ch *channel) {
	held := ch.catching.held
	ch.catching = nil
	for _, h := range held {
		n.reportLine(ch, h)
	}
}

// giveUpCatchUp ends a catch-up the server did not answer, reporting the
// gap and then the held lines.
func (n *network) giveUpCatchUp(ch *channel) {
	n.reportGap(ch, ch.catching.gapFrom)
	n.endCatchUp(ch)
}

// reportGap tells the user lines of the channel may be missing since from.
func (n *network) reportGap(ch *channel, from time.Time) {
	local, to := ch.local, time.Now()
	n.room(func(re bridges.RoomEvents) { re.RoomGap(local, from, to) })
}

// channelMessage reports a live line of a joined channel, or holds it
// while the channel catches up.
func (n *network) channelMessage(ch *channel, nick string, msg bridges.Message, m ircmsg.Message) {
	_, rawID := m.GetTag("msgid")
	h := heard{nick, msg, rawID}
	if c := ch.catching; c != nil {
		if time.Since(c.started) <= catchUpWait && len(c.held) < maxHeld {
			c.held = append(c.held, h)
			if msg.ID != "" {
				c.live[msg.ID] = true
			}
			return
		}
		n.giveUpCatchUp(ch)
	}
	n.reportLine(ch, h)
}

// reportLine reports a line and remembers it as the newest, where the
// next catch-up starts.
func (n *network) reportLine(ch *channel, h heard) {
	ch.last = nonZero(h.msg.Time, time.Now())
	ch.lastID = h.rawID
	local, nick, msg := ch.local, h.nick, h.msg
	n.room(func(re bridges.RoomEvents) { re.RoomMessage(local, nick, msg) })
}

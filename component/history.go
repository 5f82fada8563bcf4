package component

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
)

// Room history as users read it: the lines sent on join (XEP-0045
// <history/>) and MAM queries on the room (XEP-0313), both limited to
// what was said while the user was in the room through Ferry, or, on a
// network the operator made public, the whole of it.

const (
	nsMAM    = "urn:xmpp:mam:2"
	nsMAMExt = "urn:xmpp:mam:2#extended" // before-id, after-id, ids
	nsRSM    = "http://jabber.org/protocol/rsm"

	historyMax   = 1000 // lines on join, whatever a client asks
	mamPageMax   = 250  // messages per MAM page, whatever a client asks
	mamPageSize  = 50   // when the client names none
	readTimeout  = 10 * time.Second
	historyUnset = -1
)

// historyRequest is a joining client's <history/>; unset limits are -1.
type historyRequest struct {
	maxStanzas, maxChars int
	since                time.Time
}

// parseHistory reads the <history/> of a join; a bad number is ignored
// (XEP-0045 gives no error for it), as is a bad date.
func parseHistory(n *xmlnode.Node, now time.Time) historyRequest {
	req := historyRequest{maxStanzas: historyUnset, maxChars: historyUnset}
	h := n.Child(nsMUC, "x").Child(nsMUC, "history")
	if h == nil {
		return req
	}
	if v, err := strconv.Atoi(h.Attr("maxstanzas")); err == nil && v >= 0 {
		req.maxStanzas = v
	}
	if v, err := strconv.Atoi(h.Attr("maxchars")); err == nil && v >= 0 {
		req.maxChars = v
	}
	if v, err := strconv.Atoi(h.Attr("seconds")); err == nil && v >= 0 {
		req.since = now.Add(-time.Duration(v) * time.Second)
	}
	if v, err := time.Parse(time.RFC3339Nano, h.Attr("since")); err == nil && v.After(req.since) {
		req.since = v
	}
	return req
}

// forgetHistory drops a resource's history request.
func (r *room) forgetHistory(full string) {
	delete(r.history, full)
	if len(r.history) == 0 {
		r.history = nil // an emptied map keeps its memory, in every room of every user
	}
}

// sendHistory sends one joining resource the room's last lines it may
// read, oldest first, each with its original time (XEP-0203): between its
// own presence and the subject, as XEP-0045 orders them.
func (u *user) sendHistory(r *room, full string) {
	req, asked := r.history[full]
	r.forgetHistory(full)
	if !asked {
		return // not a join (<x xmlns='http://jabber.org/protocol/muc'/>)
	}
	limit := u.t.desc.HistoryLines
	if req.maxStanzas != historyUnset {
		limit = min(req.maxStanzas, historyMax)
	}
	if limit == 0 || req.maxChars == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(u.t.ctx, readTimeout)
	defer cancel()
	page, err := u.t.archive.query(ctx, registry.ArchiveQuery{Room: r.local, JID: u.jid, Start: req.since, Max: limit, Last: true, NoSubjects: true,
		Public: u.publicHistory(r.local)})
	if err != nil {
		if !errors.Is(err, registry.ErrNoAccess) {
			u.t.log.Error("reading room history", "user", u.jid, "room", r.local, "error", err)
		}
		return
	}
	msgs := make([]*xmlnode.Node, len(page.Messages))
	for i, m := range page.Messages {
		msgs[i] = u.historyMessage(r.local, full, m)
	}
	if req.maxChars > 0 {
		// The newest lines that fit, counting each stanza whole.
		total, first := 0, len(msgs)
		for first > 0 {
			total += len(msgs[first-1].AppendXML(nil))
			if total > req.maxChars {
				break
			}
			first--
		}
		msgs = msgs[first:]
	}
	for _, m := range msgs {
		u.send(m)
	}
}

// historyMessage is an archived line as sent on join.
func (u *user) historyMessage(local, full string, m registry.ArchivedMessage) *xmlnode.Node {
	room := u.t.puppet(local)
	return xmlnode.New("", "message").SetAttr("type", "groupchat").SetAttr("id", m.ID).
		SetAttr("from", u.roomJID(local, m.Nick)).SetAttr("to", full).
		Add(xmlnode.Elem("", "body", m.Body), delayElem(room, m.At), stanzaIDElem(room, m.ID))
}

// mamQuery answers an XEP-0313 query on a room: the page as <result/>
// messages, then the IQ result with <fin/>.
func (u *user) mamQuery(n, q *xmlnode.Node, full, local string) {
	aq, err := u.mamRequest(q, local)
	if err != nil {
		u.send(ErrorReply(n, Modify, "bad-request", err.Error()))
		return
	}
	fin := xmlnode.New(nsMAM, "fin")
	set := xmlnode.New(nsRSM, "set")
	fin.Add(set)
	if aq.Max == 0 {
		u.send(Result(n, fin)) // a count-only request: Ferry keeps no count
		return
	}
	ctx, cancel := context.WithTimeout(u.t.ctx, readTimeout)
	defer cancel()
	page, err := u.t.archive.query(ctx, aq)
	switch {
	case errors.Is(err, registry.ErrNoAccess):
		u.send(ErrorReply(n, Auth, "forbidden", "you have not been in this room through this gateway, so it keeps no history for you"))
		return
	case errors.Is(err, registry.ErrNotFound):
		u.send(ErrorReply(n, Cancel, "item-not-found", "no message with that id in this room"))
		return
	case err != nil:
		u.t.log.Error("reading room history", "user", u.jid, "room", local, "error", err)
		u.send(ErrorReply(n, Wait, "internal-server-error", "the room's history cannot be read right now"))
		return
	}
	room, qid := u.t.puppet(local), q.Attr("queryid")
	for _, m := range page.Messages {
		text := "body"
		if m.Subject {
			text = "subject"
		}
		inner := xmlnode.New(nsClient, "message").SetAttr("type", "groupchat").SetAttr("id", m.ID).
			SetAttr("from", u.roomJID(local, m.Nick)).Add(xmlnode.Elem(nsClient, text, m.Body))
		result := xmlnode.New(nsMAM, "result").SetAttr("id", m.ID).
			Add(xmlnode.New(nsForward, "forwarded").Add(delayElem(room, m.At), inner))
		if qid != "" {
			result.SetAttr("queryid", qid)
		}
		u.send(xmlnode.New("", "message").SetAttr("id", newID()).SetAttr("from", room).SetAttr("to", full).Add(result))
	}
	if len(page.Messages) > 0 {
		set.Add(xmlnode.Elem(nsRSM, "first", page.Messages[0].ID),
			xmlnode.Elem(nsRSM, "last", page.Messages[len(page.Messages)-1].ID))
	}
	if page.Complete {
		fin.SetAttr("complete", "true")
	}
	u.send(Result(n, fin))
}

// mamRequest reads a query's form and RSM set.
func (u *user) mamRequest(q *xmlnode.Node, local string) (registry.ArchiveQuery, error) {
	aq := registry.ArchiveQuery{Room: local, JID: u.jid, Max: mamPageSize, Public: u.publicHistory(local)}
	if x := q.Child(nsData, "x"); x != nil {
		for _, f := range x.ChildrenNamed(nsData, "field") {
			values := f.ChildrenNamed(nsData, "value")
			v := f.ChildText(nsData, "value")
			var err error
			switch f.Attr("var") {
			case "FORM_TYPE":
				if v != nsMAM {
					return aq, errors.New("the form is not a " + nsMAM + " query")
				}
			case "start":
				aq.Start, err = mamTime(v)
			case "end":
				aq.End, err = mamTime(v)
			case "with":
				aq.With, err = u.withNick(v, local)
			case "after-id":
				aq.AfterID = v
			case "before-id":
				aq.BeforeID = v
			case "ids":
				for _, id := range values {
					aq.IDs = append(aq.IDs, id.Text)
				}
			}
			if err != nil {
				return aq, err
			}
		}
	}
	if set := q.Child(nsRSM, "set"); set != nil {
		if m := set.Child(nsRSM, "max"); m != nil {
			v, err := strconv.Atoi(m.TrimmedText())
			if err != nil || v < 0 {
				return aq, errors.New("RSM max must be a number")
			}
			aq.Max = min(v, mamPageMax)
		}
		if a := set.ChildText(nsRSM, "after"); a != "" {
			aq.AfterID = a
		}
		if b := set.Child(nsRSM, "before"); b != nil {
			aq.Last = true // <before/> empty: the last page
			if b.Text != "" {
				aq.BeforeID = b.Text
			}
		}
	}
	if len(aq.IDs) > 0 {
		aq.Max = max(len(aq.IDs), 1)
		if len(aq.IDs) > mamPageMax {
			return aq, errors.New("too many ids in one query")
		}
	}
	return aq, nil
}

func mamTime(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, errors.New("a time must be written as XEP-0082 says, e.g. 2026-01-02T15:04:05Z")
	}
	return t, nil
}

// withNick turns a with filter (an occupant's JID, room@gateway/nick)
// into the nick the archive holds.
func (u *user) withNick(v, local string) (string, error) {
	room := u.t.puppet(local)
	if len(v) <= len(room)+1 || v[:len(room)] != room || v[len(room)] != '/' {
		return "", errors.New("with must be an occupant of this room: " + room + "/nick")
	}
	return v[len(room)+1:], nil
}

// mamForm lists the fields a MAM query on a room understands.
func mamForm() *xmlnode.Node {
	x := xmlnode.New(nsData, "x").SetAttr("type", "form").Add(
		xmlnode.New(nsData, "field").SetAttr("type", "hidden").SetAttr("var", "FORM_TYPE").
			Add(xmlnode.Elem(nsData, "value", nsMAM)))
	for _, f := range []struct{ name, typ string }{
		{"with", "jid-single"}, {"start", "text-single"}, {"end", "text-single"},
		{"after-id", "text-single"}, {"before-id", "text-single"}, {"ids", "text-multi"},
	} {
		x.Add(xmlnode.New(nsData, "field").SetAttr("var", f.name).SetAttr("type", f.typ))
	}
	return xmlnode.New(nsMAM, "query").Add(x)
}

// publicHistory reports whether the user may read the room's whole
// history: the operator made the room's network public, the user is
// registered, and they did not turn history off for the room.
func (u *user) publicHistory(local string) bool {
	public := u.t.desc.PublicHistory
	return public != nil && u.acct != nil && public(local) && u.recordHistoryIn(local)
}

// recordHistory is the user's record_history setting (on unless turned
// off).
func (u *user) recordHistory() bool {
	if u.acct != nil {
		if v, ok := bridges.ParseBool(u.acct.Settings[settingRecordHistory]); ok {
			return v
		}
	}
	return true
}

// historySettingChanged applies record_history after it was saved: off
// forgets the user's memberships (nothing said is theirs to read any
// more); on starts them in the rooms they are in.
func (u *user) historySettingChanged(was bool) error {
	switch now := u.recordHistory(); {
	case was && !now:
		u.t.archive.group.Sync() // memberships queued before go too
		ctx, cancel := context.WithTimeout(u.t.ctx, readTimeout)
		defer cancel()
		if err := u.t.store.ForgetArchiveMember(ctx, u.t.domain, u.jid); err != nil {
			return &bridges.Error{Condition: bridges.InternalServer, Text: "history is off, but what was kept could not be forgotten yet; try again", Cause: err}
		}
		for local, r := range u.rooms {
			if r.joined && u.recordHistoryIn(local) { // rooms set to keep it anyway
				u.t.archive.member(u.jid, local, true)
			}
		}
	case !was && now:
		for local, r := range u.rooms {
			if r.joined && u.recordHistoryIn(local) {
				u.t.archive.member(u.jid, local, true)
			}
		}
	}
	return nil
}

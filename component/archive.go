package component

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferry-xmpp/ferry/internal/serial"
	"github.com/ferry-xmpp/ferry/internal/supervise"
	"github.com/ferry-xmpp/ferry/registry"
)

// Room history is stored once per room, however many users hear it: each
// of their sessions reports the same line, so the archiver remembers what
// it heard in the last few seconds and gives a line reported again by
// another session the id (and archive row) of the first report. That id is
// the XEP-0359 stanza-id every user sees, live and in the archive.
//
// Writes go through the same group commit as durable stanzas
// (serial.Group), lingering: one transaction per batch, never one per
// line, and never on the session's goroutine.

// Archive is the store behind room history; registry.Store satisfies it.
type Archive interface {
	ArchiveBatch(ctx context.Context, transport string, writes []registry.ArchiveWrite) error
	QueryArchive(ctx context.Context, transport string, q registry.ArchiveQuery) (registry.ArchivePage, error)
	CloseArchivePeriods(ctx context.Context, transport string, at time.Time) (int, error)
	ArchiveStats(ctx context.Context, transport string) (registry.ArchiveSize, error)
	PruneArchive(ctx context.Context, transport string, now time.Time, keep registry.Retention) (int, error)
	SetRoomRetention(ctx context.Context, transport string, r registry.RoomRetention) error
	RoomRetentions(ctx context.Context, transport string) ([]registry.RoomRetention, error)
	ForgetArchiveMember(ctx context.Context, transport, jid string) error
}

const (
	// heardFor is how long a line is remembered to be recognised when
	// another user's connection reports it: their connections to one
	// server get it within moments of each other.
	heardFor = 10 * time.Second
	// archiveBatch bounds the writes of one transaction.
	archiveBatch = 512
	// archiveLinger is how long the first line of a batch waits for more:
	// a burst's lines then share transactions (one per line would cost
	// more than everything else a line costs). Nobody waits for them: a
	// history or MAM read starts the commit at once (Group.Sync). A crash
	// loses at most this much history (the lines were delivered live).
	archiveLinger = 500 * time.Millisecond
)

type archiver struct {
	db     Archive
	keep   Retention
	domain string
	now    func() time.Time
	log    *slog.Logger
	sup    *supervise.Supervisor
	group  *serial.Group[registry.ArchiveWrite]
	// wake asks the pruner for a round now: an admin changed a room's
	// retention (room-retention).
	wake chan struct{}

	mu    sync.Mutex
	rooms map[string]*heard // folded room local part -> what it heard lately
}

// heard is what one room heard lately, to recognise the same line
// reported by another user's session.
type heard struct {
	last   time.Time            // the newest line's time: times never go back
	byText map[lineText][]*line // lines, oldest first
	order  []*line              // oldest first, for forgetting
}

// lineText is who said what (or set which subject).
type lineText struct {
	nick, body string
	subject    bool
}

type line struct {
	text     lineText
	id       string // the archive id
	external string // the network's msgid, if it gave one
	heardAt  time.Time
	by       []int64 // the sessions that reported it
	// reflected: its sender was shown it (their own line). ownBy is their
	// session until the network echoes the line back to it (IRCv3
	// echo-message), which may also come first.
	reflected bool
	ownBy     int64
}

// Retention is how much history a transport keeps; zero keeps it all.
// An admin may give a room its own (room-retention).
type Retention = registry.Retention

// pruneEvery is how often old history is deleted.
const pruneEvery = time.Hour

func newArchiver(store Archive, keep Retention, domain string, now func() time.Time, log *slog.Logger, sup *supervise.Supervisor) *archiver {
	a := &archiver{db: store, keep: keep, domain: domain, now: now, log: log, sup: sup, rooms: map[string]*heard{}, wake: make(chan struct{}, 1)}
	a.group = serial.NewLingeringGroup(archiveBatch, archiveLinger, a.commit)
	return a
}

// heard recognises a room message reported by session gen, returning its
// archive id; write is the row queued for storing when no other session
// reported it before, else nil. msgid and at are the network's id and
// time, when it gave them.
func (a *archiver) heard(gen int64, room, nick, body, msgid string, at time.Time) (id string, write *registry.ArchiveWrite) {
	return a.hear(gen, lineText{nick, body, false}, room, msgid, at, false)
}

// heardSubject is heard for a change of subject: every user's session
// reports it, the setter's too, and it is stored once.
func (a *archiver) heardSubject(gen int64, room, nick, subject string) *registry.ArchiveWrite {
	_, write := a.hear(gen, lineText{nick, subject, true}, room, "", time.Time{}, false)
	return write
}

// said is heard for the user's own line, as it is reflected to them: the
// network echoing it back to the same session is the same line.
func (a *archiver) said(gen int64, room, nick, body string) (id string, write *registry.ArchiveWrite) {
	return a.hear(gen, lineText{nick, body, false}, room, "", time.Time{}, true)
}

func (a *archiver) hear(gen int64, text lineText, room, msgid string, at time.Time, own bool) (id string, write *registry.ArchiveWrite) {
	now := a.now()
	key := strings.ToLower(room)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sweepOne(now)
	h := a.rooms[key]
	if h == nil {
		h = &heard{byText: map[lineText][]*line{}}
		a.rooms[key] = h
	}
	h.forget(now)
	for _, l := range h.byText[text] {
		switch {
		case own && !l.reflected:
			// Heard already: from another user's session, or echoed
			// to the sender's own before its reflection.
			l.reflected = true
			if !slices.Contains(l.by, gen) {
				l.by, l.ownBy = append(l.by, gen), gen
			}
			return l.id, nil
		case !own && l.ownBy == gen:
			l.ownBy = 0 // the echo of the user's own line
			return l.id, nil
		case !own && !slices.Contains(l.by, gen) && (msgid == "" || l.external == "" || l.external == msgid):
			l.by = append(l.by, gen)
			return l.id, nil
		}
	}
	l := &line{text: text, id: nonEmpty(msgid, archiveID(now)), external: msgid, heardAt: now, by: []int64{gen}}
	if own {
		l.reflected, l.ownBy = true, gen
	}
	h.byText[text] = append(h.byText[text], l)
	h.order = append(h.order, l)
	if at.IsZero() {
		at = now
	}
	if at.Before(h.last) {
		at = h.last // pages are in arrival order, and so are times
	}
	h.last = at
	w := &registry.ArchiveWrite{Room: room, At: at, ID: l.id, Nick: text.nick, Body: text.body, Subject: text.subject}
	// Queued under a.mu, so rows are stored in the order lines were
	// heard, whichever session heard them (the lingering group never
	// waits in Add).
	a.group.Add(*w)
	return l.id, w
}

// sortedIDs is base32 in ASCII order, so ids sort as the bytes they
// encode.
var sortedIDs = base32.NewEncoding("234567abcdefghijklmnopqrstuvwxyz").WithPadding(base32.NoPadding)

// archiveID is Ferry's id for a line the network gave none: the time it
// arrived, then random bytes. Ids that grow with time are appended to
// the archive's id index rather than scattered over it, which halves
// what a batch of lines costs to store.
func archiveID(now time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	_, _ = rand.Read(b[8:])
	return sortedIDs.EncodeToString(b[:])
}

// sweepOne forgets old lines in one room picked at random (map order),
// dropping it when nothing is left: rooms that went quiet are cleaned up
// by the traffic of others, a room per line.
func (a *archiver) sweepOne(now time.Time) {
	for key, h := range a.rooms {
		h.forget(now)
		if len(h.order) == 0 {
			delete(a.rooms, key)
		}
		return
	}
}

// forget drops the lines heard more than heardFor ago.
func (h *heard) forget(now time.Time) {
	n := 0
	for n < len(h.order) && now.Sub(h.order[n].heardAt) > heardFor {
		l := h.order[n]
		rest := h.byText[l.text][1:]
		if len(rest) == 0 {
			delete(h.byText, l.text)
		} else {
			h.byText[l.text] = rest
		}
		h.order[n] = nil
		n++
	}
	h.order = h.order[n:]
}

// store queues a write of history (heard and the like queue their own).
func (a *archiver) store(w *registry.ArchiveWrite) {
	if w != nil {
		a.group.Add(*w)
	}
}

// member records that user is in room from now on (in) or no longer.
func (a *archiver) member(user, room string, in bool) {
	a.group.Add(registry.ArchiveWrite{Room: room, At: a.now(), JID: user, Joined: in})
}

// query reads history once everything queued before is stored.
func (a *archiver) query(ctx context.Context, q registry.ArchiveQuery) (registry.ArchivePage, error) {
	a.group.Sync()
	return a.db.QueryArchive(ctx, a.domain, q)
}

// commit stores one batch; a failure is logged and shown in /healthz (the
// lines were delivered live; only their history is missing).
func (a *archiver) commit(batch []registry.ArchiveWrite) {
	defer a.sup.Recover("archive commit "+a.domain, nil)
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := a.db.ArchiveBatch(ctx, a.domain, batch); err != nil {
		a.log.Error("room history not stored", "writes", len(batch), "error", err)
		a.sup.MarkDown("archive "+a.domain, err.Error())
		return
	}
	a.sup.MarkDown("archive "+a.domain, "")
}

// pruneLoop deletes history beyond the retention at start, then every
// pruneEvery and when woken (pruneSoon), until ctx ends. It runs without
// a transport retention too: an admin may give a room one at any time;
// a round then reads only which rooms have one.
func (a *archiver) pruneLoop(ctx context.Context) error {
	tick := time.NewTicker(pruneEvery)
	defer tick.Stop()
	for {
		a.prune(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-a.wake:
		}
	}
}

// pruneSoon asks the pruner for a round now, without waiting for it; a
// round already asked for does.
func (a *archiver) pruneSoon() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// prune deletes what the retention no longer keeps; failures are logged
// and tried again on the next round.
func (a *archiver) prune(ctx context.Context) {
	a.group.Sync() // what is queued is pruned like the rest
	n, err := a.db.PruneArchive(ctx, a.domain, a.now(), a.keep)
	switch {
	case err != nil && ctx.Err() == nil:
		a.log.Error("pruning room history", "error", err)
		a.sup.MarkDown("archive prune "+a.domain, err.Error())
	case err == nil:
		a.sup.MarkDown("archive prune "+a.domain, "")
		if n > 0 {
			a.log.Info("pruned room history", "messages", n)
		}
	}
}

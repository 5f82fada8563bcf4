package component

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ferry-xmpp/ferry/internal/serial"
	"github.com/ferry-xmpp/ferry/internal/supervise"
	"github.com/ferry-xmpp/ferry/registry"
)

// Outbox is the store behind durable stanzas; registry.Store satisfies it.
type Outbox interface {
	EnqueueBatch(ctx context.Context, transport string, entries []registry.OutboxEntry) ([]registry.OutboxResult, error)
	PendingAfter(ctx context.Context, transport string, after int64, limit int) ([]registry.Outbound, error)
	AckThrough(ctx context.Context, transport string, id int64) (int, error)
}

// durable carries stanzas a person must not lose (1:1 messages, receipts,
// delivery errors) from the bridges to the link's writer:
//
//   - commit stores them in the outbox in groups: whoever arrives while a
//     transaction runs joins the next one, so a burst costs one fsync per
//     group, not one per message. A caller returns once its stanza is
//     stored.
//   - the stored stanzas are handed to the writer in id order, in memory;
//     the writer reads the store only after a reconnect or when more
//     piled up than memory holds (replay).
//   - the writer acknowledges what it wrote through a ping: once the
//     server answers it, everything before is processed and the rows are
//     deleted in one statement, off the writer's goroutine.
type durable struct {
	store  Outbox
	domain string
	sup    *supervise.Supervisor
	wake   chan struct{} // the writer's

	group *serial.Group[*durableReq] // stanzas waiting for the next transaction

	qmu    sync.Mutex
	queue  []durableItem // stored, not yet taken by the writer; ids increasing
	replay bool          // the writer must read the store from its last id on

	ackMu      sync.Mutex
	acking     bool
	ackThrough int64 // highest id confirmed by the server, not yet deleted
}

// durableItem is a stored stanza, ready to write.
type durableItem struct {
	id  int64
	raw []byte
	at  time.Time // when it was stored
}

type durableReq struct {
	entry registry.OutboxEntry
	res   registry.OutboxResult
	err   error
	done  chan struct{}
}

const (
	commitBatch    = 512  // stanzas per transaction at most
	durableInQueue = 4096 // stored stanzas held in memory for the writer
	replayPage     = 512  // rows read from the store per writer pass
	storeTimeout   = 30 * time.Second
)

// errStore wraps failures of the database behind durable stanzas.
var errStore = errors.New("component: storing the stanza failed")

func newDurable(store Outbox, domain string, sup *supervise.Supervisor, wake chan struct{}) *durable {
	d := &durable{store: store, domain: domain, sup: sup, wake: wake, replay: true}
	d.group = serial.NewGroup(commitBatch, d.commitBatch)
	return d
}

// commit stores one stanza (with its legacy id mapping, if any) and
// returns once it is stored, with what became of it: a Dup result means
// the legacy message was stored before and nothing was stored now.
func (d *durable) commit(ctx context.Context, e registry.OutboxEntry) (registry.OutboxResult, error) {
	req := &durableReq{entry: e, done: make(chan struct{})}
	// Nobody committing: this caller stores its own batch; whatever
	// arrives meanwhile is committed by a goroutine of the pool.
	d.group.Add(req)
	select {
	case <-req.done:
		return req.res, req.err
	case <-ctx.Done():
		// The stanza may still be stored and delivered: at least once.
		return registry.OutboxResult{}, ctx.Err()
	}
}

func (d *durable) commitBatch(batch []*durableReq) {
	panicked := false
	defer func() {
		if panicked {
			d.finish(batch, nil, fmt.Errorf("%w: internal error", errStore))
		}
	}()
	defer d.sup.Recover("outbox commit "+d.domain, &panicked)
	entries := make([]registry.OutboxEntry, len(batch))
	for i, r := range batch {
		entries[i] = r.entry
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	results, err := d.store.EnqueueBatch(ctx, d.domain, entries)
	if err != nil {
		err = fmt.Errorf("%w: %w", errStore, err)
	}
	d.finish(batch, results, err)
}

// finish hands what was stored to the writer, in id order, then releases
// the callers.
func (d *durable) finish(batch []*durableReq, results []registry.OutboxResult, err error) {
	if err == nil {
		items := make([]durableItem, 0, len(batch))
		now := time.Now()
		for i, res := range results {
			if res.ID != 0 {
				items = append(items, durableItem{id: res.ID, raw: batch[i].entry.Stanza, at: now})
			}
		}
		d.handOff(items)
	}
	for i, r := range batch {
		if err != nil {
			r.err = err
		} else {
			r.res = results[i]
		}
		close(r.done)
	}
}

func (d *durable) handOff(items []durableItem) {
	if len(items) == 0 {
		return
	}
	d.qmu.Lock()
	if d.replay || len(d.queue)+len(items) > durableInQueue {
		// They are stored: the writer reads them back when it gets there.
		d.replay, d.queue = true, nil
	} else {
		d.queue = append(d.queue, items...)
	}
	d.qmu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// restart makes the writer resend everything not yet acknowledged (a new
// stream: what was written on the old one may be lost).
func (d *durable) restart() {
	d.qmu.Lock()
	d.replay, d.queue = true, nil
	d.qmu.Unlock()
}

// take gives the writer the stanzas to write next, after id last (the
// highest it wrote on this stream): from memory, or a page from the store
// when it must replay. more is true when the writer should come back at
// once for the rest.
func (d *durable) take(ctx context.Context, last int64) (items []durableItem, more bool, err error) {
	d.qmu.Lock()
	replay := d.replay
	d.replay = false
	queued := d.queue
	d.queue = nil
	d.qmu.Unlock()
	if !replay {
		for len(queued) > 0 && queued[0].id <= last {
			queued = queued[1:] // already read back from the store
		}
		return queued, false, nil
	}
	// Whatever was queued is stored too, so the replay covers it.
	rows, err := d.store.PendingAfter(ctx, d.domain, last, replayPage)
	if err != nil {
		d.qmu.Lock()
		d.replay = true
		d.qmu.Unlock()
		return nil, false, fmt.Errorf("%w: reading the outbox: %w", errStore, err)
	}
	for _, r := range rows {
		items = append(items, durableItem{id: r.ID, raw: r.Stanza, at: r.CreatedAt})
	}
	if len(rows) == replayPage {
		d.qmu.Lock()
		d.replay = true
		d.qmu.Unlock()
		more = true
	}
	return items, more, nil
}

// ack deletes every stored stanza up to id, which the server has
// processed, off the caller's goroutine. Acks arriving while a deletion
// runs are merged into the next one, so a busy link pays one statement
// per round rather than one per stanza, and an idle one deletes at once
// (rows left behind by a crash are sent again on the next run).
func (d *durable) ack(id int64) {
	d.ackMu.Lock()
	if id > d.ackThrough {
		d.ackThrough = id
	}
	start := !d.acking
	d.acking = true
	d.ackMu.Unlock()
	if start {
		serial.Go(func() {
			defer d.sup.Recover("outbox ack "+d.domain, nil)
			d.ackLoop()
		})
	}
}

func (d *durable) ackLoop() {
	var done int64
	for {
		d.ackMu.Lock()
		id := d.ackThrough
		if id <= done {
			d.acking = false
			d.ackMu.Unlock()
			return
		}
		d.ackMu.Unlock()
		if err := d.ackNow(id); err != nil {
			d.sup.MarkDown("outbox "+d.domain, err.Error())
			d.ackMu.Lock()
			d.acking = false
			d.ackMu.Unlock()
			return // the rows stay; a later ack or a restart's replay covers them
		}
		d.sup.MarkDown("outbox "+d.domain, "")
		done = id
	}
}

// ackNow deletes through id synchronously (for shutdown, and ackLoop).
func (d *durable) ackNow(id int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if _, err := d.store.AckThrough(ctx, d.domain, id); err != nil {
		return fmt.Errorf("%w: acknowledging through %d: %w", errStore, id, err)
	}
	return nil
}

// appendStored appends a stored stanza to buf; a message written more than
// lateAfter after it was stored gets an XEP-0203 delay with the time it
// was stored, unless it carries one (the network's own time) already.
func appendStored(buf []byte, it durableItem, domain string, now time.Time) []byte {
	raw := it.raw
	const end = "</message>"
	if now.Sub(it.at) <= lateAfter || !bytes.HasPrefix(raw, []byte("<message")) ||
		!bytes.HasSuffix(raw, []byte(end)) || bytes.Contains(raw, []byte(nsDelay)) {
		return append(buf, raw...)
	}
	buf = append(buf, raw[:len(raw)-len(end)]...)
	buf = delayElem(domain, it.at).AppendXML(buf)
	return append(buf, end...)
}

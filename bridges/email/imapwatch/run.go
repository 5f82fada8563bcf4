package imapwatch

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ferry-xmpp/ferry/internal/backoff"
)

// State is what must survive restarts for one folder: the folder's
// UIDVALIDITY and the highest UID taken by the Handler (or passed over by the
// first sync). Mail with a higher UID is new.
type State struct{ UIDValidity, LastUID uint32 }

// StateStore persists State per folder (the caller backs it with SQLite).
// Load reports ok = false when nothing was saved for the folder yet. Run
// calls them from its own goroutine only.
type StateStore interface {
	Load(ctx context.Context, folder string) (st State, ok bool, err error)
	Save(ctx context.Context, folder string, st State) error
}

// Mail is one new message.
type Mail struct {
	Folder      string
	UIDValidity uint32
	UID         uint32
	Raw         []byte // the message as stored on the server (RFC 5322), at most Config.MaxSize bytes
	Size        int64  // the full size the server reports (RFC822.SIZE)
	Truncated   bool   // Raw is only the first MaxSize bytes of the message
}

// Handler takes one mail. It returns nil once the mail is durably taken (for
// example committed to a database): the worker then saves LastUID = UID and,
// if Config.MarkRead, sets \Seen. A non-nil error stops this pass: the worker
// hands the same mail again after a backoff, and goes on with later mail only
// once it has been taken.
//
// Exactly once holds as far as the StateStore does: if the process dies (or
// Save fails) between the Handler's return and the save, the mail is handed
// again after the restart. A Handler must therefore tolerate seeing a mail a
// second time, for example by recording (UIDValidity, UID) or the Message-ID
// in the same transaction as the mail and ignoring what it already has.
//
// The Handler runs in Run's goroutine and gets Run's ctx.
type Handler func(ctx context.Context, m Mail) error

// Config configures Run. Only Server is required.
type Config struct {
	Server       Server
	Folder       string        // default "INBOX"
	Backlog      int           // on the first sync (no saved state, or UIDVALIDITY changed): deliver at most the newest Backlog mails (0 = none, only mail arriving from now on)
	MarkRead     bool          // set \Seen on each mail taken (the folder is SELECTed; otherwise EXAMINEd, read-only)
	MaxSize      int64         // fetch at most this many bytes of a mail (BODY.PEEK[]<0.MaxSize>), default 25 MiB; Mail.Truncated tells when cut
	PollInterval time.Duration // when the server has no IDLE, or as a safety net: re-check this often; default 2 min
	IdleRestart  time.Duration // re-issue IDLE this often (RFC 2177 says < 29 min); default 25 min

	// Reconnect backoff, capped exponential with jitter; defaults 2s and
	// 5 min. A failing Handler or StateStore is retried with the same
	// backoff, on the same connection.
	BackoffMin, BackoffMax time.Duration

	// Status, optional, is called on every connect (true, nil) and
	// disconnect, and after every failed attempt to connect (false, reason;
	// the reason is an *Error when known, nil when Run stops because its
	// context ended). It runs in Run's goroutine.
	Status func(connected bool, err error)
	Logger *slog.Logger // optional
}

// Defaults for Config.
const (
	defaultFolder       = "INBOX"
	defaultMaxSize      = 25 << 20
	defaultPollInterval = 2 * time.Minute
	defaultIdleRestart  = 25 * time.Minute
	defaultBackoffMin   = 2 * time.Second
	defaultBackoffMax   = 5 * time.Minute
)

// stableSession is how long a connection must have lasted for the next
// reconnect to start again at BackoffMin: a server that drops every session
// right after login is not hammered.
const stableSession = time.Minute

func (cfg Config) withDefaults() Config {
	if cfg.Folder == "" {
		cfg.Folder = defaultFolder
	}
	cfg.Backlog = max(cfg.Backlog, 0)
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = defaultMaxSize
	}
	cfg.MaxSize = min(cfg.MaxSize, math.MaxUint32) // a FETCH partial size is a 32-bit number
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = defaultPollInterval
	}
	if cfg.IdleRestart <= 0 {
		cfg.IdleRestart = defaultIdleRestart
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = defaultBackoffMin
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = defaultBackoffMax
	}
	cfg.BackoffMax = max(cfg.BackoffMax, cfg.BackoffMin)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// Run watches cfg.Folder until ctx ends, and then returns nil; it returns an
// error at once only if store or h is nil.
//
// Per connection it logs in (Dial), SELECTs the folder (EXAMINEs it unless
// MarkRead), compares UIDVALIDITY with the saved state, and on a first sync
// (no state, or UIDVALIDITY changed) starts after all but the newest Backlog
// mails. It then fetches every mail with a UID above LastUID in ascending
// order, hands each to h and saves the state after each. Then it waits: in
// IDLE when the server has it, until the server reports new mail (EXISTS),
// PollInterval or IdleRestart passes, or ctx ends; without IDLE it sends a
// NOOP every PollInterval. Each wait ends with a NOOP round trip, and every
// command has the Server's Timeout, so a dead connection is noticed.
//
// Network errors make it reconnect with backoff. When the server refuses the
// login (an *Error with Auth) it reports that to Status and keeps trying
// every BackoffMax, never faster, since the user may fix the password on the
// server's side.
func Run(ctx context.Context, cfg Config, store StateStore, h Handler) error {
	return run(ctx, cfg, store, h, hooks{})
}

// hooks are for tests.
type hooks struct {
	noIdle  bool   // act as if the server had no IDLE
	waiting func() // called whenever the worker starts waiting for new mail
}

// worker is one Run.
type worker struct {
	cfg   Config
	store StateStore
	h     Handler
	log   *slog.Logger
	hooks hooks

	loaded bool  // store.Load succeeded
	have   bool  // state holds the folder's state
	dirty  bool  // state has not been saved
	state  State // authoritative while Run runs
}

func run(ctx context.Context, cfg Config, store StateStore, h Handler, hk hooks) error {
	if store == nil || h == nil {
		return errors.New("imapwatch: Run needs a StateStore and a Handler")
	}
	cfg = cfg.withDefaults()
	w := &worker{
		cfg:   cfg,
		store: store,
		h:     h,
		log:   cfg.Logger.With("addr", cfg.Server.Addr, "user", cfg.Server.Username, "folder", cfg.Folder),
		hooks: hk,
	}
	fails := 0
	for ctx.Err() == nil {
		if !w.loaded {
			st, ok, err := store.Load(ctx, cfg.Folder)
			if err != nil {
				delay := w.backoff(fails)
				fails++
				w.log.Warn("imapwatch: cannot load the folder state", "err", err, "retry_in", delay)
				sleep(ctx, delay)
				continue
			}
			w.loaded, w.have, w.state = true, ok, st
		}
		start := time.Now()
		connected, err := w.session(ctx)
		if ctx.Err() != nil {
			if connected {
				w.status(false, nil)
			}
			break
		}
		w.status(false, err)
		var delay time.Duration
		if e := (*Error)(nil); errors.As(err, &e) && e.Auth {
			delay = cfg.BackoffMax
			w.log.Warn("imapwatch: login refused", "err", err, "cause", e.Cause, "retry_in", delay)
		} else {
			if connected && time.Since(start) >= stableSession {
				fails = 0
			}
			delay = w.backoff(fails)
			fails++
			msg := "imapwatch: cannot connect"
			if connected {
				msg = "imapwatch: disconnected"
			}
			w.log.Warn(msg, "err", err, "cause", errors.Unwrap(err), "retry_in", delay)
		}
		sleep(ctx, delay)
	}
	return nil
}

func (w *worker) status(connected bool, err error) {
	if w.cfg.Status != nil {
		w.cfg.Status(connected, err)
	}
}

// backoff is the delay before retry number n+1 (n counts from 0): BackoffMin
// doubled n times, plus up to half of that again at random so that workers
// that failed together (a server restart) do not retry together, and at most
// BackoffMax.
func (w *worker) backoff(n int) time.Duration {
	return backoff.Delay(w.cfg.BackoffMin, w.cfg.BackoffMax, n)
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// passError is a failure of the Handler or the StateStore: the worker retries
// it on the same connection.
type passError struct {
	what string
	err  error
}

func (e *passError) Error() string { return e.what + ": " + e.err.Error() }
func (e *passError) Unwrap() error { return e.err }

// session runs one connection until it fails or ctx ends. connected tells
// whether it got as far as opening the folder (and so called Status(true)).
func (w *worker) session(ctx context.Context) (connected bool, err error) {
	// exists gets a token whenever the server reports the number of messages
	// (EXISTS), in IDLE or in the answer to any command. The handler runs in
	// the client's reading goroutine and must not block.
	exists := make(chan struct{}, 1)
	opts := &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case exists <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	c, err := Dial(ctx, w.cfg.Server, opts)
	if err != nil {
		return false, err
	}
	defer c.Close()
	cn := &conn{c: c, s: w.cfg.Server}
	timeout := w.cfg.Server.timeout()

	var sel *imap.SelectData
	err = cn.do(ctx, timeout, "open the folder "+strconv.Quote(w.cfg.Folder), func() error {
		var err error
		sel, err = c.Select(w.cfg.Folder, &imap.SelectOptions{ReadOnly: !w.cfg.MarkRead}).Wait()
		return err
	})
	if err != nil {
		return false, err
	}
	var caps imap.CapSet
	err = cn.do(ctx, timeout, "list its capabilities", func() error {
		caps = c.Caps()
		return nil
	})
	if err != nil {
		return false, err
	}
	idle := caps.Has(imap.CapIdle) && !w.hooks.noIdle
	w.log.Info("imapwatch: connected", "idle", idle, "uidvalidity", sel.UIDValidity, "uidnext", sel.UIDNext, "messages", sel.NumMessages)
	w.status(true, nil)

	if err := w.resume(ctx, cn, sel); err != nil {
		return true, err
	}
	fails := 0
	for {
		err := w.pass(ctx, cn, exists)
		if pe := (*passError)(nil); errors.As(err, &pe) {
			if ctx.Err() != nil {
				return true, nil
			}
			delay := w.backoff(fails)
			fails++
			w.log.Warn("imapwatch: cannot take new mail", "err", err, "retry_in", delay)
			if err := w.pause(ctx, cn, delay); err != nil {
				return true, err
			}
			continue
		}
		if err != nil {
			return true, err
		}
		fails = 0
		if err := w.wait(ctx, cn, idle, exists); err != nil {
			return true, err
		}
	}
}

// resume sets the state to go on from after SELECT: the saved one, or a new
// one on a first sync.
func (w *worker) resume(ctx context.Context, cn *conn, sel *imap.SelectData) error {
	uidNext := uint32(sel.UIDNext)
	st, first, fixed := resumeState(w.state, w.have, sel.UIDValidity, uidNext)
	if !first {
		if fixed {
			w.log.Warn("imapwatch: saved LastUID is beyond UIDNEXT; going on from UIDNEXT", "last_uid", w.state.LastUID, "uidnext", uidNext)
			w.state, w.dirty = st, true
		}
		return nil
	}
	last, err := firstSyncLastUID(uidNext, sel.NumMessages, w.cfg.Backlog, func(seq uint32) (uint32, error) {
		return cn.uidAt(ctx, seq)
	})
	if err != nil {
		return err
	}
	if w.have {
		w.log.Warn("imapwatch: UIDVALIDITY changed: the folder was reset; syncing afresh", "old", w.state.UIDValidity, "new", sel.UIDValidity)
	}
	w.log.Info("imapwatch: first sync", "uidvalidity", sel.UIDValidity, "last_uid", last, "backlog", w.cfg.Backlog)
	w.state = State{UIDValidity: sel.UIDValidity, LastUID: last}
	w.have, w.dirty = true, true
	return nil
}

// resumeState decides, from the saved state (have = false: none) and what
// SELECT reported, whether this is a first sync. If it is not, st is the
// state to go on from: the saved one, or, if its LastUID is not below
// UIDNEXT (which a server restored from a backup can cause), fixed = true
// and LastUID = UIDNEXT-1, so that the next mail the server stores is
// delivered and none that exists now is delivered again.
func resumeState(saved State, have bool, uidValidity, uidNext uint32) (st State, first, fixed bool) {
	if !have || saved.UIDValidity != uidValidity {
		return State{}, true, false
	}
	if uidNext > 0 && saved.LastUID >= uidNext {
		return State{UIDValidity: uidValidity, LastUID: uidNext - 1}, false, true
	}
	return saved, false, false
}

// firstSyncLastUID is the LastUID of a first sync: the one that makes the
// newest backlog mails, in UID order, the new ones. uidNext is 0 if the
// server did not report it. uidAt returns the UID of the message with a
// sequence number (sequence numbers go up with UIDs).
func firstSyncLastUID(uidNext, numMessages uint32, backlog int, uidAt func(seq uint32) (uint32, error)) (uint32, error) {
	if numMessages == 0 || backlog <= 0 {
		if uidNext > 0 {
			return uidNext - 1, nil
		}
		if numMessages == 0 {
			return 0, nil
		}
		return uidAt(numMessages) // the newest mail
	}
	seq := uint32(1)
	if uint64(numMessages) > uint64(backlog) {
		seq = numMessages - uint32(backlog) + 1
	}
	uid, err := uidAt(seq)
	if err != nil {
		return 0, err
	}
	return uid - 1, nil
}

// uidAt returns the UID of the message with sequence number seq.
func (cn *conn) uidAt(ctx context.Context, seq uint32) (uint32, error) {
	var uid imap.UID
	err := cn.do(ctx, cn.s.timeout(), "look up the newest mail", func() error {
		msgs, err := cn.c.Fetch(imap.SeqSetNum(seq), &imap.FetchOptions{UID: true}).Collect()
		for _, m := range msgs {
			if m.SeqNum == seq {
				uid = m.UID
			}
		}
		return err
	})
	if err == nil && uid == 0 {
		err = newError(cn.s, false, nil, "%s did not tell the UID of message %d", cn.s.host(), seq)
	}
	return uint32(uid), err
}

// flush saves the state if it changed. It saves even when ctx has ended (the
// Handler may have taken a mail just before), within the Server's Timeout.
func (w *worker) flush(ctx context.Context) error {
	if !w.dirty {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.Server.timeout())
	defer cancel()
	if err := w.store.Save(sctx, w.cfg.Folder, w.state); err != nil {
		return &passError{what: "saving the folder state", err: err}
	}
	w.dirty = false
	return nil
}

// newMail is a listed mail not yet taken.
type newMail struct {
	uid  uint32
	size int64
}

// pass fetches every mail above LastUID in UID order and hands each to the
// Handler.
func (w *worker) pass(ctx context.Context, cn *conn, exists chan struct{}) error {
	// EXISTS reported from now on may be about mail this pass does not see.
	select {
	case <-exists:
	default:
	}
	if err := w.flush(ctx); err != nil {
		return err
	}
	list, err := w.list(ctx, cn)
	if err != nil {
		return err
	}
	for _, nm := range list {
		m, ok, err := w.fetch(ctx, cn, nm)
		if err != nil {
			return err
		}
		if !ok {
			// Expunged since it was listed: UIDs are never reused, so it
			// can be passed over.
			w.log.Debug("imapwatch: mail vanished before it was fetched", "uid", nm.uid)
			w.state.LastUID, w.dirty = nm.uid, true
			continue
		}
		if err := w.h(ctx, m); err != nil {
			return &passError{what: "handler refused mail " + strconv.FormatUint(uint64(nm.uid), 10), err: err}
		}
		w.state.LastUID, w.dirty = nm.uid, true
		w.log.Debug("imapwatch: mail taken", "uid", nm.uid, "size", m.Size, "truncated", m.Truncated)
		if err := w.flush(ctx); err != nil {
			return err
		}
		if w.cfg.MarkRead {
			if err := w.markRead(ctx, cn, nm.uid); err != nil {
				return err
			}
		}
	}
	return nil
}

// list returns the mails with a UID above LastUID, in ascending UID order.
func (w *worker) list(ctx context.Context, cn *conn) ([]newMail, error) {
	last := w.state.LastUID
	if last == math.MaxUint32 {
		return nil, nil
	}
	var set imap.UIDSet
	set.AddRange(imap.UID(last+1), 0) // last+1:*
	var list []newMail
	err := cn.do(ctx, cn.s.timeout(), "list new mail", func() error {
		msgs, err := cn.c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
		for _, m := range msgs {
			// "N:*" always matches the highest message, even if its UID
			// is below N.
			if uint32(m.UID) > last {
				list = append(list, newMail{uid: uint32(m.UID), size: m.RFC822Size})
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b newMail) int { return cmp.Compare(a.uid, b.uid) })
	list = slices.CompactFunc(list, func(a, b newMail) bool { return a.uid == b.uid })
	return list, nil
}

// fetch fetches one mail, at most MaxSize bytes of it. ok is false if the
// server no longer has it.
func (w *worker) fetch(ctx context.Context, cn *conn, nm newMail) (m Mail, ok bool, err error) {
	limit := w.cfg.MaxSize
	section := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 0, Size: limit}}
	m = Mail{Folder: w.cfg.Folder, UIDValidity: w.state.UIDValidity, UID: nm.uid, Size: nm.size}
	expect := limit
	if nm.size > 0 {
		expect = min(nm.size, limit)
	}
	err = cn.do(ctx, transferTimeout(cn.s.timeout(), expect), "fetch a mail", func() error {
		var err error
		m.Raw, m.Size, ok, err = fetchBody(cn.c, nm.uid, section, limit)
		return err
	})
	if err != nil || !ok {
		return Mail{}, false, err
	}
	if m.Size <= 0 {
		m.Size = nm.size
	}
	m.Truncated = int64(len(m.Raw)) >= limit && m.Size != limit
	if m.Size <= 0 && !m.Truncated {
		m.Size = int64(len(m.Raw))
	}
	return m, true, nil
}

// fetchBody fetches the body section of the mail with uid, reading at most
// limit bytes of it. ok is false if the server returned no such mail.
func fetchBody(c *imapclient.Client, uid uint32, section *imap.FetchItemBodySection, limit int64) (raw []byte, size int64, ok bool, err error) {
	cmd := c.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{
		UID:         true,
		RFC822Size:  true,
		BodySection: []*imap.FetchItemBodySection{section},
	})
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		var gotUID, gotBody bool
		var body []byte
		var n int64
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch item := item.(type) {
			case imapclient.FetchItemDataUID:
				gotUID = uint32(item.UID) == uid
			case imapclient.FetchItemDataRFC822Size:
				n = item.Size
			case imapclient.FetchItemDataBodySection:
				gotBody = true
				if item.Literal == nil {
					continue
				}
				b, rerr := io.ReadAll(io.LimitReader(item.Literal, limit))
				if rerr != nil {
					cmd.Close()
					return nil, 0, false, rerr
				}
				body = b
			}
		}
		if gotUID && gotBody {
			raw, size, ok = body, n, true
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, 0, false, err
	}
	if raw == nil {
		raw = []byte{}
	}
	return raw, size, ok, nil
}

// markRead sets \Seen on a taken mail. The server refusing it (a read-only
// folder, say) is logged, not retried: the mail has been taken.
func (w *worker) markRead(ctx context.Context, cn *conn, uid uint32) error {
	err := cn.do(ctx, cn.s.timeout(), "mark a mail as read", func() error {
		return cn.c.Store(imap.UIDSetNum(imap.UID(uid)), &imap.StoreFlags{
			Op:     imap.StoreFlagsAdd,
			Silent: true,
			Flags:  []imap.Flag{imap.FlagSeen},
		}, nil).Close()
	})
	if e := (*imap.Error)(nil); errors.As(err, &e) {
		w.log.Warn("imapwatch: cannot mark mail as read", "uid", uid, "err", err)
		return nil
	}
	return err
}

// wait waits for new mail: in IDLE if useIdle, else for PollInterval; then
// checks with a NOOP that the connection is alive (and lets the server
// report new mail).
func (w *worker) wait(ctx context.Context, cn *conn, useIdle bool, exists chan struct{}) error {
	timeout := cn.s.timeout()
	d := w.cfg.PollInterval
	var ic *imapclient.IdleCommand
	if useIdle {
		d = min(d, w.cfg.IdleRestart)
		err := cn.do(ctx, timeout, "start IDLE", func() error {
			var err error
			ic, err = cn.c.Idle()
			return err
		})
		if err != nil {
			return err
		}
	}
	if w.hooks.waiting != nil {
		w.hooks.waiting()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-cn.c.Closed():
		return cn.fail("", io.ErrUnexpectedEOF)
	case <-exists:
	case <-t.C:
	}
	if ic != nil {
		err := cn.do(ctx, timeout, "stop IDLE", func() error {
			if err := ic.Close(); err != nil {
				return err
			}
			return ic.Wait()
		})
		if err != nil {
			return err
		}
	}
	return cn.noop(ctx)
}

// pause waits for d before a pass is retried, watching the connection.
func (w *worker) pause(ctx context.Context, cn *conn, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-cn.c.Closed():
		return cn.fail("", io.ErrUnexpectedEOF)
	case <-t.C:
	}
	return cn.noop(ctx)
}

func (cn *conn) noop(ctx context.Context) error {
	return cn.do(ctx, cn.s.timeout(), "check for new mail", func() error { return cn.c.Noop().Wait() })
}

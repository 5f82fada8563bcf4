package email

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/email/imapwatch"
	"github.com/ferry-xmpp/ferry/bridges/email/submit"
	"github.com/ferry-xmpp/ferry/internal/backoff"
)

// Per-account settings.
const (
	settingFolders   = "folders"
	settingBacklog   = "backlog"
	settingMarkRead  = "mark_read"
	settingSignature = "signature"
	settingSaveSent  = "save_sent"
	settingSentBox   = "sent_folder"
)

func (b *Bridge) settingsFields() []bridges.Field {
	return []bridges.Field{
		{Var: settingFolders, Label: "Folders to watch", Type: bridges.TextSingle, Default: "INBOX",
			Desc: "Comma-separated IMAP folder names, e.g. INBOX, Lists (at most 8). Add Sent to see mail you send from other mail clients in your chats, where your XMPP server allows it."},
		{Var: settingBacklog, Label: "Old mails shown when a folder is first watched", Type: bridges.TextSingle,
			Default: strconv.Itoa(b.opts.Backlog), Desc: fmt.Sprintf("0 to %d.", b.opts.MaxBacklog)},
		{Var: settingMarkRead, Label: "Mark mail read once it reached me", Type: bridges.Boolean, Default: "false"},
		{Var: settingSignature, Label: "Signature added to mail I send", Type: bridges.TextSingle,
			Desc: "One line; \\n starts a new one."},
		{Var: settingSaveSent, Label: "Keep a copy of mail I send in my mailbox", Type: bridges.Boolean, Default: "true"},
		{Var: settingSentBox, Label: "Folder for those copies", Type: bridges.TextSingle,
			Desc: "Empty: the folder your server marks as Sent, else \"Sent\"."},
	}
}

// maxFolders bounds the folders one account watches (one IMAP connection
// each; servers limit connections per user, Dovecot to 10 by default).
const maxFolders = 8

// prefs are the parsed settings of one account.
type prefs struct {
	Folders   []string
	Backlog   int
	MarkRead  bool
	Signature string
	SaveSent  bool
	SentBox   string
}

func (b *Bridge) parsePrefs(s map[string]string) prefs {
	p := prefs{Backlog: b.opts.Backlog}
	for _, f := range strings.Split(s[settingFolders], ",") {
		// Each folder is a connection of its own: a bounded, distinct few.
		f = strings.TrimSpace(f)
		if f != "" && !strings.ContainsAny(f, "\r\n\x00") && !slices.Contains(p.Folders, f) && len(p.Folders) < maxFolders {
			p.Folders = append(p.Folders, f)
		}
	}
	if len(p.Folders) == 0 {
		p.Folders = []string{"INBOX"}
	}
	if n, err := strconv.Atoi(strings.TrimSpace(s[settingBacklog])); err == nil {
		p.Backlog = min(max(n, 0), b.opts.MaxBacklog)
	}
	p.MarkRead, _ = strconv.ParseBool(s[settingMarkRead])
	p.SaveSent = true
	if v, err := strconv.ParseBool(s[settingSaveSent]); err == nil {
		p.SaveSent = v
	}
	if f := strings.TrimSpace(s[settingSentBox]); !strings.ContainsAny(f, "\r\n\x00") {
		p.SentBox = f
	}
	p.Signature = strings.ReplaceAll(s[settingSignature], `\n`, "\n")
	return p
}

// session is one account: its folder watchers and its sink.
type session struct {
	b    *Bridge
	jid  string
	acct account
	sink bridges.Events
	log  *slog.Logger

	mu       sync.Mutex
	prefs    prefs
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	watchers map[string]watcherState // folder -> last report
	closed   bool
}

type watcherState struct {
	connected bool
	err       error
}

func newSession(b *Bridge, jid string, a account, settings map[string]string, sink bridges.Events) *session {
	return &session{b: b, jid: jid, acct: a, sink: sink, prefs: b.parsePrefs(settings),
		log: b.log.With("user", jid)}
}

// start launches one watcher per folder.
func (s *session) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.acct.Email == "" {
		s.sink.Status(bridges.Connected, "Relay addresses only (no mailbox registered)")
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.watchers = map[string]watcherState{}
	s.sink.Status(bridges.Connecting, "Connecting to "+s.acct.IMAP.addr())
	for _, folder := range s.prefs.Folders {
		s.watchers[folder] = watcherState{}
		cfg := imapwatch.Config{
			Server: s.acct.imapServer(), Folder: folder, Backlog: s.prefs.Backlog, MarkRead: s.prefs.MarkRead,
			MaxSize: s.b.opts.MaxMailSize, PollInterval: s.b.opts.PollInterval, Logger: s.log,
			Status: func(connected bool, err error) { s.watcherStatus(folder, connected, err) },
		}
		store := folderState{b: s.b, jid: s.jid, account: s.acct.Email}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			// A panic (a bug) restarts the watcher after a pause rather
			// than leaving the folder unwatched until the next login.
			for n := 0; ctx.Err() == nil; n++ {
				if !s.watch(ctx, cfg, store) {
					return
				}
				t := time.NewTimer(backoff.Delay(time.Second, time.Minute, n))
				select {
				case <-ctx.Done():
				case <-t.C:
				}
				t.Stop()
			}
		}()
	}
}

// watch runs one folder's watcher; it reports whether it panicked.
func (s *session) watch(ctx context.Context, cfg imapwatch.Config, store folderState) (panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("mail watcher panicked; restarting it", "folder", cfg.Folder, "panic", r, "stack", string(debug.Stack()))
			panicked = true
		}
	}()
	if err := imapwatch.Run(ctx, cfg, store, s.handleMail); err != nil && ctx.Err() == nil {
		s.log.Error("mail watcher stopped", "folder", cfg.Folder, "error", err)
	}
	return false
}

// stop ends the watchers and waits for them.
func (s *session) stop() {
	s.mu.Lock()
	cancel := s.cancel
	s.cancel = nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.wg.Wait()
}

// watcherStatus folds the folders' states into the account's state.
func (s *session) watcherStatus(folder string, connected bool, err error) {
	s.mu.Lock()
	if s.closed || s.watchers == nil {
		s.mu.Unlock()
		return
	}
	s.watchers[folder] = watcherState{connected: connected, err: err}
	var up, total int
	var authErr, lastErr error
	for _, w := range s.watchers {
		total++
		if w.connected {
			up++
		}
		var ie *imapwatch.Error
		if errors.As(w.err, &ie) && ie.Auth {
			authErr = w.err
		} else if w.err != nil {
			lastErr = w.err
		}
	}
	folders := strings.Join(s.prefs.Folders, ", ")
	s.mu.Unlock()
	switch {
	case authErr != nil:
		s.sink.Status(bridges.Failed, "Mail login refused: "+errorText(authErr)+" (register again with the right password)")
	case up == total:
		s.sink.Status(bridges.Connected, "Watching "+folders+" of "+s.acct.Email)
	case lastErr != nil:
		s.sink.Status(bridges.Connecting, "Reconnecting to "+s.acct.IMAP.addr()+": "+errorText(lastErr))
	default:
		s.sink.Status(bridges.Connecting, "Connecting to "+s.acct.IMAP.addr())
	}
}

// errorText is what a user is told about err: a server that was not
// reached in the same words whatever the cause (reach.go), else the
// server's or the bridge's own text.
func errorText(err error) string {
	if isUnreachable(err) {
		return "the server " + unreachableText
	}
	var ie *imapwatch.Error
	var se *submit.Error
	var be *bridges.Error
	switch {
	case errors.As(err, &ie):
		return ie.Text
	case errors.As(err, &se):
		return se.Text
	case errors.As(err, &be):
		return be.Text
	}
	return err.Error()
}

// SettingsChanged restarts the watchers with the new folders and options.
func (s *session) SettingsChanged(settings map[string]string) {
	s.stop()
	s.mu.Lock()
	s.prefs = s.b.parsePrefs(settings)
	closed := s.closed
	s.mu.Unlock()
	if !closed {
		s.start()
	}
}

// Close stops watching; queued mail stays queued for the next session.
func (s *session) Close(context.Context, string) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.b.forget(s)
	s.stop()
	return nil
}

// delivery reports an outgoing mail's fate.
func (s *session) delivery() bridges.DeliveryEvents {
	d, _ := s.sink.(bridges.DeliveryEvents)
	return d
}

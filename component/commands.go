package component

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/registry"
)

// command is one operation offered both as an XEP-0050 ad-hoc command and
// as chat text. It asks one form (nil: no input) and then runs.
type command struct {
	node  string // ad-hoc node
	chat  string // chat keyword
	name  string // human name
	admin bool
	// needsAccount: refuse before asking anything when not registered.
	needsAccount bool
	form         func(u *user) *form
	// run does the work and calls reply, on the actor, once it knows the
	// outcome: at once, or when work it queued has finished.
	run func(u *user, vals map[string]string, reply func(*user, outcome, error))
}

// now adapts a command that finishes at once.
func now(f func(u *user, vals map[string]string) (outcome, error)) func(*user, map[string]string, func(*user, outcome, error)) {
	return func(u *user, vals map[string]string, reply func(*user, outcome, error)) {
		out, err := f(u, vals)
		reply(u, out, err)
	}
}

// outcome is what a finished command tells the user.
type outcome struct {
	note   string
	result *form // optional table of values (type result)
}

func (t *Transport) commandList() []*command {
	return []*command{
		{node: nsRegister, chat: "register", name: "Register", form: func(u *user) *form { return u.registrationForm() },
			run: func(u *user, v map[string]string, reply func(*user, outcome, error)) {
				u.register(v, func(u *user, err error) {
					reply(u, outcome{note: "Registered with " + u.t.domain + "."}, err)
				})
			}},
		{node: "unregister", chat: "unregister", name: "Unregister", needsAccount: true, form: confirmForm,
			run: func(u *user, v map[string]string, reply func(*user, outcome, error)) {
				if ok, _ := bridges.ParseBool(v["confirm"]); !ok {
					reply(u, outcome{note: "Nothing changed: not confirmed."}, nil)
					return
				}
				u.unregister(func(u *user, err error) {
					reply(u, outcome{note: "Your registration and its data were deleted."}, err)
				})
			}},
		{node: "settings", chat: "settings", name: "Settings", needsAccount: true, form: settingsForm, run: now(saveSettings)},
		{node: "status", chat: "status", name: "Status", run: now(func(u *user, _ map[string]string) (outcome, error) {
			return outcome{note: u.statusText()}, nil
		})},
		{node: "reconnect", chat: "reconnect", name: "Reconnect", needsAccount: true,
			run: now(func(u *user, _ map[string]string) (outcome, error) {
				u.closeSession("reconnect requested")
				u.openSession()
				return outcome{note: "Reconnecting: " + u.statusText()}, nil
			})},
		{node: "list-users", chat: "users", name: "List users", admin: true, run: now(listUsers)},
		{node: "show-user", chat: "user", name: "Show a user", admin: true, form: jidForm, run: showUser},
		{node: "delete-user", chat: "delete", name: "Delete a user", admin: true, form: jidForm, run: deleteUser},
		{node: "stats", chat: "stats", name: "Statistics", admin: true, run: now(stats)},
		{node: "history-size", chat: "history", name: "Room history size", admin: true, run: now(historySize)},
		{node: "room-retention", chat: "retention", name: "Room history retention", admin: true, form: retentionForm, run: now(setRoomRetention)},
	}
}

// bridgeCommands wraps the bridge's own commands, if it has any.
func (t *Transport) bridgeCommands() []*command {
	cmdr, ok := t.bridge.(bridges.Commander)
	if !ok {
		return nil
	}
	var out []*command
	for _, bc := range cmdr.Commands() {
		out = append(out, &command{node: bc.Node, chat: bc.Chat, name: bc.Name, needsAccount: true,
			form: bridgeCommandForm(bc),
			run: func(u *user, vals map[string]string, reply func(*user, outcome, error)) {
				var note string
				bare := u.jid
				u.background(bc.Name, func(ctx context.Context) error {
					var err error
					note, err = cmdr.RunCommand(ctx, bare, bc.Node, vals)
					return err
				}, func(u *user, err error) { reply(u, outcome{note: note}, err) })
			}})
	}
	return out
}

func bridgeCommandForm(bc bridges.Command) func(*user) *form {
	if len(bc.Fields) == 0 {
		return nil
	}
	return func(*user) *form {
		f := &form{typ: "form", title: bc.Name}
		for _, fl := range bc.Fields {
			ff := formField{Field: fl, required: fl.Required}
			if fl.Default != "" {
				ff.values = []string{fl.Default}
			}
			f.fields = append(f.fields, ff)
		}
		return f
	}
}

func (u *user) findCommand(pred func(*command) bool) *command {
	for _, c := range u.t.cmds {
		if pred(c) && (!c.admin || u.t.isAdmin(u.jid)) {
			return c
		}
	}
	return nil
}

// check refuses a command the user may not run right now.
func (c *command) check(u *user) error {
	if c.admin && !u.t.isAdmin(u.jid) {
		return bridges.Errorf(bridges.Forbidden, "only gateway administrators may do that")
	}
	if c.needsAccount && u.acct == nil {
		return bridges.Errorf("registration-required", "you are not registered with %s", u.t.domain)
	}
	return nil
}

func confirmForm(u *user) *form {
	return &form{typ: "form", title: "Unregister", instructions: "This deletes your registration with " + u.t.domain + " and all its data.",
		fields: []formField{{Field: bridges.Field{Var: "confirm", Label: "Yes, delete my registration", Type: bridges.Boolean}, required: true}}}
}

func jidForm(*user) *form {
	return &form{typ: "form", title: "User", fields: []formField{
		{Field: bridges.Field{Var: "jid", Label: "User JID", Type: bridges.TextSingle}, required: true}}}
}

// settingsFields are the core's settings plus the bridge's own.
func (u *user) settingsFields() []bridges.Field {
	stay := bridges.Field{Var: settingStayConnected, Label: "Stay connected while I am offline", Type: bridges.Boolean,
		Default: fmt.Sprint(u.t.desc.StayConnected)}
	core := []bridges.Field{stay}
	if _, rooms := u.t.bridge.(bridges.RoomAddresser); rooms {
		core = append(core, bridges.Field{Var: settingRecordHistory, Label: "Keep the history of rooms I am in", Type: bridges.Boolean,
			Default: "true", Desc: "Off: the gateway keeps nothing said in rooms for you (no history when you join, no archive), and forgets what it kept."})
	}
	return append(core, u.t.desc.Settings...)
}

func settingsForm(u *user) *form {
	f := &form{typ: "form", title: "Settings"}
	for _, fl := range u.settingsFields() {
		v := fl.Default
		if s, ok := u.acct.Settings[fl.Var]; ok {
			v = s
		}
		f.fields = append(f.fields, formField{Field: fl, values: []string{v}})
	}
	return f
}

func saveSettings(u *user, vals map[string]string) (outcome, error) {
	next := map[string]string{}
	for k, v := range u.acct.Settings {
		next[k] = v
	}
	for _, f := range u.settingsFields() {
		v, ok := vals[f.Var]
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if f.Type == bridges.Boolean {
			b, ok := bridges.ParseBool(v)
			if !ok {
				return outcome{}, bridges.Errorf(bridges.NotAcceptable, "%s must be yes or no", f.Label)
			}
			v = fmt.Sprint(b)
		}
		next[f.Var] = v
	}
	recorded := u.recordHistory()
	acct := *u.acct
	acct.Settings = next
	ctx, cancel := context.WithTimeout(u.t.ctx, 10*time.Second)
	defer cancel()
	if err := u.t.store.PutAccount(ctx, acct); err != nil {
		return outcome{}, &bridges.Error{Condition: bridges.InternalServer, Text: "could not save settings", Cause: err}
	}
	u.acct = &acct
	if err := u.historySettingChanged(recorded); err != nil {
		return outcome{}, err
	}
	if u.sess == sessOpen || u.sess == sessOpening {
		u.do(op{what: "apply settings", run: func(_ context.Context, lg *legacy) error {
			if l, ok := lg.sess.(bridges.SettingsListener); ok {
				l.SettingsChanged(next)
			}
			return nil
		}})
	}
	u.maybeCloseIdle()
	u.maybeStartSession()
	return outcome{note: "Settings saved."}, nil
}

func (u *user) statusText() string {
	if u.acct == nil {
		return "Not registered with " + u.t.domain + ". Send \"register\" to start."
	}
	s := "Registered with " + u.t.domain + ". Connection: " + u.state.String()
	if u.stateText != "" {
		s += " (" + u.stateText + ")"
	}
	s += ". Stay connected while offline: " + yesNo(u.stayConnected()) + "."
	if !u.t.link.Up() {
		s += " The XMPP link is reconnecting."
	}
	return s
}

func listUsers(u *user, _ map[string]string) (outcome, error) {
	ctx, cancel := context.WithTimeout(u.t.ctx, 10*time.Second)
	defer cancel()
	accts, err := u.t.store.ListAccounts(ctx, u.t.domain)
	if err != nil {
		return outcome{}, &bridges.Error{Condition: bridges.InternalServer, Text: "could not list users", Cause: err}
	}
	var jids []string
	for _, a := range accts {
		jids = append(jids, a.JID)
	}
	res := &form{typ: "result", title: "Registered users", fields: []formField{
		{Field: bridges.Field{Var: "users", Label: "Users", Type: "jid-multi"}, values: jids}}}
	return outcome{note: fmt.Sprintf("Registered users (%d): %s", len(jids), strings.Join(jids, ", ")), result: res}, nil
}

func (u *user) lookupAccount(j string) (registry.Account, error) {
	ctx, cancel := context.WithTimeout(u.t.ctx, 10*time.Second)
	defer cancel()
	a, err := u.t.store.GetAccount(ctx, u.t.domain, strings.TrimSpace(j))
	if errors.Is(err, registry.ErrNotFound) {
		return a, bridges.Errorf(bridges.ItemNotFound, "%s is not registered", j)
	}
	if err != nil {
		return a, &bridges.Error{Condition: bridges.InternalServer, Text: "lookup failed", Cause: err}
	}
	return a, nil
}

func showUser(u *user, v map[string]string, reply func(*user, outcome, error)) {
	a, err := u.lookupAccount(v["jid"])
	if err != nil {
		reply(u, outcome{}, err)
		return
	}
	res := &form{typ: "result", title: a.JID}
	var lines []string
	keys := make([]string, 0, len(a.Fields))
	for k := range a.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		res.fields = append(res.fields, formField{Field: bridges.Field{Var: k, Label: k}, values: []string{a.Fields[k]}})
		lines = append(lines, k+": "+a.Fields[k])
	}
	// Secrets are named, never shown, even to admins.
	for k := range a.Secrets {
		lines = append(lines, k+": (set)")
	}
	if a.SealErr != nil {
		lines = append(lines, "secrets: cannot be unsealed with the current key; the user must register again")
	}
	lines = append(lines, "registered: "+a.CreatedAt.UTC().Format(time.RFC3339))
	r, ok := u.t.bridge.(bridges.AccountReporter)
	if !ok {
		reply(u, outcome{note: a.JID + "\n" + strings.Join(lines, "\n"), result: res}, nil)
		return
	}
	var report string
	u.background("account report", func(ctx context.Context) error {
		var err error
		report, err = r.AccountReport(ctx, a.JID)
		return err
	}, func(u *user, err error) {
		if err == nil && report != "" {
			lines = append(lines, report)
		}
		reply(u, outcome{note: a.JID + "\n" + strings.Join(lines, "\n"), result: res}, nil)
	})
}

func deleteUser(u *user, v map[string]string, reply func(*user, outcome, error)) {
	a, err := u.lookupAccount(v["jid"])
	if err != nil {
		reply(u, outcome{}, err)
		return
	}
	admin := u.jid
	finish := func(u *user, err error) {
		if err == nil {
			u.t.log.Info("admin deleted user", "admin", admin, "user", a.JID)
		}
		reply(u, outcome{note: a.JID + " was unregistered and their data deleted."}, err)
	}
	if a.JID == u.jid {
		u.unregister(finish)
		return
	}
	t := u.t
	err = t.post(t.ctx, a.JID, func(o *user) {
		o.unregister(func(_ *user, err error) {
			// Back to the admin's own actor with the outcome.
			_ = t.post(t.ctx, admin, func(u *user) { finish(u, err) })
		})
	})
	if err != nil {
		reply(u, outcome{}, bridges.Errorf("resource-constraint", "that user is busy; try again"))
	}
}

func stats(u *user, _ map[string]string) (outcome, error) {
	ctx, cancel := context.WithTimeout(u.t.ctx, 10*time.Second)
	defer cancel()
	n, err := u.t.store.CountAccounts(ctx, u.t.domain)
	if err != nil {
		return outcome{}, &bridges.Error{Condition: bridges.InternalServer, Text: "could not count users", Cause: err}
	}
	q, _ := u.t.store.PendingCount(ctx, u.t.domain)
	u.t.mu.Lock()
	active := len(u.t.usrs)
	u.t.mu.Unlock()
	note := fmt.Sprintf("Registered users: %d\nActive users: %d\nXMPP link up: %v\nQueued stanzas: %d in memory, %d stored",
		n, active, u.t.link.Up(), u.t.link.QueueDepth(), q)
	return outcome{note: note}, nil
}

// historySize shows how much room history the transport keeps, and for
// how long.
func historySize(u *user, _ map[string]string) (outcome, error) {
	ctx, cancel := context.WithTimeout(u.t.ctx, 30*time.Second)
	defer cancel()
	size, err := u.t.store.ArchiveStats(ctx, u.t.domain)
	if err != nil {
		return outcome{}, &bridges.Error{Condition: bridges.InternalServer, Text: "could not measure the room history", Cause: err}
	}
	note := fmt.Sprintf("Room history: %d message(s) in %d room(s)", size.Messages, size.Rooms)
	if !size.Oldest.IsZero() {
		note += ", the oldest from " + size.Oldest.Format(time.RFC3339)
	}
	keep := u.t.archive.keep
	switch {
	case keep.Days > 0 && keep.Messages > 0:
		note += fmt.Sprintf("\nKept: %d days, at most %d messages per room", keep.Days, keep.Messages)
	case keep.Days > 0:
		note += fmt.Sprintf("\nKept: %d days", keep.Days)
	case keep.Messages > 0:
		note += fmt.Sprintf("\nKept: at most %d messages per room", keep.Messages)
	default:
		note += "\nKept: forever (history_days and history_messages are not set)"
	}
	rooms, err := u.roomRetentionsText(ctx)
	if err != nil {
		return outcome{}, &bridges.Error{Condition: bridges.InternalServer, Text: "could not read the rooms' retentions", Cause: err}
	}
	return outcome{note: note + rooms}, nil
}

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
	run          func(u *user, vals map[string]string) (outcome, error)
}

// outcome is what a finished command tells the user.
type outcome struct {
	note   string
	result *form // optional table of values (type result)
}

func (t *Transport) commandList() []*command {
	return []*command{
		{node: nsRegister, chat: "register", name: "Register", form: func(u *user) *form { return u.registrationForm() },
			run: func(u *user, v map[string]string) (outcome, error) {
				if err := u.register(v); err != nil {
					return outcome{}, err
				}
				return outcome{note: "Registered with " + u.t.domain + "."}, nil
			}},
		{node: "unregister", chat: "unregister", name: "Unregister", needsAccount: true, form: confirmForm,
			run: func(u *user, v map[string]string) (outcome, error) {
				if ok, _ := parseBool(v["confirm"]); !ok {
					return outcome{note: "Nothing changed: not confirmed."}, nil
				}
				u.unregister()
				return outcome{note: "Your registration and its data were deleted."}, nil
			}},
		{node: "settings", chat: "settings", name: "Settings", needsAccount: true, form: settingsForm, run: saveSettings},
		{node: "status", chat: "status", name: "Status", run: func(u *user, _ map[string]string) (outcome, error) {
			return outcome{note: u.statusText()}, nil
		}},
		{node: "reconnect", chat: "reconnect", name: "Reconnect", needsAccount: true,
			run: func(u *user, _ map[string]string) (outcome, error) {
				u.closeSession("reconnect requested")
				u.openSession()
				return outcome{note: "Reconnecting: " + u.statusText()}, nil
			}},
		{node: "list-users", chat: "users", name: "List users", admin: true, run: listUsers},
		{node: "show-user", chat: "user", name: "Show a user", admin: true, form: jidForm, run: showUser},
		{node: "delete-user", chat: "delete", name: "Delete a user", admin: true, form: jidForm, run: deleteUser},
		{node: "stats", chat: "stats", name: "Statistics", admin: true, run: stats},
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
			run: func(u *user, vals map[string]string) (outcome, error) {
				ctx, cancel := context.WithTimeout(u.t.ctx, 30*time.Second)
				defer cancel()
				note, err := cmdr.RunCommand(ctx, u.jid, bc.Node, vals)
				return outcome{note: note}, err
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
	return append([]bridges.Field{stay}, u.t.desc.Settings...)
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
			b, ok := parseBool(v)
			if !ok {
				return outcome{}, bridges.Errorf(bridges.NotAcceptable, "%s must be yes or no", f.Label)
			}
			v = fmt.Sprint(b)
		}
		next[f.Var] = v
	}
	acct := *u.acct
	acct.Settings = next
	ctx, cancel := context.WithTimeout(u.t.ctx, 10*time.Second)
	defer cancel()
	if err := u.t.store.PutAccount(ctx, acct); err != nil {
		return outcome{}, &bridges.Error{Condition: bridges.InternalServer, Text: "could not save settings", Cause: err}
	}
	u.acct = &acct
	if l, ok := u.sess.(bridges.SettingsListener); ok {
		l.SettingsChanged(next)
	}
	if !u.stayConnected() && len(u.resources) == 0 {
		u.closeSession("you are offline and stay_connected is off")
	}
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

func showUser(u *user, v map[string]string) (outcome, error) {
	a, err := u.lookupAccount(v["jid"])
	if err != nil {
		return outcome{}, err
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
	lines = append(lines, "registered: "+a.CreatedAt.UTC().Format(time.RFC3339))
	if r, ok := u.t.bridge.(bridges.AccountReporter); ok {
		ctx, cancel := context.WithTimeout(u.t.ctx, 10*time.Second)
		report, err := r.AccountReport(ctx, a.JID)
		cancel()
		if err == nil && report != "" {
			lines = append(lines, report)
		}
	}
	return outcome{note: a.JID + "\n" + strings.Join(lines, "\n"), result: res}, nil
}

func deleteUser(u *user, v map[string]string) (outcome, error) {
	a, err := u.lookupAccount(v["jid"])
	if err != nil {
		return outcome{}, err
	}
	if a.JID == u.jid {
		u.unregister()
	} else {
		done := make(chan struct{})
		if !u.t.post(a.JID, func(o *user) { o.unregister(); close(done) }) {
			return outcome{}, bridges.Errorf("resource-constraint", "that user is busy; try again")
		}
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			return outcome{}, bridges.Errorf(bridges.RemoteServerTmout, "deletion still in progress")
		}
	}
	u.t.log.Info("admin deleted user", "admin", u.jid, "user", a.JID)
	return outcome{note: a.JID + " was unregistered and their data deleted."}, nil
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

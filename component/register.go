package component

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
	"mellium.im/xmpp/jid"
)

const (
	settingStayConnected = "stay_connected"
	validateTimeout      = 60 * time.Second
)

// registerQuery is the XEP-0077 answer to a get: instructions, legacy
// fields and the same fields as an x:data form. Secrets are never echoed.
func (u *user) registerQuery() *xmlnode.Node {
	q := xmlnode.New(nsRegister, "query").Add(xmlnode.Elem(nsRegister, "instructions", u.t.desc.Instructions))
	if u.acct != nil {
		q.Add(xmlnode.New(nsRegister, "registered"))
	}
	for _, f := range u.t.desc.Fields {
		if f.Legacy != "" && !f.Hidden {
			q.Add(xmlnode.Elem(nsRegister, f.Legacy, u.prefill(f)))
		}
	}
	return q.Add(u.registrationForm().node())
}

// registrationForm lists the bridge's fields with current values. A secret
// already stored is optional on change: leaving it empty keeps it.
func (u *user) registrationForm() *form {
	f := &form{typ: "form", title: u.t.name + " registration",
		instructions: u.t.desc.Instructions, formType: nsRegister}
	for _, fl := range u.t.desc.Fields {
		if fl.Hidden {
			continue
		}
		ff := formField{Field: fl, required: fl.Required}
		if v := u.prefill(fl); v != "" {
			ff.values = []string{v}
		}
		if fl.Secret() && u.acct != nil && u.acct.Secrets[fl.Var] != "" {
			ff.required, ff.stored = false, true
			ff.Desc = strings.TrimSpace(fl.Desc + " Leave empty to keep the current one.")
		}
		f.fields = append(f.fields, ff)
	}
	return f
}

func (u *user) prefill(f bridges.Field) string {
	if f.Secret() {
		return ""
	}
	if u.acct != nil {
		if v, ok := u.acct.Fields[f.Var]; ok {
			return v
		}
	}
	return f.Default
}

// iqRegisterSet handles submit (x:data or legacy fields) and <remove/>.
func (u *user) iqRegisterSet(n, q *xmlnode.Node) {
	if q.Child(nsRegister, "remove") != nil {
		if u.acct == nil {
			u.send(ErrorReply(n, "", "registration-required", "you are not registered with "+u.t.domain))
			return
		}
		u.unregister()
		u.send(Result(n))
		return
	}
	x := q.Child(nsData, "x")
	if x != nil {
		if ft := formTypeOf(x); ft != "" && ft != nsRegister {
			u.send(ErrorReply(n, "", "bad-request", "unexpected form type "+ft))
			return
		}
	}
	values, ok := submitted(x)
	if !ok {
		values = u.legacyValues(q)
	}
	if err := u.register(values); err != nil {
		cond, text := u.t.userError(err, "registration failed")
		u.send(ErrorReply(n, "", string(cond), text))
		return
	}
	u.send(Result(n))
}

// legacyValues maps XEP-0077 legacy elements to field vars.
func (u *user) legacyValues(q *xmlnode.Node) map[string]string {
	vals := map[string]string{}
	for _, f := range u.t.desc.Fields {
		name := f.Legacy
		if name == "" {
			name = f.Var
		}
		if c := q.Child(nsRegister, name); c != nil {
			vals[f.Var] = c.Text
		}
	}
	return vals
}

// register validates and stores a registration in one transaction; it is
// shared by XEP-0077, the ad-hoc command and the chat dialog.
func (u *user) register(values map[string]string) error {
	if err := u.mayRegister(); err != nil {
		return err
	}
	merged, err := u.mergeValues(values)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(u.t.ctx, validateTimeout)
	defer cancel()
	valid, err := u.t.bridge.Validate(ctx, bridges.Registration{JID: u.jid, Values: merged})
	if err != nil {
		return err
	}
	acct := registry.Account{Transport: u.t.domain, JID: u.jid,
		Fields: map[string]string{}, Secrets: map[string]string{}, Settings: map[string]string{}}
	for _, f := range u.t.desc.Fields {
		v, ok := valid[f.Var]
		if !ok {
			continue
		}
		if f.Secret() {
			acct.Secrets[f.Var] = v
		} else {
			acct.Fields[f.Var] = v
		}
	}
	if b, ok := u.t.bridge.(bridges.Binder); ok {
		acct.Binding = valid[b.BindingField()]
	}
	isNew := u.acct == nil
	if !isNew {
		acct.Settings = u.acct.Settings
	}
	if err := u.t.store.PutAccount(ctx, acct); err != nil {
		if errors.Is(err, registry.ErrConflict) {
			return bridges.Errorf(bridges.Conflict, "this legacy account is already registered by someone else")
		}
		return &bridges.Error{Condition: bridges.InternalServer, Text: "could not save the registration", Cause: err}
	}
	u.acct = &acct
	u.t.log.Info("registered", "user", u.jid, "new", isNew)
	if isNew {
		u.welcome()
	}
	u.closeSession("registration changed")
	u.maybeStartSession()
	return nil
}

// mayRegister applies the operator's policy.
func (u *user) mayRegister() error {
	j, err := jid.Parse(u.jid)
	if err != nil {
		return bridges.Errorf(bridges.JIDMalformed, "invalid address")
	}
	if u.t.isAdmin(u.jid) {
		return nil
	}
	if !u.t.policy.DomainAllowed(j.Domainpart()) {
		return bridges.Errorf(bridges.NotAllowed, "accounts on %s may not register with this gateway", j.Domainpart())
	}
	if u.acct == nil && !u.t.policy.OpenRegistrate {
		return bridges.Errorf(bridges.NotAllowed, "registration is closed; ask the gateway's administrator")
	}
	return nil
}

// mergeValues keeps stored secrets the user left empty and checks that
// every required field has a value.
func (u *user) mergeValues(values map[string]string) (map[string]string, error) {
	merged := map[string]string{}
	for _, f := range u.t.desc.Fields {
		if f.Hidden {
			// Only the bridge sets these; keep what it stored before.
			if v := u.storedValue(f); v != "" {
				merged[f.Var] = v
			}
			continue
		}
		v, given := values[f.Var]
		if !f.Secret() {
			v = strings.TrimSpace(v)
		}
		if f.Type == bridges.Boolean && v != "" {
			b, ok := parseBool(v)
			if !ok {
				return nil, bridges.Errorf(bridges.NotAcceptable, "%s must be yes or no", f.Label)
			}
			v = map[bool]string{true: "true", false: "false"}[b]
		}
		if v == "" && u.acct != nil {
			if f.Secret() {
				v = u.acct.Secrets[f.Var]
			} else if !given {
				v = u.acct.Fields[f.Var]
			}
		}
		if v == "" {
			v = f.Default
		}
		if v == "" && f.Required {
			return nil, bridges.Errorf(bridges.NotAcceptable, "%s is required", f.Label)
		}
		if f.Type == bridges.ListSingle && v != "" && !hasOption(f, v) {
			return nil, bridges.Errorf(bridges.NotAcceptable, "%s: %q is not one of the choices", f.Label, v)
		}
		if v != "" {
			merged[f.Var] = v
		}
	}
	return merged, nil
}

func hasOption(f bridges.Field, v string) bool {
	for _, o := range f.Options {
		if o.Value == v {
			return true
		}
	}
	return len(f.Options) == 0
}

// welcome gets the transport into the user's roster and opens a chat:
// pushed into the roster where the server lets the transport manage it
// (XEP-0356), asked for with a subscription request otherwise.
func (u *user) welcome() {
	if g, ok := u.t.grantFor(u.jid); ok && g.rosterSet() {
		u.t.ensureContact(u.jid, u.t.domain, u.t.name)
		u.sendTransportPresence("")
	} else {
		u.send(presence(u.t.domain, u.jid, "subscribe"))
	}
	u.send(message(u.t.domain, u.jid, "Welcome to "+u.t.name+"! You are registered. Send \"help\" here to see what you can do."))
}

// unregister ends the session, removes the transport and every puppet from
// the user's roster, and deletes the account and all its data.
func (u *user) unregister() {
	ctx, cancel := context.WithTimeout(u.t.ctx, 10*time.Second)
	defer cancel()
	peers := u.t.onlinePeers(u.jid)
	stored, err := u.t.store.Peers(ctx, u.t.domain, u.jid)
	if err != nil {
		u.t.log.Error("listing contacts to unsubscribe", "user", u.jid, "error", err)
	}
	for _, p := range stored {
		peers[p] = true
	}
	u.closeSession("unregistered")
	var puppets []string
	for p := range peers {
		puppets = append(puppets, u.t.puppet(p))
	}
	// Where the server lets the transport manage rosters (XEP-0356) the
	// items are removed; otherwise the subscriptions are cancelled.
	removed := u.t.removeContacts(ctx, u.jid, puppets)
	for _, from := range puppets {
		if !removed {
			u.send(presence(from, u.jid, "unsubscribed"))
		}
		u.send(presence(from, u.jid, "unavailable"))
	}
	goodbye := []string{"unsubscribed", "unsubscribe", "unavailable"}
	if removed {
		goodbye = goodbye[2:]
	}
	for _, typ := range goodbye {
		u.send(presence(u.t.domain, u.jid, typ))
	}
	if err := u.t.store.DeleteAccount(ctx, u.t.domain, u.jid); err != nil && !errors.Is(err, registry.ErrNotFound) {
		u.t.log.Error("deleting account", "user", u.jid, "error", err)
	}
	u.acct = nil
	u.state, u.stateText = 0, ""
	u.t.log.Info("unregistered", "user", u.jid)
}

// storedValue is an account's current value of a field, secret or not.
func (u *user) storedValue(f bridges.Field) string {
	if u.acct == nil {
		return ""
	}
	if f.Secret() {
		return u.acct.Secrets[f.Var]
	}
	return u.acct.Fields[f.Var]
}

package component

import (
	"context"
	"errors"
	"strings"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
)

const (
	settingStayConnected = "stay_connected"
	// settingRecordHistory off keeps no room history for the user (as
	// biboumi's record_history): no history on join, no MAM.
	settingRecordHistory = "record_history"
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
		u.unregister(func(u *user, err error) {
			if err != nil {
				cond, text := u.t.userError(err, "could not delete the registration")
				u.send(ErrorReply(n, "", string(cond), text))
				return
			}
			u.send(Result(n))
		})
		return
	}
	x := q.Child(nsData, "x")
	if x != nil {
		if ft := formTypeOf(x); ft != "" && ft != nsRegister {
			u.send(ErrorReply(n, "", "bad-request", "unexpected form type "+ft))
			return
		}
	}
	values, kind, err := readForm(x)
	if kind == formCancel {
		// The user backed out: nothing changes, nothing reconnects.
		u.send(Result(n))
		return
	}
	if kind == notAForm {
		values, err = u.legacyValues(q)
	}
	if err != nil {
		cond, text := u.t.userError(err, "registration failed")
		u.send(ErrorReply(n, "", string(cond), text))
		return
	}
	u.register(values, func(u *user, err error) {
		if err != nil {
			cond, text := u.t.userError(err, "registration failed")
			u.send(ErrorReply(n, "", string(cond), text))
			return
		}
		u.send(Result(n))
	})
}

// legacyValues maps XEP-0077 legacy elements to field vars; an element
// given twice is a bad-request error.
func (u *user) legacyValues(q *xmlnode.Node) (map[string]string, error) {
	vals := map[string]string{}
	for _, f := range u.t.desc.Fields {
		name := f.Legacy
		if name == "" {
			name = f.Var
		}
		switch cs := q.ChildrenNamed(nsRegister, name); len(cs) {
		case 0:
		case 1:
			vals[f.Var] = cs[0].Text
		default:
			return nil, bridges.Errorf(bridges.BadRequest, "the registration gives <%s/> more than once", name)
		}
	}
	return vals, nil
}

// register checks a registration with the network (a login, where the
// bridge makes one) and stores it, on the ops lane; done gets the outcome
// on the actor. It is shared by XEP-0077, the ad-hoc command, the chat
// dialog and implicit registration. A session open is reopened with the
// new values.
func (u *user) register(values map[string]string, done func(*user, error)) {
	if err := u.mayRegister(); err != nil {
		done(u, err)
		return
	}
	merged, err := u.mergeValues(values)
	if err != nil {
		done(u, err)
		return
	}
	var settings map[string]string
	if u.acct != nil {
		settings = u.acct.Settings
	}
	t, bare := u.t, u.jid
	var stored registry.Account
	queued := u.do(op{what: "register", timeout: validateTimeout,
		run: func(ctx context.Context, lg *legacy) error {
			acct, err := t.validate(ctx, bare, merged, settings)
			if err != nil {
				return err
			}
			lg.acct, stored = &acct, acct
			return nil
		},
		done: func(u *user, err error) {
			u.registering = false
			if err != nil {
				done(u, err)
				return
			}
			isNew := u.acct == nil
			u.acct = &stored
			u.t.log.Info("registered", "user", u.jid, "new", isNew)
			if isNew {
				u.welcome()
			}
			// A session queued after a first registration opens with it;
			// one opened with older values is reopened with the new ones.
			if !isNew && (u.sess == sessOpen || u.sess == sessOpening) {
				u.closeSession("registration changed")
				u.openSession()
			} else {
				u.maybeStartSession()
			}
			done(u, nil)
		}})
	if !queued {
		done(u, bridges.Errorf("resource-constraint", "too much is in progress; try again in a moment"))
		return
	}
	u.registering = true
}

// validate asks the bridge to check a registration (it may log in) and
// stores it; it runs on the ops lane.
func (t *Transport) validate(ctx context.Context, bare string, merged, settings map[string]string) (registry.Account, error) {
	valid, err := t.bridge.Validate(ctx, bridges.Registration{JID: bare, Values: merged})
	if err != nil {
		return registry.Account{}, err
	}
	acct := registry.Account{Transport: t.domain, JID: bare,
		Fields: map[string]string{}, Secrets: map[string]string{}, Settings: settings}
	if acct.Settings == nil {
		acct.Settings = map[string]string{}
	}
	for _, f := range t.desc.Fields {
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
	if b, ok := t.bridge.(bridges.Binder); ok {
		acct.Binding = valid[b.BindingField()]
	}
	if err := t.store.PutAccount(ctx, acct); err != nil {
		if errors.Is(err, registry.ErrConflict) {
			return acct, bridges.Errorf(bridges.Conflict, "this legacy account is already registered by someone else")
		}
		return acct, &bridges.Error{Condition: bridges.InternalServer, Text: "could not save the registration", Cause: err}
	}
	return acct, nil
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
			b, ok := bridges.ParseBool(v)
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

// unregister ends the session, removes the transport and every puppet
// from the user's roster, and deletes the account and all its data; done
// (may be nil) gets the outcome on the actor.
func (u *user) unregister(done func(*user, error)) {
	peers := u.t.onlinePeers(u.jid)
	u.closeSession("unregistered")
	t, bare := u.t, u.jid
	u.acct = nil
	u.state, u.stateText = 0, ""
	removed := false // the server let the transport take them off the roster (XEP-0356)
	queued := u.do(op{what: "unregister", timeout: 10 * time.Second,
		run: func(ctx context.Context, lg *legacy) error {
			stored, err := t.store.Peers(ctx, t.domain, bare)
			if err != nil {
				t.log.Error("listing contacts to unsubscribe", "user", bare, "error", err)
			}
			for _, p := range stored {
				peers[p] = true
			}
			var puppets []string
			for p := range peers {
				puppets = append(puppets, t.puppet(p))
			}
			removed = t.removeContacts(ctx, bare, puppets)
			lg.acct = nil
			if err := t.store.DeleteAccount(ctx, t.domain, bare); err != nil && !errors.Is(err, registry.ErrNotFound) {
				return &bridges.Error{Condition: bridges.InternalServer, Text: "could not delete the registration", Cause: err}
			}
			return nil
		},
		done: func(u *user, err error) {
			// Without roster access the subscriptions are cancelled.
			for p := range peers {
				from := u.t.puppet(p)
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
			if err == nil {
				u.t.log.Info("unregistered", "user", u.jid)
			} else {
				u.loaded = false // the account may still be stored: read it again
			}
			if done != nil {
				done(u, err)
			}
		}})
	if !queued && done != nil {
		done(u, bridges.Errorf("resource-constraint", "too much is in progress; try again in a moment"))
	}
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

package component

import (
	"context"
	"errors"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"github.com/ferry-xmpp/ferry/registry"
	"mellium.im/xmpp/jid"
)

// configureNode is the ad-hoc command on a network or room address that
// changes its settings; biboumi's name, so clients and habits carry over.
const configureNode = "configure"

// settingPersistent keeps the user in a room while no client of theirs
// is in it.
const settingPersistent = "persistent"

// addressCache is what the user set for single addresses (networks,
// rooms), read from the store once per account version.
type addressCache struct {
	of *registry.Account // the account they were read for
	m  map[string]registry.AddressSettings
}

// addresses returns the user's address settings by local part (nil when
// not registered or the store does not answer: defaults apply).
func (u *user) addresses() map[string]registry.AddressSettings {
	if u.acct == nil {
		return nil
	}
	if u.addrs.of == u.acct && u.addrs.m != nil {
		return u.addrs.m
	}
	ctx, cancel := context.WithTimeout(u.t.ctx, readTimeout)
	defer cancel()
	list, err := u.t.store.ListAddressSettings(ctx, u.t.domain, u.jid)
	if err != nil {
		u.t.log.Error("loading address settings", "user", u.jid, "error", err)
		return nil
	}
	m := make(map[string]registry.AddressSettings, len(list))
	for _, a := range list {
		if a.SealErr != nil {
			u.t.log.Warn("address secrets cannot be unsealed", "user", u.jid, "address", a.Address, "error", a.SealErr)
		}
		m[a.Address] = a
	}
	u.addrs = addressCache{of: u.acct, m: m}
	return m
}

// addressValues are the user's address settings as a session takes them:
// values and secrets together, by local part.
func (u *user) addressValues() map[string]map[string]string {
	out := map[string]map[string]string{}
	for local, a := range u.addresses() {
		out[local] = mergedValues(a)
	}
	return out
}

func mergedValues(a registry.AddressSettings) map[string]string {
	v := make(map[string]string, len(a.Settings)+len(a.Secrets))
	maps.Copy(v, a.Settings)
	maps.Copy(v, a.Secrets)
	return v
}

func withAddresses(a bridges.Account, addrs map[string]map[string]string) bridges.Account {
	a.Addresses = addrs
	return a
}

// roomSetting is a room's own value of a boolean setting, if it has one.
func (u *user) roomSetting(local, key string) (value, ok bool) {
	return bridges.ParseBool(u.addresses()[addressKey(local)].Settings[key])
}

// persistentRoom reports whether the user stays in the room while none
// of their clients is in it.
func (u *user) persistentRoom(local string) bool {
	v, _ := u.roomSetting(local, settingPersistent)
	return v
}

// recordHistoryIn is record_history for one room: the room's own value,
// else the user's.
func (u *user) recordHistoryIn(local string) bool {
	if v, ok := u.roomSetting(local, settingRecordHistory); ok {
		return v
	}
	return u.recordHistory()
}

// addressFields are the settings of an address: the room's own (kept by
// Ferry) and the bridge's.
func (u *user) addressFields(local string) ([]bridges.Field, error) {
	var fields []bridges.Field
	room := u.t.isRoom(local)
	if room {
		fields = append(fields,
			bridges.Field{Var: settingPersistent, Label: "Stay in this room while none of my clients is in it", Type: bridges.Boolean, Default: "false"},
			bridges.Field{Var: settingRecordHistory, Label: "Keep this room's history for me", Type: bridges.Boolean,
				Default: boolText(u.recordHistory()), Desc: "Empty: as in your settings."})
	}
	if cfg, ok := u.t.bridge.(bridges.AddressConfigurer); ok {
		more, err := cfg.AddressFields(bridgeAccount(u.acct), local)
		if err != nil && !room {
			return nil, err
		}
		fields = append(fields, more...)
	}
	if len(fields) == 0 {
		return nil, bridges.Errorf(bridges.ItemNotFound, "this address has no settings")
	}
	return fields, nil
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// configureCommand is "configure" on the address local.
func (t *Transport) configureCommand(local string) *command {
	return &command{node: configureNode, chat: "configure", name: "Configure " + local, needsAccount: true,
		form: func(u *user) *form { return u.addressForm(local) },
		run: func(u *user, vals map[string]string, reply func(*user, outcome, error)) {
			u.saveAddress(local, vals, nil, reply)
		}}
}

// addressForm shows an address's settings with their current values;
// a stored secret is named, never shown.
func (u *user) addressForm(local string) *form {
	f := &form{typ: "form", title: "Settings of " + local,
		instructions: "Change what you need; an empty field goes back to its default, an empty password keeps the stored one."}
	fields, err := u.addressFields(local)
	if err != nil {
		_, text := u.t.userError(err, "")
		f.instructions = text
		return f
	}
	stored := u.addresses()[local]
	for _, fl := range fields {
		ff := formField{Field: fl}
		switch v := stored.Settings[fl.Var]; {
		case fl.Secret():
			ff.stored = stored.Secrets[fl.Var] != ""
		case v != "":
			ff.values = []string{v}
		case fl.Default != "":
			ff.values = []string{fl.Default}
		}
		f.fields = append(f.fields, ff)
	}
	return f
}

// saveAddress checks and stores a submission, then tells the session. A
// bad value stores nothing and shows the form again with why.
// forget names secrets to delete rather than keep when left empty.
func (u *user) saveAddress(local string, vals map[string]string, forget []string, reply func(*user, outcome, error)) {
	fields, err := u.addressFields(local)
	if err != nil {
		reply(u, outcome{}, err)
		return
	}
	old := u.addresses()[local]
	kept := maps.Clone(old.Secrets)
	for _, k := range forget {
		delete(kept, k)
	}
	checked, err := u.checkAddress(local, fields, kept, vals)
	if err != nil {
		reply(u, outcome{}, err)
		return
	}
	next := registry.AddressSettings{Transport: u.t.domain, JID: u.jid, Address: local,
		Settings: map[string]string{}, Secrets: map[string]string{}, SealErr: old.SealErr}
	for _, fl := range fields {
		v := checked[fl.Var]
		switch {
		case v == "" || fl.Type == bridges.Fixed:
		case fl.Secret():
			next.Secrets[fl.Var] = v
		default:
			next.Settings[fl.Var] = v
		}
	}
	ctx, cancel := context.WithTimeout(u.t.ctx, 10*time.Second)
	defer cancel()
	if err := u.t.store.PutAddressSettings(ctx, next); err != nil {
		reply(u, outcome{}, &bridges.Error{Condition: bridges.InternalServer, Text: "could not save the settings", Cause: err})
		return
	}
	wasRecorded := u.recordHistoryIn(local)
	if u.addrs.of == u.acct && u.addrs.m != nil {
		u.addrs.m[local] = next
	} else {
		u.addrs = addressCache{} // read again when next needed
	}
	u.roomSettingsChanged(local, wasRecorded)
	if u.sess != sessOpen && u.sess != sessOpening {
		reply(u, outcome{note: "Settings of " + local + " saved. They apply when you next connect."}, nil)
		return
	}
	values := mergedValues(next)
	var note string
	queued := u.do(op{what: "apply settings", run: func(_ context.Context, lg *legacy) error {
		if l, ok := lg.sess.(bridges.AddressSettingsListener); ok {
			note = l.AddressSettingsChanged(local, values)
		}
		return nil
	}, done: func(u *user, _ error) {
		reply(u, outcome{note: strings.TrimSpace("Settings of " + local + " saved. " + note)}, nil)
	}})
	if !queued {
		reply(u, outcome{note: "Settings of " + local + " saved. They apply when you next connect."}, nil)
	}
}

// checkAddress checks the room's own values here and the rest with the
// bridge; it returns every value to store, secrets left empty keeping
// the stored ones.
func (u *user) checkAddress(local string, fields []bridges.Field, secrets, vals map[string]string) (map[string]string, error) {
	out := map[string]string{}
	bridgeVals := map[string]string{}
	for _, fl := range fields {
		v := vals[fl.Var]
		if fl.Secret() && v == "" {
			v = secrets[fl.Var]
		}
		switch fl.Var {
		case settingPersistent, settingRecordHistory:
			if !u.t.isRoom(local) {
				bridgeVals[fl.Var] = v
				continue
			}
			if strings.TrimSpace(v) == "" {
				continue
			}
			b, ok := bridges.ParseBool(v)
			if !ok {
				return nil, bridges.Errorf(bridges.NotAcceptable, "%s: answer yes or no", fl.Label)
			}
			out[fl.Var] = boolText(b)
		default:
			bridgeVals[fl.Var] = v
		}
	}
	cfg, ok := u.t.bridge.(bridges.AddressConfigurer)
	if !ok {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(u.t.ctx, 10*time.Second)
	defer cancel()
	checked, err := cfg.CheckAddressSettings(ctx, bridgeAccount(u.acct), local, bridgeVals)
	if err != nil && !(u.t.isRoom(local) && isNotFound(err)) {
		return nil, err
	}
	maps.Copy(out, checked)
	return out, nil
}

func isNotFound(err error) bool {
	var be *bridges.Error
	return errors.As(err, &be) && be.Condition == bridges.ItemNotFound
}

// roomSettingsChanged applies a room's persistent and record_history at
// once: a room no client is in is left when it stops being persistent,
// and the user's membership in its history follows record_history.
func (u *user) roomSettingsChanged(local string, wasRecorded bool) {
	r := u.rooms[local]
	if r == nil || !r.joined {
		return
	}
	if now := u.recordHistoryIn(local); now != wasRecorded {
		u.t.archive.member(u.jid, local, now)
	}
	if r.resources.Len() > 0 || u.persistentRoom(local) {
		return
	}
	delete(u.rooms, local)
	u.roomsChanged = true
	if u.recordHistoryIn(local) {
		u.t.archive.member(u.jid, local, false)
	}
	u.do(op{what: "leave", run: func(ctx context.Context, lg *legacy) error {
		s, err := lg.session()
		if err != nil {
			return err
		}
		if rooms, ok := s.(bridges.Rooms); ok {
			return rooms.LeaveRoom(ctx, local, "")
		}
		return nil
	}, done: func(u *user, err error) {
		if err != nil && !errors.Is(err, errNoSession) {
			u.t.log.Warn("leaving room", "user", u.jid, "room", local, "error", err)
		}
		u.maybeCloseIdle()
	}})
}

// addressKey is how an address's settings are filed: local parts compare
// without case (as JIDs do, and as the bridges' addresses are written).
func addressKey(local string) string { return strings.ToLower(local) }

// addressCommandIQ serves XEP-0050 on a network or room address.
func (u *user) addressCommandIQ(n, q *xmlnode.Node, from jid.JID, local string) {
	local = addressKey(local)
	u.commandIQ(n, q, from, local, func(node string) *command {
		if node != configureNode {
			return nil
		}
		if u.acct != nil { // else the command says registration-required
			if _, err := u.addressFields(local); err != nil {
				return nil
			}
		}
		return u.t.configureCommand(local)
	})
}

// addressCommandItems lists the commands of an address (disco#items on
// the commands node): "configure" where the address has settings.
func (u *user) addressCommandItems(local, to string) *xmlnode.Node {
	q := xmlnode.New(nsDiscoItem, "query").SetAttr("node", nsCommands)
	if u.acct != nil {
		if _, err := u.addressFields(local); err == nil {
			q.Add(xmlnode.New(nsDiscoItem, "item").SetAttr("jid", to).SetAttr("node", configureNode).SetAttr("name", "Configure"))
		}
	}
	return q
}

// configureChat is "configure ADDRESS [KEY VALUE]" in a chat with the
// gateway: the settings of the address, or one of them changed ("-"
// puts it back to its default).
func (u *user) configureChat(args string) {
	addr, rest, _ := strings.Cut(strings.TrimSpace(args), " ")
	local := addressKey(strings.TrimSuffix(addr, "@"+u.t.domain))
	if local == "" {
		u.say("Usage: configure ADDRESS [KEY VALUE], where ADDRESS is a network (irc.example.org) or a room (#chan%irc.example.org).")
		return
	}
	c := u.t.configureCommand(local)
	if err := c.check(u); err != nil {
		_, text := u.t.userError(err, "")
		u.say(text)
		return
	}
	fields, err := u.addressFields(local)
	if err != nil {
		_, text := u.t.userError(err, "")
		u.say(text)
		return
	}
	key, val, _ := strings.Cut(strings.TrimSpace(rest), " ")
	if key == "" {
		u.say(u.addressSummary(local, fields))
		return
	}
	var field *bridges.Field
	for i := range fields {
		if fields[i].Var == key && fields[i].Type != bridges.Fixed {
			field = &fields[i]
		}
	}
	if field == nil || strings.TrimSpace(val) == "" {
		u.say("Usage: configure " + local + " KEY VALUE (or - to reset). " + u.addressSummary(local, fields))
		return
	}
	vals := maps.Clone(u.addresses()[local].Settings)
	if vals == nil {
		vals = map[string]string{}
	}
	var forget []string
	if val = strings.TrimSpace(val); val == "-" {
		val, forget = "", []string{key}
	}
	vals[key] = val
	u.saveAddress(local, vals, forget, func(u *user, out outcome, err error) {
		if err != nil {
			_, text := u.t.userError(err, "the settings were not saved")
			u.say("Not saved: " + text)
			return
		}
		u.say(out.note)
	})
}

// addressSummary lists an address's settings and current values.
func (u *user) addressSummary(local string, fields []bridges.Field) string {
	stored := u.addresses()[local]
	lines := []string{"Settings of " + local + " (change one with: configure " + local + " KEY VALUE):"}
	for _, f := range fields {
		v := stored.Settings[f.Var]
		switch {
		case f.Type == bridges.Fixed:
			v = f.Default
		case f.Secret() && stored.Secrets[f.Var] != "":
			v = "(set)"
		case v == "" && f.Default != "":
			v = chatValue(f, f.Default) + " (default)"
		case v == "":
			v = "(default)"
		default:
			v = chatValue(f, v)
		}
		lines = append(lines, "  "+f.Var+" — "+f.Label+": "+v)
	}
	sort.Strings(lines[1:])
	return strings.Join(lines, "\n")
}

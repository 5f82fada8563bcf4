package email

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/registry"
)

// aliasRecord is a relay address a user owns.
type aliasRecord struct {
	Address string   `json:"address"`
	Senders []string `json:"senders,omitempty"`
}

const stateActive = "active"

func aliasID(address string) string { return "alias:" + address }

// Command nodes.
const (
	nodeAliasAdd    = "alias-add"
	nodeAliasList   = "alias-list"
	nodeAliasDelete = "alias-delete"
)

// Commands offers relay addresses when the transport has a relay domain.
func (b *Bridge) Commands() []bridges.Command {
	if b.opts.Relay == nil {
		return nil
	}
	d := b.opts.Relay.Domain
	return []bridges.Command{
		{Node: nodeAliasAdd, Chat: "alias add", Name: "Create a relay address", Fields: []bridges.Field{
			{Var: "name", Label: "Name", Type: bridges.TextSingle, Required: true,
				Desc: "A word for the address: letters, digits, dots or hyphens (alerts → alerts.x7k2q9@" + d + ")."},
			{Var: "senders", Label: "Only accept mail from", Type: bridges.TextSingle,
				Desc: "Optional: addresses or @domains, separated by commas. Empty: anyone."},
		}},
		{Node: nodeAliasList, Chat: "alias list", Name: "List relay addresses"},
		{Node: nodeAliasDelete, Chat: "alias delete", Name: "Delete a relay address", Fields: []bridges.Field{
			{Var: "address", Label: "Address to delete", Type: bridges.TextSingle, Required: true}}},
	}
}

// RunCommand runs a relay address command for jid.
func (b *Bridge) RunCommand(ctx context.Context, jid, node string, v map[string]string) (string, error) {
	switch node {
	case nodeAliasAdd:
		return b.addAlias(ctx, jid, v["name"], v["senders"])
	case nodeAliasList:
		return b.describeAliases(ctx, jid)
	case nodeAliasDelete:
		return b.deleteAlias(ctx, jid, v["address"])
	}
	return "", bridges.Errorf(bridges.ItemNotFound, "no such command")
}

func (b *Bridge) addAlias(ctx context.Context, jid, name, senders string) (string, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if !validAliasName(name) {
		return "", bridges.Errorf(bridges.NotAcceptable, "the name must be 1 to 30 letters, digits, dots or hyphens, like alerts")
	}
	allowed, err := parseSenders(senders)
	if err != nil {
		return "", err
	}
	have, err := b.listAliases(ctx, jid)
	if err != nil {
		return "", internal("could not read your relay addresses", err)
	}
	if len(have) >= b.opts.Relay.MaxAddresses {
		return "", bridges.Errorf(bridges.PolicyViolation, "you have %d relay addresses, the most allowed; delete one first", len(have))
	}
	rec := aliasRecord{Address: name + "." + randomTag() + "@" + b.opts.Relay.Domain, Senders: allowed}
	payload, _ := json.Marshal(rec)
	err = b.store.PutJob(ctx, registry.Job{ID: aliasID(rec.Address), Transport: b.domain, JID: jid, Kind: kindAlias,
		Payload: payload, State: stateActive, NextAt: time.Unix(0, 0)})
	if err != nil {
		return "", internal("could not save the address", err)
	}
	text := "Created " + rec.Address + ": mail to it reaches you here."
	if len(allowed) > 0 {
		text += " Only from: " + strings.Join(allowed, ", ") + "."
	}
	return text, nil
}

func validAliasName(n string) bool {
	if n == "" || len(n) > 30 || n[0] == '.' || n[len(n)-1] == '.' || strings.Contains(n, "..") {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// parseSenders reads an allow-list: addresses or @domains.
func parseSenders(s string) ([]string, error) {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		if f == "-" {
			continue
		}
		if d, ok := strings.CutPrefix(f, "@"); ok {
			if !validHost(strings.ToLower(d)) {
				return nil, bridges.Errorf(bridges.NotAcceptable, "%q is not a domain", f)
			}
			out = append(out, "@"+strings.ToLower(d))
			continue
		}
		a, err := normaliseAddress(f)
		if err != nil {
			return nil, bridges.Errorf(bridges.NotAcceptable, "%q is not an email address", f)
		}
		out = append(out, a)
	}
	return out, nil
}

// randomTag makes an address unguessable from its name alone.
func randomTag() string {
	const letters = "abcdefghijkmnpqrstuvwxyz23456789"
	var b [6]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b[:])
}

// listAliases returns a user's relay addresses, sorted.
func (b *Bridge) listAliases(ctx context.Context, jid string) ([]aliasRecord, error) {
	if b.opts.Relay == nil {
		return nil, nil
	}
	jobs, err := b.store.DueJobs(ctx, b.domain, kindAlias, stateActive, time.Now().Add(24*time.Hour), 100000)
	if err != nil {
		return nil, err
	}
	var out []aliasRecord
	for _, j := range jobs {
		var a aliasRecord
		if j.JID == jid && json.Unmarshal(j.Payload, &a) == nil {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Address < out[k].Address })
	return out, nil
}

func (b *Bridge) describeAliases(ctx context.Context, jid string) (string, error) {
	list, err := b.listAliases(ctx, jid)
	if err != nil {
		return "", internal("could not read your relay addresses", err)
	}
	if len(list) == 0 {
		return "You have no relay addresses. Create one with: alias add NAME", nil
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "Your relay addresses (%d):", len(list))
	for _, a := range list {
		sb.WriteString("\n• " + a.Address)
		if len(a.Senders) > 0 {
			sb.WriteString(" (only from " + strings.Join(a.Senders, ", ") + ")")
		}
	}
	return sb.String(), nil
}

func (b *Bridge) deleteAlias(ctx context.Context, jid, address string) (string, error) {
	address = strings.ToLower(strings.TrimSpace(address))
	if _, ok, err := b.aliasOwnedBy(ctx, address, jid); err != nil {
		return "", internal("could not read the address", err)
	} else if !ok {
		return "", bridges.Errorf(bridges.ItemNotFound, "%s is not one of your relay addresses", address)
	}
	if err := b.store.DeleteJob(ctx, b.domain, aliasID(address)); err != nil {
		return "", internal("could not delete the address", err)
	}
	return "Deleted " + address + ": mail to it is now refused.", nil
}

// alias looks an address up.
func (b *Bridge) alias(ctx context.Context, address string) (a aliasRecord, owner string, ok bool, err error) {
	j, err := b.store.GetJob(ctx, b.domain, aliasID(address))
	if errors.Is(err, registry.ErrNotFound) {
		return a, "", false, nil
	}
	if err != nil || j.Kind != kindAlias {
		return a, "", false, err
	}
	if err := json.Unmarshal(j.Payload, &a); err != nil {
		return a, "", false, err
	}
	return a, j.JID, true, nil
}

func (b *Bridge) aliasOwnedBy(ctx context.Context, address, jid string) (aliasRecord, bool, error) {
	a, owner, ok, err := b.alias(ctx, address)
	return a, ok && owner == jid, err
}

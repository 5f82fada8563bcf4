package testbridge

import (
	"context"
	"maps"
	"strings"

	"github.com/ferry-xmpp/ferry/bridges"
)

// AddressFields implements bridges.AddressConfigurer: peers named net-*
// stand for networks (a greeting and a token), rooms have a volume.
func (b *Bridge) AddressFields(_ bridges.Account, local string) ([]bridges.Field, error) {
	switch {
	case strings.HasPrefix(local, "net-"):
		return []bridges.Field{
			{Var: "greeting", Label: "Greeting", Type: bridges.TextSingle},
			{Var: "token", Label: "Token", Type: bridges.TextPrivate},
			{Var: "region", Label: "Region (set by the operator)", Type: bridges.Fixed, Default: "moon"},
		}, nil
	case b.IsRoom(local):
		return []bridges.Field{{Var: "volume", Label: "Volume", Type: bridges.TextSingle}}, nil
	}
	return nil, bridges.Errorf(bridges.ItemNotFound, "%s has no settings", local)
}

// CheckAddressSettings refuses a greeting that shouts and a volume that
// is not low, medium or high.
func (b *Bridge) CheckAddressSettings(_ context.Context, acct bridges.Account, local string, values map[string]string) (map[string]string, error) {
	fields, err := b.AddressFields(acct, local)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, f := range fields {
		v := strings.TrimSpace(values[f.Var])
		switch {
		case v == "" || f.Type == bridges.Fixed:
			continue
		case f.Var == "greeting" && strings.Contains(v, "!"):
			return nil, bridges.Errorf(bridges.NotAcceptable, "Greeting: no shouting (!)")
		case f.Var == "volume" && v != "low" && v != "medium" && v != "high":
			return nil, bridges.Errorf(bridges.NotAcceptable, "Volume: one of low, medium, high")
		}
		out[f.Var] = v
	}
	return out, nil
}

// AddressSettingsChanged implements bridges.AddressSettingsListener.
func (s *Session) AddressSettingsChanged(local string, values map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Account.Addresses == nil {
		s.Account.Addresses = map[string]map[string]string{}
	}
	s.Account.Addresses[local] = maps.Clone(values)
	return "Applied now."
}

// AddressSettings returns what the session knows of an address's
// settings: from Open, then from each change.
func (s *Session) AddressSettings(local string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.Account.Addresses[local])
}

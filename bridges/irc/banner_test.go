package irc

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/registry"
)

func openStore(t *testing.T, path string) *registry.SQLite {
	t.Helper()
	sealer, err := registry.NewSealer(make([]byte, registry.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	store, err := registry.Open(context.Background(), path, sealer, registry.Options{AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// The banner is shown once per user and network, from the network's JID,
// remembered across restarts, and shown again to someone who registers
// anew after unregistering.
func TestBannerShownOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db")
	store := openStore(t, path)
	defer func() { store.Close() }()
	raw := map[string]any{"network": []map[string]any{
		{"name": "irc.one", "address": "127.0.0.1:1", "tls": false, "banner": "Welcome to One. Abuse: abuse@one.example"},
		{"name": "irc.two", "address": "127.0.0.1:1", "tls": false}}}
	bridge := func() *Bridge {
		br, err := Factory("irc.gw", raw, bridges.Deps{Store: store})
		if err != nil {
			t.Fatal(err)
		}
		return br.(*Bridge)
	}
	b := bridge()
	for _, jid := range []string{"alice@x", "bob@x"} {
		if err := store.PutAccount(ctx, registry.Account{Transport: "irc.gw", JID: jid, Fields: map[string]string{"nick": "n"}}); err != nil {
			t.Fatal(err)
		}
	}
	show := func(jid, server string) []string {
		rec := &record{}
		s := &session{b: b, acct: bridges.Account{JID: jid, Values: map[string]string{"nick": "n"}}, sink: rec, networks: map[string]*network{}}
		s.ctx, s.cancel = context.WithCancel(ctx)
		defer s.cancel()
		cfg, _ := b.opts.network(server)
		newNetwork(s, server, cfg, "n").showBanner()
		return rec.take()
	}
	banner := `receive irc.one "Welcome to One. Abuse: abuse@one.example"`
	steps := []struct {
		what, jid, server string
		restart, again    bool // reopen the store first; unregister and register first
		want              string
	}{
		{"alice's first connection", "alice@x", "irc.one", false, false, banner},
		{"alice again", "alice@x", "irc.one", false, false, ""},
		{"a network without banner", "alice@x", "irc.two", false, false, ""},
		{"bob's first", "bob@x", "irc.one", false, false, banner},
		{"alice after a restart", "alice@x", "irc.one", true, false, ""},
		{"alice registered anew", "alice@x", "irc.one", false, true, banner},
		{"bob, untouched", "bob@x", "irc.one", false, false, ""},
	}
	for _, st := range steps {
		if st.restart {
			store.Close()
			store = openStore(t, path)
			b = bridge()
		}
		if st.again {
			if err := store.DeleteAccount(ctx, "irc.gw", st.jid); err != nil {
				t.Fatal(err)
			}
			if err := store.PutAccount(ctx, registry.Account{Transport: "irc.gw", JID: st.jid, Fields: map[string]string{"nick": "n"}}); err != nil {
				t.Fatal(err)
			}
		}
		got := strings.Join(show(st.jid, st.server), "\n")
		if !strings.HasPrefix(got, st.want) || (st.want == "") != (got == "") {
			t.Errorf("%s: got %q, want %q", st.what, got, st.want)
		}
	}
}

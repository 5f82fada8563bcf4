package config

import (
	"log/slog"
	"reflect"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	want := Config{
		Database:       "ferry.db",
		DatabaseSync:   "normal",
		SecretsKeyFile: "ferry.key",
		XMPP: XMPP{
			PingInterval: 30 * time.Second,
			PingTimeout:  10 * time.Second,
			ReconnectMin: time.Second,
			ReconnectMax: 60 * time.Second,
			QueueSize:    256,
		},
		Registration: Registration{Open: true},
		Log:          Log{Level: slog.LevelInfo, Format: "text"},
	}
	if got := Defaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("Defaults() = %+v, want %+v", got, want)
	}
}

// Defaults returns a fresh value: changing one does not affect the next.
func TestDefaultsIndependent(t *testing.T) {
	a := Defaults()
	a.Admins = append(a.Admins, "x@example.org")
	a.Registration.AllowedDomains = append(a.Registration.AllowedDomains, "x")
	b := Defaults()
	if b.Admins != nil || b.Registration.AllowedDomains != nil {
		t.Errorf("Defaults() shares state: %+v", b)
	}
}

// Every duration default satisfies the validation rules on its own.
func TestDefaultsConsistent(t *testing.T) {
	x := Defaults().XMPP
	if !(x.PingTimeout < x.PingInterval) || x.ReconnectMin > x.ReconnectMax || x.QueueSize < 1 || x.QueueSize > maxQueueSize {
		t.Errorf("inconsistent defaults: %+v", x)
	}
}

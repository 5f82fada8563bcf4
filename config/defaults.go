package config

import (
	"log/slog"
	"time"
)

// Defaults returns the configuration used for every setting a file leaves
// out. It is not valid on its own: xmpp.address and at least one transport
// have no default, and Registration.AllowedDomains is filled in from the
// server domain during validation.
func Defaults() Config {
	return Config{
		Database:       "ferry.db",
		DatabaseSync:   "normal",
		SecretsKeyFile: "ferry.key",
		XMPP: XMPP{
			PingInterval: 30 * time.Second,
			PingTimeout:  10 * time.Second,
			ReconnectMin: 1 * time.Second,
			ReconnectMax: 60 * time.Second,
			QueueSize:    256,
		},
		Registration: Registration{Open: true},
		Log:          Log{Level: slog.LevelInfo, Format: "text"},
	}
}

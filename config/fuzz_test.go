package config

import (
	"errors"
	"testing"
)

// FuzzParse: any file either validates or yields *Errors; never a panic,
// never an error without the key that causes it (syntax errors excepted).
func FuzzParse(f *testing.F) {
	f.Add([]byte("[xmpp]\naddress = \"127.0.0.1:5347\"\n[[transport]]\nkind = \"irc\"\ndomain = \"irc.example.org\"\nsecret = \"s\"\n"))
	f.Add([]byte("database = 5\n[xmpp]\nping_interval = \"-1s\"\n"))
	f.Add([]byte("[[transport]]\n[transport.options]\nx = [1, 2]\n"))
	f.Add([]byte("admins = [\"a@b/c\"]\n[http]\nlisten = \"0.0.0.0:80\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse(data, "")
		if err == nil {
			return
		}
		var errs *Errors
		if !errors.As(err, &errs) || len(errs.Problems) == 0 {
			t.Fatalf("error without problems: %v", err)
		}
	})
}

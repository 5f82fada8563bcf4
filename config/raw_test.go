package config

import (
	"testing"
)

// Decoding: syntax errors, badly shaped sections, wrong value types and
// unknown keys, all reported with the key responsible.
func TestDecodeProblems(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []Problem
	}{
		{
			name: "syntax error has no key but the line, its column and its text",
			doc:  "[xmpp]\naddress = \n",
			want: []Problem{{"", "line 2: expected value but found '\\n' instead (column 11)\n    address ="}},
		},
		{
			name: "unterminated string",
			doc:  "database = \"x\n",
			want: []Problem{{"", "line 1: strings cannot contain newlines (column 14)\n    database = \"x"}},
		},
		{
			name: "duplicate key",
			doc:  minimal + "[xmpp]\naddress = \"b:1\"\n",
			want: []Problem{{"", "line 9"}},
		},
		{
			name: "section that is not a table",
			doc:  "xmpp = 5\n",
			want: []Problem{{"xmpp", "must be a table, not integer"}},
		},
		{
			name: "section that is a string",
			doc:  "log = \"debug\"\n",
			want: []Problem{{"log", "must be a table, not string"}},
		},
		{
			name: "section that is an array",
			doc:  "http = [1]\n",
			want: []Problem{{"http", "must be a table, not array"}},
		},
		{
			name: "section that is a boolean",
			doc:  "registration = true\n",
			want: []Problem{{"registration", "must be a table, not boolean"}},
		},
		{
			name: "section that is a float",
			doc:  "xmpp = 1.5\n",
			want: []Problem{{"xmpp", "must be a table, not float"}},
		},
		{
			name: "array element of the wrong type",
			doc:  "admins = [\"a@example.org\", 5]\n" + minimal,
			want: []Problem{{"admins[1]", "must be a string, not integer"}},
		},
		{
			name: "single brackets for transport",
			doc:  "[transport]\nkind = \"irc\"\n",
			want: []Problem{{"transport", "[[transport]]"}},
		},
		{
			name: "duration that is a table",
			doc:  minimal + "[xmpp.ping_interval]\na = 1\n",
			want: []Problem{{"xmpp.ping_interval", "must be a duration string"}},
		},
		{
			name: "unknown keys at every level, outermost only, in file order",
			doc: `databse = "x"
[xmpp]
address = "127.0.0.1:5347"
adress = "x"
[xmpp.extra]
deep = { deeper = 1 }
[metrics]
on = true
[[transport]]
kind = "irc"
domain = "irc.example.org"
secret = "s"
port = 6667
[transport.tls]
verify = false
[transport.options]
anything = { goes = ["here"] }
[[transport]]
kind = "sms"
domain = "sms.example.org"
secret = "s"
"odd key" = 1
`,
			want: []Problem{
				{"databse", "unknown key"},
				{"xmpp.adress", "unknown key"},
				{"xmpp.extra", "unknown key"},
				{"metrics", "unknown key"},
				{"transport[0].port", "unknown key"},
				{"transport[0].tls", "unknown key"},
				{"transport[1].\"odd key\"", "unknown key"},
			},
		},
		{
			name: "keys are case-sensitive",
			doc:  "Database = \"x\"\n" + minimal + "[Log]\nlevel = \"debug\"\n",
			want: []Problem{{"Database", "unknown key"}, {"Log", "unknown key"}},
		},
		{
			name: "transport keys are case-sensitive",
			doc:  minimal + "Kind = \"x\"\n",
			want: []Problem{{"transport[0].Kind", "unknown key"}},
		},
		{
			name: "wrong types are reported per key",
			doc: `database = 1
secrets_key_file = true
admins = "admin@example.org"
[xmpp]
address = 5347
server_domain = ["example.org"]
queue_size = "1000"
ping_interval = 30
[registration]
open = "yes"
allowed_domains = ["example.org", 7]
[http]
listen = 9090
allow_public = 1
[log]
level = 1.5
format = 2024-01-01
[[transport]]
kind = 1
domain = { a = 1 }
secret = 2
name = false
options = "server=x"
`,
			want: []Problem{
				{"database", "must be a string, not integer"},
				{"secrets_key_file", "must be a string, not boolean"},
				{"admins", "must be an array of strings, not string"},
				{"xmpp.address", "must be a string, not integer"},
				{"xmpp.server_domain", "must be a string, not array"},
				{"xmpp.ping_interval", `invalid duration "30"`},
				{"xmpp.queue_size", "must be an integer, not string"},
				{"registration.open", "must be a boolean, not string"},
				{"registration.allowed_domains[1]", "must be a string, not integer"},
				{"http.allow_public", "must be a boolean, not integer"},
				{"http.listen", "must be a string, not integer"},
				{"log.level", "must be a string, not float"},
				{"log.format", "must be a string, not datetime"},
				{"transport[0].kind", "must be a string, not integer"},
				{"transport[0].domain", "must be a string, not table"},
				{"transport[0].name", "must be a string, not boolean"},
				{"transport[0].secret", "must be a string, not integer"},
				{"transport[0].options", "must be a table, not string"},
			},
		},
		{
			name: "transport element that is not a table",
			doc:  "transport = [\"irc\"]\n[xmpp]\naddress = \"127.0.0.1:5347\"\nserver_domain = \"example.org\"\n",
			want: []Problem{{"transport[0]", "must be a table, not string"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), "")
			checkProblems(t, err, tt.want)
		})
	}
}

func TestTransportOptionsPassThrough(t *testing.T) {
	doc := minimal + `
[transport.options]
server = "irc.libera.chat"
port = 6697
tls = true
channels = ["#a", "#b"]
[transport.options.sasl]
user = "bot"
`
	cfg, err := Parse([]byte(doc), "")
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Transports[0].Options
	if o["server"] != "irc.libera.chat" || o["port"] != int64(6697) || o["tls"] != true {
		t.Errorf("scalar options = %#v", o)
	}
	if ch, ok := o["channels"].([]any); !ok || len(ch) != 2 || ch[0] != "#a" {
		t.Errorf("channels = %#v", o["channels"])
	}
	if sasl, ok := o["sasl"].(map[string]any); !ok || sasl["user"] != "bot" {
		t.Errorf("sasl = %#v", o["sasl"])
	}
}

func TestTomlType(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{"s", "string"},
		{true, "boolean"},
		{int64(1), "integer"},
		{1.5, "float"},
		{map[string]any{}, "table"},
		{[]any{}, "array"},
		{[]map[string]any{}, "array"},
		{struct{}{}, "struct {}"},
	}
	for _, tt := range tests {
		if got := tomlType(tt.in); got != tt.want {
			t.Errorf("tomlType(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

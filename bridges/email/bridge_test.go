package email

import (
	"context"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/email/imapwatch"
	"github.com/ferry-xmpp/ferry/bridges/email/submit"
	"github.com/ferry-xmpp/ferry/internal/netguard"
	"github.com/ferry-xmpp/ferry/internal/testenv"
	"github.com/ferry-xmpp/ferry/registry"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name string
		raw  map[string]any
		err  string // substring; "" = valid
	}{
		{"defaults", map[string]any{}, ""},
		{"relay", map[string]any{"relay": map[string]any{"domain": "relay.example.org", "smarthost": "127.0.0.1:25"}}, ""},
		{"unknown key", map[string]any{"colour": "red"}, "colour: unknown option"},
		{"bad backlog", map[string]any{"backlog": int64(-1)}, "backlog: must be a whole number"},
		{"backlog over max", map[string]any{"backlog": int64(50), "max_backlog": int64(10)}, "must not exceed max_backlog"},
		{"public listen without url", map[string]any{"listen": "0.0.0.0:8089"}, "listens beyond loopback"},
		{"public listen with url", map[string]any{"listen": "0.0.0.0:8089", "public_url": "https://x.org/f"}, ""},
		{"relay without domain", map[string]any{"relay": map[string]any{}}, "relay.domain"},
		{"relay bad smarthost", map[string]any{"relay": map[string]any{"domain": "r.example.org", "smarthost": "nohost"}}, "relay.smarthost: must be host:port"},
		{"relay bad security", map[string]any{"relay": map[string]any{"domain": "r.example.org", "smarthost_security": "ssl"}}, "relay.smarthost_security"},
		{"relay unknown key", map[string]any{"relay": map[string]any{"domain": "r.example.org", "x": 1}}, "relay.x: unknown option"},
		{"bad duration", map[string]any{"retry_min": "soon"}, "retry_min: must be a duration"},
		{"retry order", map[string]any{"retry_min": "1h", "retry_max": "1m"}, "retry_min: must not exceed retry_max"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseOptions(tc.raw)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestValidHost(t *testing.T) {
	for h, want := range map[string]bool{
		"imap.example.org": true, "127.0.0.1": true, "::1": true, "a-b.c": true,
		"": false, "-a.org": false, "a..org": false, "a b.org": false, "x.org/evil": false, "a@b": false,
		strings.Repeat("a", 64) + ".org": false,
	} {
		if got := validHost(h); got != want {
			t.Errorf("validHost(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestAliasNamesAndSenders(t *testing.T) {
	for n, want := range map[string]bool{"alerts": true, "a.b-c9": true, "": false, ".a": false, "a.": false,
		"a..b": false, "Alerts": false, "a_b": false, "a@b": false, strings.Repeat("a", 31): false} {
		if got := validAliasName(n); got != want {
			t.Errorf("validAliasName(%q) = %v, want %v", n, got, want)
		}
	}
	got, err := parseSenders("Alice@Example.org, @Lists.Example.org;bob@x.org -")
	if err != nil || strings.Join(got, " ") != "alice@example.org @lists.example.org bob@x.org" {
		t.Errorf("parseSenders: %v %v", got, err)
	}
	for _, bad := range []string{"not-an-address", "@bad domain", "a@b@c"} {
		if _, err := parseSenders(bad); err == nil {
			t.Errorf("parseSenders(%q) accepted", bad)
		}
	}
}

func TestConvReferencesBounded(t *testing.T) {
	var c conv
	for i := range 50 {
		c.add(strings.Repeat("x", i+1) + "@h")
	}
	if len(c.References) != maxReferences || c.References[0] != "x@h" || c.Last != strings.Repeat("x", 50)+"@h" ||
		c.References[maxReferences-1] != c.Last {
		t.Errorf("references: %d, first %q, last %q", len(c.References), c.References[0], c.Last)
	}
}

func TestFirstLineAndSizes(t *testing.T) {
	if got := firstLine("  hello there\nsecond", 70); got != "hello there" {
		t.Errorf("firstLine: %q", got)
	}
	if got := firstLine(strings.Repeat("é", 80), 70); got != strings.Repeat("é", 70)+"…" {
		t.Errorf("firstLine long: %q", got)
	}
	for n, want := range map[int64]string{12: "12 bytes", 2048: "2.0 KB", 20 << 10: "20 KB", 3 << 20: "3.0 MB", 40 << 20: "40 MB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParsePrefs(t *testing.T) {
	b := &Bridge{opts: defaultOptions()}
	p := b.parsePrefs(map[string]string{settingFolders: " INBOX, Lists ,,", settingBacklog: "99999", settingMarkRead: "true",
		settingSignature: `Alice\nExample Inc.`})
	if strings.Join(p.Folders, "|") != "INBOX|Lists" || p.Backlog != b.opts.MaxBacklog || !p.MarkRead || p.Signature != "Alice\nExample Inc." {
		t.Errorf("prefs: %+v", p)
	}
	many := b.parsePrefs(map[string]string{settingFolders: "INBOX,INBOX,a,b,c,d,e,f,g,h,i,j"})
	if len(many.Folders) != maxFolders || many.Folders[0] != "INBOX" || many.Folders[1] != "a" {
		t.Errorf("folders not distinct and bounded: %v", many.Folders)
	}
	if p := b.parsePrefs(nil); len(p.Folders) != 1 || p.Folders[0] != "INBOX" || p.Backlog != b.opts.Backlog {
		t.Errorf("default prefs: %+v", p)
	}
}

// testBridge is a bridge with a real store and one registered account.
func testBridge(t *testing.T, raw map[string]any, jids ...string) *Bridge {
	t.Helper()
	ctx := context.Background()
	sealer, err := registry.NewSealer(make([]byte, registry.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	store, err := registry.Open(ctx, filepath.Join(t.TempDir(), "db"), sealer, registry.Options{AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	br, err := Factory("mail.gw", raw, bridges.Deps{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	b := br.(*Bridge)
	for _, j := range jids {
		if err := store.PutAccount(ctx, registry.Account{Transport: "mail.gw", JID: j, Fields: map[string]string{}}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestAliasCommands(t *testing.T) {
	ctx := context.Background()
	b := testBridge(t, map[string]any{"relay": map[string]any{"domain": "relay.test", "max_addresses": int64(2)}},
		"alice@x.org", "bob@x.org")
	if len(b.Commands()) != 3 {
		t.Fatalf("commands: %+v", b.Commands())
	}
	out, err := b.RunCommand(ctx, "alice@x.org", nodeAliasAdd, map[string]string{"name": "Alerts", "senders": "@mon.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.Fields(strings.TrimPrefix(out, "Created "))[0]
	addr = strings.TrimSuffix(addr, ":")
	if !strings.HasPrefix(addr, "alerts.") || !strings.HasSuffix(addr, "@relay.test") {
		t.Fatalf("created %q", out)
	}
	r, ok, err := directory{b}.Lookup(ctx, addr)
	if err != nil || !ok || r.Owner != "alice@x.org" || len(r.Senders) != 1 || r.Senders[0] != "@mon.example.org" {
		t.Fatalf("lookup: %+v %v %v", r, ok, err)
	}
	if _, ok, _ := (directory{b}).Lookup(ctx, "nosuch.aaaaaa@relay.test"); ok {
		t.Error("unknown address found")
	}
	if out, _ := b.RunCommand(ctx, "bob@x.org", nodeAliasList, nil); strings.Contains(out, addr) {
		t.Errorf("bob sees alice's address: %q", out)
	}
	if _, err := b.RunCommand(ctx, "bob@x.org", nodeAliasDelete, map[string]string{"address": addr}); !isCond(err, bridges.ItemNotFound) {
		t.Errorf("bob deleting alice's address: %v", err)
	}
	if _, err := b.RunCommand(ctx, "alice@x.org", nodeAliasAdd, map[string]string{"name": "bad name"}); !isCond(err, bridges.NotAcceptable) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := b.RunCommand(ctx, "alice@x.org", nodeAliasAdd, map[string]string{"name": "two"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.RunCommand(ctx, "alice@x.org", nodeAliasAdd, map[string]string{"name": "three"}); !isCond(err, bridges.PolicyViolation) {
		t.Errorf("over the limit: %v", err)
	}
	if out, _ := b.RunCommand(ctx, "alice@x.org", nodeAliasList, nil); !strings.Contains(out, addr) || !strings.Contains(out, "(2)") {
		t.Errorf("list: %q", out)
	}
	if _, err := b.RunCommand(ctx, "alice@x.org", nodeAliasDelete, map[string]string{"address": strings.ToUpper(addr)}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := (directory{b}).Lookup(ctx, addr); ok {
		t.Error("deleted address still found")
	}
	if rep, err := b.AccountReport(ctx, "alice@x.org"); err != nil || !strings.Contains(rep, "mail sent: 0 in the last hour") ||
		!strings.HasSuffix(rep, "relay addresses: 1") {
		t.Errorf("admin report: %q %v", rep, err)
	}
}

func isCond(err error, c bridges.Condition) bool {
	be, ok := err.(*bridges.Error)
	return ok && be.Condition == c
}

func TestAttachmentLinks(t *testing.T) {
	ctx := context.Background()
	b := testBridge(t, map[string]any{"public_url": "https://gw.example/f/"}, "alice@x.org", "bob@x.org")
	s := &session{b: b, jid: "alice@x.org"}
	link, err := s.attachmentLink(ctx, origin{Folder: "INBOX", UIDValidity: 7, UID: 42, Via: "x"}, "2")
	if err != nil {
		t.Fatal(err)
	}
	token, ok := strings.CutPrefix(link, "https://gw.example/f"+attachmentPath)
	if !ok {
		t.Fatalf("link %q", link)
	}
	got, err := b.verifyLink(ctx, token)
	if err != nil || got.JID != "alice@x.org" || got.Origin.UID != 42 || got.Origin.Folder != "INBOX" || got.Part != "2" {
		t.Fatalf("verify: %+v %v", got, err)
	}
	// Altering the target (here: claiming bob's mailbox) breaks the signature.
	flipped := token[:len(token)-1] + map[bool]string{true: "B", false: "A"}[token[len(token)-1] == 'A']
	for _, bad := range []string{flipped, "x" + token, "nodot", ""} {
		if _, err := b.verifyLink(ctx, bad); err == nil {
			t.Errorf("tampered token %q accepted", bad)
		}
	}
	// The key is per user and stable.
	again, _ := s.attachmentLink(ctx, origin{Folder: "INBOX", UIDValidity: 7, UID: 42}, "2")
	if again != link {
		t.Errorf("same target, different links: %q %q", link, again)
	}
}

func TestFolderStateRoundTrip(t *testing.T) {
	ctx := context.Background()
	b := testBridge(t, nil, "alice@x.org")
	fs := folderState{b: b, jid: "alice@x.org", account: "alice@x.org"}
	if _, ok, err := fs.Load(ctx, "INBOX"); ok || err != nil {
		t.Fatalf("empty load: %v %v", ok, err)
	}
	for _, uid := range []uint32{5, 9} {
		if err := fs.Save(ctx, "INBOX", stateOf(3, uid)); err != nil {
			t.Fatal(err)
		}
	}
	st, ok, err := fs.Load(ctx, "INBOX")
	if !ok || err != nil || st.UIDValidity != 3 || st.LastUID != 9 {
		t.Fatalf("load: %+v %v %v", st, ok, err)
	}
	if _, ok, _ := fs.Load(ctx, "Lists"); ok {
		t.Error("another folder shares the state")
	}
}

func stateOf(v, uid uint32) imapwatch.State { return imapwatch.State{UIDValidity: v, LastUID: uid} }

func farFuture() time.Time { return time.Now().Add(24 * time.Hour) }

// The annotated email block of the example config (commented out there)
// must stay valid.
func TestExampleConfigBlock(t *testing.T) {
	raw, err := os.ReadFile("../../config/ferry.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "# kind = \"email\"")
	end := strings.Index(text[start:], "#\n# [[transport]]")
	if start < 0 || end < 0 {
		t.Fatal("no email block in the example config")
	}
	var block []string
	for _, line := range strings.Split(text[start:start+end], "\n") {
		line = strings.TrimPrefix(strings.TrimPrefix(line, "#"), " ")
		if strings.Contains(line, "_file") {
			continue // files that exist only on a real gateway
		}
		block = append(block, line)
	}
	var doc struct {
		Kind    string
		Options map[string]any `toml:"options"`
	}
	src := strings.ReplaceAll(strings.Join(block, "\n"), "[transport.options", "[options")
	if _, err := toml.Decode(src, &doc); err != nil {
		t.Fatalf("example block does not parse: %v\n%s", err, src)
	}
	o, err := parseOptions(doc.Options)
	if err != nil {
		t.Errorf("example options: %v", err)
	}
	if doc.Kind != "email" || o.Relay == nil || o.Relay.Domain != "relay.example.org" || o.PublicURL == "" {
		t.Errorf("example block read as kind %q, options %+v", doc.Kind, o)
	}
}

func TestCAFile(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(dir, "missing.pem"), junk} {
		if _, err := Factory("mail.gw", map[string]any{"ca_file": f}, bridges.Deps{}); err == nil || !strings.Contains(err.Error(), "ca_file") {
			t.Errorf("ca_file %s: %v", f, err)
		}
	}
	cert, _ := testenv.SelfSigned(t, "imap.test")
	good := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(good, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	br, err := Factory("mail.gw", map[string]any{"ca_file": good}, bridges.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	b := br.(*Bridge)
	if b.tls == nil || b.tls.RootCAs == nil {
		t.Fatal("ca_file not used")
	}
	if a, _ := b.accountFrom(map[string]string{fieldEmail: "a@b.org", fieldIMAPHost: "h", fieldIMAPPort: "993", fieldIMAPSecurity: "tls",
		fieldSMTPHost: "h", fieldSMTPPort: "587", fieldSMTPSecurity: "starttls"}); a.imapServer().TLSConfig != b.tls || a.smtpServer().TLSConfig != b.tls {
		t.Error("the account's servers do not use the operator's roots")
	}
}

// Users cannot make the gateway connect inward: every special-purpose
// address is refused at registration and by the dialer on every
// connection (a name may resolve elsewhere later), with the same text as
// a server that does not answer; the operator may allow hosts by name,
// address or prefix.
func TestPrivateHostsRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	_, closedPort, _ := net.SplitHostPort(closed.Addr().String())
	closed.Close()
	register := func(b *Bridge, host, port string) error {
		_, err := b.Validate(context.Background(), bridges.Registration{JID: "a@x.org", Values: map[string]string{
			fieldEmail: "a@example.org", fieldPassword: "pw", fieldIMAPHost: host, fieldIMAPPort: port,
			fieldIMAPSecurity: "plain", fieldSMTPHost: host, fieldSMTPPort: port, fieldSMTPSecurity: "plain"}})
		return err
	}
	uniform := func(host, port string) string {
		return "IMAP server " + net.JoinHostPort(host, port) + " cannot be reached from this gateway (check its name, port and security)"
	}
	unlimited := map[string]any{"every": "0s"}
	br, err := Factory("mail.gw", map[string]any{"allow_plain": true, "login_limit_user": unlimited, "login_limit_server": unlimited}, bridges.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	b := br.(*Bridge)
	for _, host := range []string{"127.0.0.1", "localhost", "10.0.0.1", "100.100.100.200", "169.254.169.254", "198.18.0.1",
		"192.0.0.8", "240.0.0.1", "0.0.0.0", "::1", "::127.0.0.1", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1", "fec0::1",
		"fd00::1", "no-such-host.invalid"} {
		err := register(b, host, "993")
		var be *bridges.Error
		if !errors.As(err, &be) || be.Condition != bridges.RemoteServerNotFnd || be.Text != uniform(host, "993") {
			t.Errorf("registration naming %s: %v", host, err)
		}
	}
	// The dialer refuses too: a name that resolved publicly at
	// registration cannot be pointed inward afterwards.
	a, err := b.accountFrom(map[string]string{fieldEmail: "a@example.org", fieldPassword: "pw", fieldIMAPHost: "mail.example.org", fieldIMAPPort: port,
		fieldIMAPSecurity: "plain", fieldSMTPHost: "mail.example.org", fieldSMTPPort: port, fieldSMTPSecurity: "plain"})
	if err != nil {
		t.Fatal(err)
	}
	imapSrv, smtpSrv := a.imapServer(), a.smtpServer()
	imapSrv.Addr, smtpSrv.Addr = ln.Addr().String(), ln.Addr().String()
	ctx := context.Background()
	var refused *netguard.Refused
	if err := imapwatch.Check(ctx, imapSrv); !errors.As(err, &refused) || errorText(err) != "the server "+unreachableText {
		t.Errorf("IMAP dial to 127.0.0.1: %v (%q)", err, errorText(err))
	}
	if err := submit.Check(ctx, smtpSrv); !errors.As(err, &refused) || errorText(err) != "the server "+unreachableText {
		t.Errorf("SMTP dial to 127.0.0.1: %v (%q)", err, errorText(err))
	}

	// Allowed by the operator, by address, prefix or name: the
	// registration gets through to the login (nothing answers as a mail
	// server there: an unreachable error, not a refusal).
	for _, allowed := range []string{"127.0.0.1", "127.0.0.0/8", "localhost"} {
		br, err := Factory("mail.gw", map[string]any{"allow_plain": true, "allowed_private_hosts": []any{allowed}}, bridges.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		host := "127.0.0.1"
		if allowed == "localhost" {
			host = "localhost"
		}
		err = register(br.(*Bridge), host, closedPort)
		var be *bridges.Error
		if !errors.As(err, &be) || errors.As(err, &refused) || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("allowed %s: %v", allowed, err)
		} else if be.Text != uniform(host, closedPort) {
			t.Errorf("allowed %s: the user reads %q", allowed, be.Text)
		}
	}
	if _, err := Factory("mail.gw", map[string]any{"allowed_private_hosts": []any{"10.0.0.0/33"}}, bridges.Deps{}); err == nil ||
		!strings.Contains(err.Error(), "allowed_private_hosts") {
		t.Errorf("bad allowed_private_hosts: %v", err)
	}
}

package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ergochat/irc-go/ircmsg"
)

// ergoName is the server name in the shipped test configuration.
const ergoName = "ergo.test"

// ErgoOptions configures StartErgo.
type ErgoOptions struct {
	Name string // the server's name, default "ergo.test"
}

// StartErgo runs the ergo IRC server, the project's IRCv3 server (SASL
// PLAIN/EXTERNAL/SCRAM-SHA-256, server-time, message-tags, echo-message,
// ...), from ../shared/tools/ergo beside the project root, with its
// loopback test configuration: a plain port picked at random, its
// database in a fresh directory, no MOTD, no throttling. It is stopped
// when the test ends.
func StartErgo(t TB, o ErgoOptions) *IRCServer {
	t.Helper()
	bin, template := NeedErgo(t)
	tmpl, err := os.ReadFile(template)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if o.Name == "" {
		o.Name = ergoName
	}
	if strings.ContainsAny(o.Name, " \r\n:'\"#") {
		t.Fatalf("testenv: ergo server name %q", o.Name)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "ergo.yaml")
	s := &IRCServer{
		Name:    o.Name,
		Dir:     dir,
		kind:    "ergo",
		bin:     bin,
		args:    []string{"run", "--conf", config},
		console: filepath.Join(dir, "ergo.log"),
		readyLine: func(log string) bool {
			return strings.Contains(log, "Server running")
		},
		bindFailed: func(log string) bool {
			return strings.Contains(log, "address already in use")
		},
	}
	s.launch(t, 1, func(ports []int) error {
		s.Addr = loopback(ports[0])
		// A new port means a new start: a fresh database too.
		data, err := os.MkdirTemp(dir, "data")
		if err != nil {
			return err
		}
		conf := strings.NewReplacer("PORT", strconv.Itoa(ports[0]), "DATADIR", data,
			"  name: "+ergoName+"\n", "  name: "+o.Name+"\n").Replace(string(tmpl))
		return os.WriteFile(config, []byte(conf), 0o600)
	})
	return s
}

// NeedErgo returns the ergo binary and its test configuration, found at
// ../shared/tools/ergo from the module root (CI has them at the same
// relative path). Missing, the test is skipped, or fails under CI.
func NeedErgo(t TB) (bin, config string) {
	t.Helper()
	dir, err := ergoDir()
	if err == nil {
		bin, config = filepath.Join(dir, "ergo"), filepath.Join(dir, "ergo-test.yaml")
		if _, err = os.Stat(config); err == nil {
			_, err = os.Stat(bin)
		}
	}
	if err == nil {
		return bin, config
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("testenv: ergo is required in CI but not found at ../shared/tools/ergo beside the project: %v", err)
	}
	t.Skipf("testenv: ergo not found at ../shared/tools/ergo beside the project: %v", err)
	return "", ""
}

// ergoDir is ../shared/tools/ergo from the directory holding go.mod.
func ergoDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "tools", "ergo"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// RegisterAccount creates the services account nick with password on an
// ergo server (NickServ REGISTER, no e-mail verification), from a
// connection that leaves once the account exists.
func (s *IRCServer) RegisterAccount(t TB, nick, password string) {
	t.Helper()
	c := s.Connect(t, nick)
	defer c.Close()
	c.Send(t, "PRIVMSG NickServ :REGISTER "+password)
	m := c.Expect(t, loginTimeout, func(m ircmsg.Message) bool {
		return m.Nick() == "NickServ" && m.Command == "NOTICE" || m.Command == "FAIL" || isErrorNumeric(m.Command)
	})
	if m.Command != "NOTICE" || !strings.Contains(m.Params[len(m.Params)-1], "Account created") {
		t.Fatalf("testenv: registering the account %s on %s: %s", nick, s.Name, mustLine(m))
	}
}

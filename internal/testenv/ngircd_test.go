package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
)

const waitIRC = 5 * time.Second

// startTestNgircd runs the test in parallel with the others (each has its
// own server on its own ports) and starts ngIRCd.
func startTestNgircd(t *testing.T, o NgircdOptions) *IRCServer {
	t.Helper()
	t.Parallel()
	NeedNgircd(t)
	return StartNgircd(t, o)
}

func isPrivmsg(from, target, text string) func(ircmsg.Message) bool {
	return func(m ircmsg.Message) bool {
		return m.Command == "PRIVMSG" && m.Nick() == from && len(m.Params) == 2 &&
			m.Params[0] == target && m.Params[1] == text
	}
}

func isCommand(command string) func(ircmsg.Message) bool {
	return func(m ircmsg.Message) bool { return m.Command == command }
}

// joinTest joins c to #test and waits for the end of the names list, so the
// join is complete.
func joinTest(t *testing.T, c *IRCClient) {
	t.Helper()
	c.Send(t, "JOIN #test")
	c.Expect(t, waitIRC, func(m ircmsg.Message) bool { return m.Command == "366" && len(m.Params) > 1 && m.Params[1] == "#test" })
}

func TestNgircdChannelMessage(t *testing.T) {
	s := startTestNgircd(t, NgircdOptions{})
	if s.Name != "irc.test" || !strings.HasPrefix(s.Addr, "127.0.0.1:") || s.TLSAddr != "" || s.CACertFile() != "" {
		t.Fatalf("unexpected server: %+v", s)
	}
	alice := s.Connect(t, "alice")
	bob := s.Connect(t, "bob_with_a_long_nickname")
	if alice.Nick != "alice" || bob.Nick != "bob_with_a_long_nickname" {
		t.Errorf("nicks %q %q", alice.Nick, bob.Nick)
	}
	if r := alice.Registration; len(r) < 2 || r[0].Command != "001" || r[len(r)-1].Command != "376" {
		t.Errorf("registration burst: %v", r)
	}
	joinTest(t, alice)
	joinTest(t, bob)
	alice.Expect(t, waitIRC, func(m ircmsg.Message) bool { return m.Command == "JOIN" && m.Nick() == bob.Nick })

	alice.Send(t, "PRIVMSG #test :hello, world")
	m := bob.Expect(t, waitIRC, isPrivmsg("alice", "#test", "hello, world"))
	if !strings.HasPrefix(m.Source, "alice!") {
		t.Errorf("source %q", m.Source)
	}
	// A private message, and nothing echoed back to the sender.
	bob.Send(t, "PRIVMSG alice :psst")
	alice.Expect(t, waitIRC, isPrivmsg(bob.Nick, "alice", "psst"))
	alice.Sync(t)
	alice.ExpectNone(t, 0, isCommand("PRIVMSG"))

	// Unmatched messages stay queued, in order.
	for _, text := range []string{"one", "two", "three"} {
		alice.Send(t, "PRIVMSG #test :"+text)
	}
	bob.Expect(t, waitIRC, isPrivmsg("alice", "#test", "three"))
	bob.Expect(t, waitIRC, isPrivmsg("alice", "#test", "one"))
	bob.Expect(t, waitIRC, isPrivmsg("alice", "#test", "two"))

	bob.Close()
	alice.Expect(t, waitIRC, func(m ircmsg.Message) bool { return m.Command == "QUIT" && m.Nick() == bob.Nick })
	bob.Close() // closing twice is harmless
}

func TestNgircdNickInUse(t *testing.T) {
	s := startTestNgircd(t, NgircdOptions{})
	s.Connect(t, "alice")
	c, err := s.dial(false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.register("", "alice"); err == nil || !strings.Contains(err.Error(), "433") {
		t.Errorf("registering a nick in use: %v", err)
	}
}

func TestNgircdRestart(t *testing.T) {
	s := startTestNgircd(t, NgircdOptions{})
	addr := s.Addr
	alice := s.Connect(t, "alice")
	s.Stop(t)
	select {
	case <-alice.Done():
	case <-time.After(waitIRC):
		t.Fatal("alice still connected after ngircd stopped")
	}
	if accepts(addr) {
		t.Fatal("port still accepts after Stop")
	}
	s.Stop(t) // stopping twice is harmless
	s.Start(t)
	if s.Addr != addr {
		t.Fatalf("address changed over restart: %s, was %s", s.Addr, addr)
	}
	alice = s.Connect(t, "alice")
	bob := s.Connect(t, "bob")
	bob.Send(t, "PRIVMSG alice :back")
	alice.Expect(t, waitIRC, isPrivmsg("bob", "alice", "back"))
	if n := strings.Count(s.Log(), ") ready."); n != 2 {
		t.Errorf("log shows %d starts, want 2", n)
	}
}

func TestNgircdFloodProtection(t *testing.T) {
	t.Parallel()
	// sendBurst has alice send n lines to #test at once, and returns bob
	// and the texts in order.
	sendBurst := func(t *testing.T, s *IRCServer, n int) (*IRCClient, []string) {
		alice := s.Connect(t, "alice")
		bob := s.Connect(t, "bob")
		joinTest(t, alice)
		joinTest(t, bob)
		texts := make([]string, n)
		for i := range texts {
			texts[i] = fmt.Sprintf("line %d of %d", i+1, n)
			alice.Send(t, "PRIVMSG #test :"+texts[i])
		}
		return bob, texts
	}
	t.Run("off", func(t *testing.T) {
		s := startTestNgircd(t, NgircdOptions{})
		bob, texts := sendBurst(t, s, 30)
		for _, text := range texts {
			bob.Expect(t, waitIRC, isPrivmsg("alice", "#test", text))
		}
	})
	t.Run("on", func(t *testing.T) {
		s := startTestNgircd(t, NgircdOptions{FloodProtection: true})
		bob, texts := sendBurst(t, s, 10)
		// ngIRCd holds a burst back rather than dropping it: every line
		// arrives, in order. (How long it holds them depends on timing, so
		// that is not asserted.)
		for _, text := range texts {
			bob.Expect(t, 30*time.Second, isPrivmsg("alice", "#test", text))
		}
	})
}

func TestNgircdPassword(t *testing.T) {
	s := startTestNgircd(t, NgircdOptions{Password: "let me in"})
	if s.Password() != "let me in" {
		t.Errorf("Password() = %q", s.Password())
	}
	alice := s.Connect(t, "alice") // sends the password
	alice.Sync(t)
	for _, pw := range []string{"", "wrong"} {
		c, err := s.dial(false)
		if err != nil {
			t.Fatal(err)
		}
		err = c.register(pw, "mallory")
		c.Close()
		if err == nil {
			t.Errorf("registered with password %q", pw)
		} else if !strings.Contains(err.Error(), "464") && !strings.Contains(err.Error(), "ERROR") {
			t.Errorf("password %q: %v", pw, err)
		}
	}
}

func TestNgircdTLS(t *testing.T) {
	s := startTestNgircd(t, NgircdOptions{Name: "tls.irc.test", TLS: true})
	if s.TLSAddr == "" || s.TLSAddr == s.Addr || s.CACertFile() == "" {
		t.Fatalf("TLS server: %+v", s)
	}
	pemBytes, err := os.ReadFile(s.CACertFile())
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatalf("no PEM in %s", s.CACertFile())
	}
	if ca, err := x509.ParseCertificate(block.Bytes); err != nil || !ca.IsCA {
		t.Fatalf("CA certificate: %v", err)
	}

	alice := s.ConnectTLS(t, "alice")
	bob := s.Connect(t, "bob")
	alice.Send(t, "PRIVMSG bob :over TLS")
	bob.Expect(t, waitIRC, isPrivmsg("alice", "bob", "over TLS"))
	if _, ok := alice.conn.(*tls.Conn); !ok {
		t.Errorf("alice's connection is a %T", alice.conn)
	}

	// The certificate names the server and 127.0.0.1, and is trusted only
	// through the test CA.
	cfg, err := s.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tls.irc.test", "127.0.0.1", "localhost"} {
		cfg := cfg.Clone()
		cfg.ServerName = name
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: waitIRC}, "tcp", s.TLSAddr, cfg)
		if err != nil {
			t.Errorf("TLS as %s: %v", name, err)
			continue
		}
		conn.Close()
	}
	if conn, err := tls.DialWithDialer(&net.Dialer{Timeout: waitIRC}, "tcp", s.TLSAddr, &tls.Config{ServerName: "tls.irc.test"}); err == nil {
		conn.Close()
		t.Error("the test certificate is trusted without the test CA")
	}
	if strings.Contains(s.Log(), "generating") {
		t.Error("ngircd generated DH parameters instead of reading the file")
	}
}

// A port taken by someone else between FreePort and ngIRCd's bind is
// reported as errPortTaken (StartNgircd then retries with new ports).
func TestNgircdPortTakenDetected(t *testing.T) {
	s := startTestNgircd(t, NgircdOptions{})
	s.Stop(t)
	l, err := net.Listen("tcp", s.Addr)
	if err != nil {
		t.Skipf("port already reused: %v", err)
	}
	defer l.Close()
	if err := s.start(); err != errPortTaken {
		t.Errorf("start with the port taken: %v", err)
	}
	s.Stop(t)
}

func TestFFDHE2048Parameters(t *testing.T) {
	block, rest := pem.Decode([]byte(ffdhe2048PEM))
	if block == nil || block.Type != "DH PARAMETERS" || len(strings.TrimSpace(string(rest))) != 0 {
		t.Fatalf("bad PEM: %v", block)
	}
	var params struct{ P, G *big.Int }
	if rest, err := asn1.Unmarshal(block.Bytes, &params); err != nil || len(rest) != 0 {
		t.Fatalf("PKCS #3: %v", err)
	}
	// RFC 7919: 2048 bits, the top and bottom 64 bits all ones, generator 2.
	ones := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 64), big.NewInt(1))
	low := new(big.Int).And(params.P, ones)
	high := new(big.Int).Rsh(params.P, 2048-64)
	if params.P.BitLen() != 2048 || params.G.Int64() != 2 || low.Cmp(ones) != 0 || high.Cmp(ones) != 0 {
		t.Errorf("not ffdhe2048: p has %d bits, g = %v", params.P.BitLen(), params.G)
	}
	if !params.P.ProbablyPrime(4) {
		t.Error("p is not prime")
	}
}

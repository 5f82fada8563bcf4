package ircconn

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func baseConfig(addr string) Config {
	return Config{Addr: addr, Nick: "alice", PingInterval: -1, Caps: testCaps}
}

// testCaps are what the tests' caller handles.
var testCaps = []string{"server-time", "message-tags", "echo-message", "away-notify", "multi-prefix", "chghost", "extended-join"}

func TestRegisterPlain(t *testing.T) {
	s := newFakeServer(t)
	cfg := baseConfig(s.addr())
	cfg.Password = "sekrit pass"
	ch := dialAsync(cfg)
	p := s.accept()
	p.expect("PASS :sekrit pass")
	p.expect("CAP LS 302", "NICK alice", "USER alice 0 * alice")
	p.send(":srv NOTICE * :*** Looking up your hostname...", ":srv CAP * LS :")
	p.expect("CAP END")
	p.welcome("alice")
	c := mustDial(t, ch)

	if c.Nick() != "alice" {
		t.Errorf("Nick() = %q", c.Nick())
	}
	is := c.ISupport()
	if is.ChanTypes != "#" || is.PrefixModes != "qaohv" || is.Prefixes != "~&@%+" || is.NickLen != 30 ||
		is.Network != "Test Net" || is.CaseMapping != "ascii" || is.ChannelLen != 64 || is.TopicLen != 307 {
		t.Errorf("ISupport() = %+v", is)
	}
	if len(c.Caps()) != 0 {
		t.Errorf("Caps() = %v", c.Caps())
	}
	// The burst from 001 on is delivered, in order; the pre-001 NOTICE is not.
	for _, want := range []string{"001", "002", "005", "005", "375", "372", "376"} {
		if m := next(t, c); m.Command != want {
			t.Fatalf("got %s %v, want %s", m.Command, m.Params, want)
		}
	}
	// Lines after Dial returned are delivered too.
	p.send(":bob!b@h PRIVMSG alice :hi there")
	if m := next(t, c); m.Command != "PRIVMSG" || m.Nick() != "bob" || m.Params[1] != "hi there" {
		t.Fatalf("got %+v", m)
	}

	done := make(chan error, 1)
	go func() { done <- c.Close(context.Background(), "see you") }()
	p.expect("QUIT :see you")
	p.send("ERROR :Closing link: alice (Quit: see you)")
	p.conn.Close()
	if err := <-done; err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitClosed(t, c)
	wantErrKind(t, c.Err(), KindClosed, "")
	if !errors.Is(c.Err(), ErrClosed) {
		t.Errorf("Err() = %v, want ErrClosed", c.Err())
	}
	if err := c.Close(context.Background(), ""); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRegisterSASLPlain(t *testing.T) {
	s := newFakeServer(t)
	cfg := baseConfig(s.addr())
	cfg.SASL, cfg.SASLUser, cfg.SASLPass = "plain", "alice-acct", "p4ss w0rd"
	ch := dialAsync(cfg)
	p := s.accept()
	p.expectHello("", "alice")
	p.send(":srv CAP * LS * :multi-prefix extended-join account-notify batch",
		":srv CAP * LS :sasl=PLAIN,EXTERNAL server-time message-tags echo-message away-notify chghost draft/foo=bar")
	// sasl first, then the rest sorted; account-notify and batch are not asked for.
	p.expect("CAP REQ :sasl away-notify chghost echo-message extended-join message-tags multi-prefix server-time")
	p.send(":srv CAP alice ACK :sasl server-time message-tags echo-message away-notify multi-prefix chghost extended-join")
	p.expect("AUTHENTICATE PLAIN")
	p.send("AUTHENTICATE +")
	// authzid (empty) NUL authcid NUL password
	p.expect("AUTHENTICATE " + base64.StdEncoding.EncodeToString([]byte("\x00alice-acct\x00p4ss w0rd")))
	if got := "AUTHENTICATE AGFsaWNlLWFjY3QAcDRzcyB3MHJk"; got != "AUTHENTICATE "+base64.StdEncoding.EncodeToString([]byte("\x00alice-acct\x00p4ss w0rd")) {
		t.Fatal("payload encoding changed")
	}
	p.send(":srv 900 alice alice!alice@h alice-acct :You are now logged in as alice-acct",
		":srv 903 alice :SASL authentication successful")
	p.expect("CAP END")
	p.welcome("alice")
	c := mustDial(t, ch)
	caps := c.Caps()
	for _, name := range []string{"sasl", "server-time", "message-tags", "echo-message", "away-notify", "multi-prefix", "chghost", "extended-join"} {
		if !caps[name] {
			t.Errorf("cap %s not acknowledged: %v", name, caps)
		}
	}
	if len(caps) != 8 {
		t.Errorf("Caps() = %v", caps)
	}
}

func TestRegisterSASLPlainChunked(t *testing.T) {
	// "\x00u\x00" + password: 403 bytes encode to 540 base64 bytes (400 +
	// 140); 600 bytes encode to exactly 800 (400 + 400, then "+").
	for _, tc := range []struct {
		passLen int
		chunks  []int
	}{{400, []int{400, 140}}, {597, []int{400, 400, 1}}} {
		s := newFakeServer(t)
		cfg := baseConfig(s.addr())
		cfg.SASL, cfg.SASLUser, cfg.SASLPass = SASLPlain, "u", strings.Repeat("x", tc.passLen)
		ch := dialAsync(cfg)
		p := s.accept()
		p.expectHello("", "alice")
		p.send(":srv CAP * LS :sasl")
		p.expect("CAP REQ sasl")
		p.send(":srv CAP * ACK sasl")
		p.expect("AUTHENTICATE PLAIN")
		p.send("AUTHENTICATE +")
		b64 := base64.StdEncoding.EncodeToString([]byte("\x00u\x00" + cfg.SASLPass))
		var got string
		for i, n := range tc.chunks {
			line := p.readLine()
			chunk, ok := strings.CutPrefix(line, "AUTHENTICATE ")
			if !ok || len(chunk) != n {
				t.Fatalf("chunk %d: got %q, want %d bytes", i, line, n)
			}
			if chunk != "+" {
				got += chunk
			}
		}
		if got != b64 {
			t.Fatalf("payload %q, want %q", got, b64)
		}
		p.send(":srv 903 alice :SASL authentication successful")
		p.expect("CAP END")
		p.welcome("alice")
		c := mustDial(t, ch)
		closeQuick(c)
	}
}

func TestRegisterSASLExternalNeedsTLS(t *testing.T) {
	_, err := Dial(context.Background(), Config{Addr: "127.0.0.1:1", Nick: "a", SASL: "EXTERNAL"})
	wantErrKind(t, err, KindConfig, "")
}

// TestRegisterFailures covers the ways registration fails; none of them
// may hang.
func TestRegisterFailures(t *testing.T) {
	lsNothing := func(p *peer) {
		p.send(":srv CAP * LS :")
		p.expect("CAP END")
	}
	for _, tc := range []struct {
		name   string
		sasl   bool
		script func(p *peer)
		kind   ErrorKind
		code   string
		text   string
		quit   bool // the client says QUIT before hanging up
	}{
		{name: "sasl 904", sasl: true, script: func(p *peer) {
			p.send(":srv CAP * LS :sasl=PLAIN")
			p.expect("CAP REQ sasl")
			p.send(":srv CAP * ACK :sasl")
			p.expect("AUTHENTICATE PLAIN")
			p.send("AUTHENTICATE +")
			p.readLine()
			p.send(":srv 904 alice :SASL authentication failed")
		}, kind: KindSASL, code: "904", text: "SASL authentication failed", quit: true},
		{name: "sasl 902 nick locked", sasl: true, script: func(p *peer) {
			p.send(":srv CAP * LS :sasl")
			p.expect("CAP REQ sasl")
			p.send(":srv CAP * ACK :sasl")
			p.expect("AUTHENTICATE PLAIN")
			p.send(":srv 902 alice :You must use a nick assigned to you")
		}, kind: KindSASL, code: "902", text: "assigned to you", quit: true},
		{name: "sasl not offered", sasl: true, script: func(p *peer) {
			p.send(":srv CAP * LS :server-time")
		}, kind: KindSASL, text: "does not offer SASL", quit: true},
		{name: "sasl mechanism not offered", sasl: true, script: func(p *peer) {
			p.send(":srv CAP * LS :sasl=EXTERNAL,OAUTHBEARER")
		}, kind: KindSASL, text: "offers SASL EXTERNAL,OAUTHBEARER, not PLAIN", quit: true},
		{name: "sasl NAKed", sasl: true, script: func(p *peer) {
			p.send(":srv CAP * LS :sasl server-time")
			p.expect("CAP REQ :sasl server-time")
			p.send(":srv CAP * NAK :sasl server-time")
			// The combined request is retried cap by cap.
			p.expect("CAP REQ sasl", "CAP REQ server-time")
			p.send(":srv CAP * NAK :sasl", ":srv CAP * ACK :server-time")
		}, kind: KindSASL, text: "refused the sasl capability", quit: true},
		{name: "sasl but no CAP (421)", sasl: true, script: func(p *peer) {
			p.send(":srv 421 * CAP :Unknown command")
		}, kind: KindSASL, text: "does not support CAP", quit: true},
		{name: "sasl but no CAP (silent)", sasl: true, script: func(p *peer) {
			p.send(":srv 001 alice :Welcome")
		}, kind: KindSASL, text: "without SASL", quit: true},
		{name: "erroneous nick", script: func(p *peer) {
			lsNothing(p)
			p.send(":srv 432 * alice :Erroneous Nickname")
		}, kind: KindNick, code: "432", text: `nick refused: "alice": Erroneous Nickname (432)`, quit: true},
		{name: "bad password", script: func(p *peer) {
			lsNothing(p)
			p.send(":srv 464 alice :Password incorrect")
		}, kind: KindPassword, code: "464", text: "Password incorrect", quit: true},
		{name: "banned", script: func(p *peer) {
			lsNothing(p)
			p.send(":srv 465 alice :You are banned from this server- spam")
		}, kind: KindBanned, code: "465", text: "spam", quit: true},
		{name: "ERROR K-Lined", script: func(p *peer) {
			lsNothing(p)
			p.send("ERROR :Closing Link: 127.0.0.1 (K-Lined)")
		}, kind: KindBanned, text: "K-Lined"},
		{name: "ERROR bad password", script: func(p *peer) {
			lsNothing(p)
			p.send("ERROR :Access denied: Bad password?")
		}, kind: KindPassword, text: "Bad password"},
		{name: "ERROR other", script: func(p *peer) {
			lsNothing(p)
			p.send("ERROR :Closing Link: 127.0.0.1 (Too many connections from your host)")
		}, kind: KindServer, text: "Too many connections"},
		{name: "hang up", script: func(p *peer) {
			lsNothing(p)
			p.conn.Close()
		}, kind: KindServer, text: "closed the connection"},
		{name: "all nicks in use", script: func(p *peer) {
			lsNothing(p)
			p.send(":srv 433 * alice :Nickname is already in use")
			for _, n := range []string{"alice_", "alice__", "alice1", "alice2", "alice3", "alice4", "alice5", "alice6", "alice7"} {
				p.expect("NICK " + n)
				p.send(":srv 433 * " + n + " :Nickname is already in use")
			}
		}, kind: KindNick, code: "433", text: "fallbacks are all unavailable", quit: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeServer(t)
			cfg := baseConfig(s.addr())
			if tc.sasl {
				cfg.SASL, cfg.SASLUser, cfg.SASLPass = SASLPlain, "alice", "pw"
			}
			ch := dialAsync(cfg)
			p := s.accept()
			p.expectHello("", "alice")
			tc.script(p)
			c, err := waitDial(t, ch)
			if c != nil {
				t.Fatal("Dial returned a Conn with an error")
			}
			e := wantErrKind(t, err, tc.kind, tc.code)
			if !strings.Contains(e.Error(), tc.text) {
				t.Errorf("error %q does not contain %q", e, tc.text)
			}
			if tc.name != "hang up" {
				rest := p.expectEOF()
				if tc.quit && (len(rest) == 0 || rest[len(rest)-1] != "QUIT") {
					t.Errorf("client's last lines %q, want QUIT", rest)
				}
			}
		})
	}
}

func TestRegisterNoCAP(t *testing.T) {
	for _, reply := range []string{":srv 421 * CAP :Unknown command", ":srv 451 * CAP :You have not registered", ""} {
		s := newFakeServer(t)
		ch := dialAsync(baseConfig(s.addr()))
		p := s.accept()
		p.expectHello("", "alice")
		if reply != "" {
			p.send(reply)
		}
		// NICK and USER are already out: the server just registers us.
		p.send(":srv 001 alice :Welcome", ":srv 422 alice :MOTD File is missing")
		c := mustDial(t, ch)
		if c.Nick() != "alice" {
			t.Errorf("Nick() = %q", c.Nick())
		}
		if is := c.ISupport(); is.ChanTypes != "#&" || is.Prefixes != "@+" || is.PrefixModes != "ov" || is.CaseMapping != "rfc1459" {
			t.Errorf("default ISupport() = %+v", is)
		}
		closeQuick(c)
	}
}

func TestRegisterCAPWithoutSASLWanted(t *testing.T) {
	// sasl is offered but not configured: it is not requested.
	s := newFakeServer(t)
	ch := dialAsync(baseConfig(s.addr()))
	p := s.accept()
	p.expectHello("", "alice")
	p.send(":srv CAP * LS :sasl=PLAIN echo-message cap-notify")
	p.expect("CAP REQ :cap-notify echo-message")
	p.send(":srv CAP alice ACK :cap-notify echo-message")
	p.expect("CAP END")
	p.welcome("alice")
	c := mustDial(t, ch)
	if caps := c.Caps(); len(caps) != 2 || !caps["echo-message"] || !caps["cap-notify"] {
		t.Errorf("Caps() = %v", caps)
	}
}

func TestRegisterNickFallback(t *testing.T) {
	s := newFakeServer(t)
	ch := dialAsync(baseConfig(s.addr()))
	p := s.accept()
	p.expectHello("", "alice")
	p.send(":srv CAP * LS :")
	p.expect("CAP END")
	p.send(":srv 433 * alice :Nickname is already in use")
	p.expect("NICK alice_")
	p.send(":srv 433 * alice_ :Nickname is already in use")
	p.expect("NICK alice__")
	p.send(":srv 437 * alice__ :Nick/channel is temporarily unavailable")
	p.expect("NICK alice1")
	p.welcome("alice1")
	c := mustDial(t, ch)
	if c.Nick() != "alice1" {
		t.Fatalf("Nick() = %q, want alice1", c.Nick())
	}
}

func TestRegisterNickFallbackTooLong(t *testing.T) {
	// The server refuses the lengthened fallback as erroneous: the
	// fallbacks are shortened to the original's length.
	s := newFakeServer(t)
	cfg := baseConfig(s.addr())
	cfg.Nick = "ninechars"
	ch := dialAsync(cfg)
	p := s.accept()
	p.expectHello("", "ninechars")
	p.send(":srv CAP * LS :")
	p.expect("CAP END")
	p.send(":srv 433 * ninechars :Nickname is already in use")
	p.expect("NICK ninechars_")
	p.send(":srv 432 * ninechars_ :Erroneous Nickname")
	p.expect("NICK ninechar_")
	p.send(":srv 433 * ninechar_ :Nickname is already in use")
	p.expect("NICK ninecha__")
	p.welcome("ninecha__")
	c := mustDial(t, ch)
	if c.Nick() != "ninecha__" {
		t.Fatalf("Nick() = %q", c.Nick())
	}
}

func TestRegisterPingBeforeWelcome(t *testing.T) {
	s := newFakeServer(t)
	ch := dialAsync(baseConfig(s.addr()))
	p := s.accept()
	p.expectHello("", "alice")
	p.send("PING :12345678")
	p.expect("PONG 12345678")
	p.send(":srv CAP * LS :")
	p.expect("CAP END")
	p.welcome("alice")
	mustDial(t, ch)
}

func TestRegisterTimeout(t *testing.T) {
	s := newFakeServer(t)
	cfg := baseConfig(s.addr())
	cfg.RegisterTimeout = 300 * time.Millisecond
	ch := dialAsync(cfg)
	p := s.accept()
	p.expectHello("", "alice")
	// The server says nothing at all.
	_, err := waitDial(t, ch)
	e := wantErrKind(t, err, KindTimeout, "")
	if !strings.Contains(e.Error(), "CAP LS") {
		t.Errorf("error %q does not say what it was waiting for", e)
	}
	p.expectEOF()
}

func TestRegisterCanceled(t *testing.T) {
	s := newFakeServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() {
		_, err := Dial(ctx, baseConfig(s.addr()))
		ch <- err
	}()
	p := s.accept()
	p.expectHello("", "alice")
	p.send(":srv CAP * LS :")
	p.expect("CAP END")
	cancel()
	err := <-ch
	wantErrKind(t, err, KindCanceled, "")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%v does not wrap context.Canceled", err)
	}
}

func TestRegisterBurstWindow(t *testing.T) {
	// No end of MOTD: Dial returns after BurstWindow anyway.
	s := newFakeServer(t)
	cfg := baseConfig(s.addr())
	cfg.BurstWindow = 200 * time.Millisecond
	ch := dialAsync(cfg)
	p := s.accept()
	p.expectHello("", "alice")
	p.send(":srv CAP * LS :")
	p.expect("CAP END")
	p.send(":srv 001 alice :Welcome", ":srv 005 alice NICKLEN=15 :are supported")
	c := mustDial(t, ch)
	if c.ISupport().NickLen != 15 {
		t.Errorf("NICKLEN not collected: %+v", c.ISupport())
	}
	// A later 005 still updates ISupport.
	p.send(":srv 005 alice NICKLEN=20 :are supported")
	for {
		if m := next(t, c); m.Command == "005" && m.Params[1] == "NICKLEN=20" {
			break
		}
	}
	if c.ISupport().NickLen != 20 {
		t.Errorf("NICKLEN not updated: %+v", c.ISupport())
	}
}

func TestDialRefused(t *testing.T) {
	s := newFakeServer(t)
	addr := s.addr()
	s.ln.Close()
	_, err := Dial(context.Background(), baseConfig(addr))
	wantErrKind(t, err, KindDial, "")
}

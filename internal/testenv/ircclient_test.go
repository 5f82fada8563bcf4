package testenv

import (
	"bufio"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"
)

// fakeIRCServer accepts one connection and hands it to the test, which
// plays the server by hand.
func fakeIRCServer(t *testing.T) (*IRCClient, net.Conn, *bufio.Reader) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := &IRCServer{Name: "fake.test", Addr: l.Addr().String(), kind: "fake"}
	c, err := s.dial(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(waitIRC))
	return c, conn, bufio.NewReader(conn)
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("fake server reading: %v", err)
	}
	return strings.TrimRight(line, "\r\n")
}

func TestIRCClientRegistrationAndPing(t *testing.T) {
	c, conn, r := fakeIRCServer(t)
	done := make(chan error, 1)
	go func() { done <- c.register("secret", "alice") }()
	for _, want := range []string{"PASS :secret", "NICK alice", "USER alice 0 * :testenv user alice"} {
		if got := readLine(t, r); got != want {
			t.Errorf("client sent %q, want %q", got, want)
		}
	}
	// The server may rename the user; the welcome burst is set aside.
	_, _ = conn.Write([]byte(":fake.test 001 alice_ :Welcome\r\n:fake.test 005 alice_ NICKLEN=30 :are supported\r\n:fake.test 422 alice_ :No MOTD\r\n"))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c.Nick != "alice_" || len(c.Registration) != 3 || len(c.Pending()) != 0 {
		t.Errorf("nick %q, registration %v, pending %q", c.Nick, c.Registration, c.Pending())
	}

	// PINGs are answered and not queued; tags and sources are parsed.
	_, _ = conn.Write([]byte("PING :tok en\r\n@time=2024-01-01T00:00:00.000Z :bob!b@h PRIVMSG alice_ :hi there\r\n"))
	if got := readLine(t, r); got != "PONG :tok en" {
		t.Errorf("answer to PING: %q", got)
	}
	m := c.Expect(t, waitIRC, isCommand("PRIVMSG"))
	if ok, v := m.GetTag("time"); !ok || v != "2024-01-01T00:00:00.000Z" || m.Nick() != "bob" || m.Params[1] != "hi there" {
		t.Errorf("parsed %+v", m)
	}

	// Sync waits for the PONG carrying its own token.
	synced := make(chan struct{})
	go func() {
		defer close(synced)
		c.Sync(t)
	}()
	ping := readLine(t, r)
	token, ok := strings.CutPrefix(ping, "PING ")
	if !ok {
		t.Fatalf("Sync sent %q", ping)
	}
	_, _ = conn.Write([]byte(":fake.test PONG fake.test :other\r\n:fake.test PONG fake.test :" + token + "\r\n"))
	select {
	case <-synced:
	case <-time.After(waitIRC):
		t.Fatal("Sync did not return")
	}
	if p := c.Pending(); len(p) != 1 || !strings.HasSuffix(p[0], ":other") {
		t.Errorf("pending after Sync: %q", p)
	}

	// Close says QUIT; the connection's end is seen.
	go c.Close()
	if got := readLine(t, r); !strings.HasPrefix(got, "QUIT") {
		t.Errorf("Close sent %q", got)
	}
	conn.Close()
	select {
	case <-c.Done():
	case <-time.After(waitIRC):
		t.Fatal("client not done after the server closed")
	}
}

func TestIRCClientRefused(t *testing.T) {
	c, conn, r := fakeIRCServer(t)
	done := make(chan error, 1)
	go func() { done <- c.register("", "alice") }()
	readLine(t, r)
	readLine(t, r)
	_, _ = conn.Write([]byte(":fake.test NOTICE * :hello\r\n:fake.test 433 * alice :Nickname already in use\r\n"))
	if err := <-done; err == nil || !strings.Contains(err.Error(), "433") {
		t.Errorf("register: %v", err)
	}
	if _, err := c.expect(10*time.Millisecond, func(ircmsg.Message) bool { return false }); err == nil ||
		!strings.Contains(err.Error(), "NOTICE") {
		t.Errorf("timeout error should list the queued NOTICE: %v", err)
	}
}

func TestWatchdog(t *testing.T) {
	t.Parallel()
	start := func() (*exec.Cmd, chan struct{}) {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(done)
		}()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-done
		})
		return cmd, done
	}

	// Stopped properly, the watchdog leaves the process alone.
	cmd, done := start()
	w, err := startWatchdog(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	w.stop()
	select {
	case <-done:
		t.Fatal("the watchdog killed the process on stop")
	case <-time.After(100 * time.Millisecond):
	}

	// Its input ending without "stop", as when the test binary dies, it
	// kills the process.
	cmd, done = start()
	w, err = startWatchdog(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	w.stdin.Close()
	select {
	case <-done:
	case <-time.After(waitIRC):
		t.Fatal("the watchdog did not kill the process")
	}
	<-w.done
}

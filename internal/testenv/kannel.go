package testenv

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Time limits for the Kannel processes. bearerbox and smsbox are ready in
// about 0.3s; a graceful shutdown takes them about 2.5s (internal timers).
// The limits only bound a broken run.
const (
	kannelReadyTimeout = 20 * time.Second
	kannelStopTimeout  = 10 * time.Second // after the admin interface's shutdown
	kannelTermTimeout  = 5 * time.Second  // after SIGTERM
	kannelKillTimeout  = 2 * time.Second
	kannelHTTPTimeout  = 2 * time.Second
	phoneSendTimeout   = 5 * time.Second
	// fakeSMSCChunk is how much fakesmsc takes from its input at a time: it
	// reads a line with fgets into 256 bytes, then selects on the file
	// descriptor again, so a longer line, or a second line in the same
	// read, sits in stdio's buffer until more input arrives.
	fakeSMSCChunk = 255
	// phoneLineWait is how long a text message printed by fakesmsc is held
	// for continuation lines (see FakeSMS).
	phoneLineWait = 150 * time.Millisecond
	// fakeSMSCDefaultPath is where Debian's kannel-extras installs it.
	fakeSMSCDefaultPath = "/usr/lib/kannel/test/fakesmsc"
)

// KannelOptions configures StartKannel. The zero value is a gateway whose
// sendsms user is ferry/secret and that posts inbound texts nowhere.
type KannelOptions struct {
	// PostURL is where smsbox POSTs each text from a phone (MO), as a
	// Kannel URL template: %p (sender), %P (receiver), %I (Kannel's message
	// id, the same on retries), %T (Unix time), %c (coding) and so on are
	// replaced, and the text is the request body. Kannel's own "%"
	// escapes come first, so a literal percent in the URL is written
	// "%%". "" configures a service that drops inbound texts.
	PostURL string
	// MaxMessages is the sendsms user's max-messages: Kannel splits a long
	// text into at most this many concatenated parts and silently drops
	// the rest, still answering 202; the phone gets the first parts as a
	// complete, shorter text. 0 means 10.
	MaxMessages int
	// Username and Password of the sendsms user, default "ferry" and
	// "secret".
	Username, Password string
}

// Kannel is a bearerbox and an smsbox with a fake SMSC, and fakesmsc
// connected to it as the phone network: texts sent through SendSMSURL
// arrive at the phone (ExpectAtPhone), and texts sent from the phone
// (SendFromPhone) are posted to KannelOptions.PostURL. Its ports stay the
// same across Stop and Start, and so does what the phone received.
//
// The fake SMSC acknowledges every text and reports it delivered at once:
// with a dlr-mask including 8 and 1 the dlr-url is fetched twice, status 8
// (answer "ACK/") and status 1 (answer ""), in either order, as smsbox
// makes the requests concurrently. Failed deliveries cannot be produced.
//
// smsbox retries a post-url or dlr-url request that fails (no answer, or a
// status other than 2xx) 5 times, about a second apart, and then drops it.
type Kannel struct {
	SendSMSURL         string // "http://127.0.0.1:PORT/cgi-bin/sendsms"
	Username, Password string // the sendsms user
	AdminURL           string // "http://127.0.0.1:PORT", bearerbox's administration interface
	AdminPassword      string // for AdminURL's status.txt, shutdown, …
	Dir                string // the temporary directory holding config and logs

	opts       KannelOptions
	bins       kannelBins
	config     string
	smsboxAddr string // where bearerbox listens for smsbox
	smscPort   int    // the fake SMSC's port, where fakesmsc connects
	sendsms    string // smsbox's sendsms address

	mu    sync.Mutex
	procs *kannelProcs

	phoneMu sync.Mutex
	backlog []FakeSMS     // received at the phone and not yet taken
	arrived chan struct{} // closed, and replaced, when backlog grows
	partial map[string]*concatParts
}

// FakeSMS is one text that reached the phone (fakesmsc).
//
// fakesmsc prints each SMS on a line: "FROM TO text TEXT" for GSM 7-bit
// texts (Kannel's UTF-8, raw), "FROM TO ucs-2 DATA" for UCS-2 (UTF-16BE,
// URL-encoded), "FROM TO data DATA" for 8-bit, and "FROM TO udh UDH data
// DATA" for every SMS with a user data header, such as the parts of a
// concatenated text, whatever its coding. The parts of a concatenated text
// are joined into one FakeSMS once all have arrived; as the UDH lines do not
// say the coding, it is inferred from the joined data: UTF-16BE if it has an
// even length, decodes as UTF-16 and is not NUL-free UTF-8, else 7-bit.
//
// A single-part 7-bit text containing a line break reaches fakesmsc as
// several lines (the fake SMSC's protocol is line based); lines that follow
// a text and do not look like a message are joined back to it with "\n".
type FakeSMS struct {
	From, To string
	Text     string // the text; for concatenated texts, all parts joined
	Coding   int    // 0 GSM 7-bit, 1 8-bit, 2 UCS-2
	Parts    int    // 1, or how many concatenated parts were joined
	UDH      []byte // the user data header (of the first part), nil without
	Data     []byte // the payload as Kannel gave it (URL-decoded), parts joined
	Raw      string // what fakesmsc printed between < and >, one line per part
}

func (m FakeSMS) String() string {
	return fmt.Sprintf("%s -> %s (coding %d, %d part(s)): %q", m.From, m.To, m.Coding, m.Parts, m.Text)
}

type kannelBins struct{ bearerbox, smsbox, fakesmsc string }

type kannelProcs struct {
	bearerbox, smsbox *kannelProc
	fakesmsc          *fakeSMSC
}

type kannelProc struct {
	name string
	cmd  *exec.Cmd
	out  *os.File
	done chan struct{} // closed when the process has exited
	err  error         // from Wait, valid once done is closed
}

// fakeSMSC is one run of fakesmsc: its input is the phone's outgoing texts,
// its output is read for the texts it receives.
type fakeSMSC struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	done    chan struct{} // closed when it has exited and its output is read
	err     error         // from Wait, valid once done is closed
	writeMu sync.Mutex    // one line at a time

	mu      sync.Mutex
	sent    int           // "sent message N" lines seen
	sentCh  chan struct{} // closed, and replaced, when sent grows
	exited  bool
	console *os.File
}

type concatParts struct {
	total int
	parts map[int]FakeSMS
}

// NeedKannel checks, like Need, that bearerbox, smsbox and fakesmsc are
// installed (Debian's kannel and kannel-extras), also looking in /usr/sbin
// and /usr/lib/kannel/test.
func NeedKannel(t TB) {
	t.Helper()
	needKannel(t)
}

func needKannel(t TB) kannelBins {
	t.Helper()
	var b kannelBins
	b.bearerbox = needIn(t, "bearerbox", "/usr/sbin", "/usr/local/sbin")
	b.smsbox = needIn(t, "smsbox", "/usr/sbin", "/usr/local/sbin")
	b.fakesmsc = needIn(t, "fakesmsc", filepath.Dir(fakeSMSCDefaultPath), "/usr/local/lib/kannel/test")
	return b
}

// needIn is Need, also looking for binary in dirs.
func needIn(t TB, binary string, dirs ...string) string {
	t.Helper()
	if _, err := exec.LookPath(binary); err != nil {
		for _, dir := range dirs {
			if path, err := exec.LookPath(filepath.Join(dir, binary)); err == nil {
				return path
			}
		}
	}
	return Need(t, binary)
}

// StartKannel writes a configuration in a new temporary directory, starts
// bearerbox, smsbox and fakesmsc, bound to 127.0.0.1 on ports picked at
// random, and waits until the sendsms interface answers and fakesmsc is
// connected. It is stopped when the test ends; if the test failed, the end
// of the logs is written to the test log.
//
// The configuration: a core group (admin, smsbox and fake SMSC ports on
// loopback only, internal DLR storage, no store file), a fake SMSC, an
// smsbox with mo-recode (inbound UCS-2 arrives as UTF-8) and HTTP retries,
// the sendsms user with concatenation, and a catch-all sms-service with
// max-messages = 0, so nothing the post-url answers is texted back.
func StartKannel(t TB, o KannelOptions) *Kannel {
	t.Helper()
	bins := needKannel(t)
	if o.Username == "" {
		o.Username = "ferry"
	}
	if o.Password == "" {
		o.Password = "secret"
	}
	if o.MaxMessages == 0 {
		o.MaxMessages = 10
	}
	if o.MaxMessages < 0 {
		t.Fatalf("testenv: kannel MaxMessages %d", o.MaxMessages)
	}
	for _, v := range []string{o.Username, o.Password, o.PostURL} {
		// Kannel's configuration quotes values with double quotes; keep
		// to what needs no escaping.
		if strings.ContainsAny(v, "\"\\#") || strings.ContainsFunc(v, isControl) {
			t.Fatalf("testenv: kannel option with a quote, backslash, # or control character: %q", v)
		}
	}
	if o.Username == "" || strings.ContainsAny(o.Username+o.Password, " ") {
		t.Fatalf("testenv: kannel username/password must be non-empty words: %q/%q", o.Username, o.Password)
	}
	dir := t.TempDir()
	k := &Kannel{
		Username:      o.Username,
		Password:      o.Password,
		AdminPassword: randomHex(8),
		Dir:           dir,
		opts:          o,
		bins:          bins,
		config:        filepath.Join(dir, "kannel.conf"),
		arrived:       make(chan struct{}),
		partial:       map[string]*concatParts{},
	}
	t.Cleanup(func() {
		k.stop()
		if t.Failed() {
			k.dumpLogs(t)
		}
	})
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		ports := freePorts(t, 4)
		k.AdminURL = "http://" + loopback(ports[0])
		k.smsboxAddr = loopback(ports[1])
		k.smscPort = ports[2]
		k.sendsms = loopback(ports[3])
		k.SendSMSURL = "http://" + k.sendsms + "/cgi-bin/sendsms"
		if err = k.writeConfig(ports); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		err = k.start()
		if !errors.Is(err, errPortTaken) {
			break
		}
		k.stop()
	}
	if err != nil {
		t.Fatalf("testenv: starting kannel: %v", err)
	}
	return k
}

func (k *Kannel) writeConfig(ports []int) error {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	q := func(s string) string { return `"` + s + `"` }
	w("# Written by internal/testenv for one test run.")
	w("group = core")
	w("admin-port = %d", ports[0])
	w("admin-interface = 127.0.0.1")
	w("admin-password = %s", q(k.AdminPassword))
	w("status-password = %s", q(k.AdminPassword))
	w(`admin-allow-ip = "127.0.0.1"`)
	w("smsbox-port = %d", ports[1])
	w("smsbox-interface = 127.0.0.1")
	w(`box-allow-ip = "127.0.0.1"`)
	w(`box-deny-ip = "*.*.*.*"`)
	w("dlr-storage = internal")
	w("access-log = %s", q(filepath.Join(k.Dir, "bearerbox-access.log")))
	w("")
	w("group = smsc")
	w("smsc = fake")
	w("smsc-id = fake")
	w("port = %d", ports[2])
	// Without our-host the fake SMSC listens on every interface.
	w("our-host = 127.0.0.1")
	w(`connect-allow-ip = "127.0.0.1"`)
	w("")
	w("group = smsbox")
	w("bearerbox-host = 127.0.0.1")
	w("bearerbox-port = %d", ports[1])
	w("sendsms-port = %d", ports[3])
	w("sendsms-interface = 127.0.0.1")
	w("mo-recode = true")
	w("http-request-retry = 5")
	w("http-queue-delay = 1")
	w("access-log = %s", q(filepath.Join(k.Dir, "smsbox-access.log")))
	w("")
	w("group = sendsms-user")
	w("username = %s", q(k.opts.Username))
	w("password = %s", q(k.opts.Password))
	w("concatenation = true")
	w("max-messages = %d", k.opts.MaxMessages)
	w("")
	w("group = sms-service")
	w("keyword = default")
	w("catch-all = true")
	// No reply to the phone, whatever the URL answers.
	w("max-messages = 0")
	if k.opts.PostURL != "" {
		w("post-url = %s", q(k.opts.PostURL))
	} else {
		w(`text = "dropped"`)
	}
	return os.WriteFile(k.config, []byte(b.String()), 0o600)
}

// Stop shuts Kannel down (the admin interface's shutdown, then SIGTERM, then
// SIGKILL) and waits for bearerbox, smsbox and fakesmsc to exit; it takes
// about 2.5s. Stopping a stopped Kannel does nothing. Texts queued in Kannel
// are lost.
func (k *Kannel) Stop(t TB) {
	t.Helper()
	k.stop()
}

// Start starts Kannel again after Stop, with the same configuration and
// ports, and waits until it is ready.
func (k *Kannel) Start(t TB) {
	t.Helper()
	k.mu.Lock()
	running := k.procs != nil
	k.mu.Unlock()
	restart(t, "kannel", running, k.start)
}

// Status returns bearerbox's status page (status.txt).
func (k *Kannel) Status(t TB) string {
	t.Helper()
	s, err := k.status()
	if err != nil {
		t.Fatalf("testenv: kannel status: %v", err)
	}
	return s
}

// kannelHTTP talks to the admin interface, without keeping connections to
// a bearerbox that may be stopped.
var kannelHTTP = &http.Client{
	Timeout:   kannelHTTPTimeout,
	Transport: &http.Transport{DisableKeepAlives: true},
}

func (k *Kannel) status() (string, error) {
	resp, err := kannelHTTP.Get(k.AdminURL + "/status.txt?password=" + url.QueryEscape(k.AdminPassword))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status.txt: %s: %s", resp.Status, b)
	}
	return string(b), nil
}

func (k *Kannel) logPath(name string) string { return filepath.Join(k.Dir, name+".log") }

func (k *Kannel) start() error {
	procs := &kannelProcs{}
	k.mu.Lock()
	k.procs = procs
	k.mu.Unlock()
	var err error
	bbLog := logSize(k.logPath("bearerbox"))
	if procs.bearerbox, err = k.startBox("bearerbox", k.bins.bearerbox); err != nil {
		return err
	}
	deadline := time.Now().Add(kannelReadyTimeout)
	// bearerbox first: smsbox started together with it fails to connect
	// and retries only after seconds, and fakesmsc gives up at once.
	err = waitFor(deadline, []*kannelProc{procs.bearerbox}, nil, func() (bool, error) {
		if strings.Contains(logSince(k.logPath("bearerbox"), bbLog), "Address already in use") {
			return false, errPortTaken
		}
		s, err := k.status()
		return err == nil && strings.Contains(s, "Status: running") && accepts(k.smsboxAddr), nil
	})
	if err != nil {
		return err
	}
	sbLog := logSize(k.logPath("smsbox"))
	if procs.smsbox, err = k.startBox("smsbox", k.bins.smsbox); err != nil {
		return err
	}
	fake, err := k.startFakeSMSC()
	if err != nil {
		return err
	}
	k.mu.Lock() // SendFromPhone reads it
	procs.fakesmsc = fake
	k.mu.Unlock()
	return waitFor(deadline, []*kannelProc{procs.bearerbox, procs.smsbox}, procs.fakesmsc, func() (bool, error) {
		if strings.Contains(logSince(k.logPath("smsbox"), sbLog), "Address already in use") {
			return false, errPortTaken
		}
		s, err := k.status()
		// "(online" is the fake SMSC with fakesmsc connected; the box
		// list says "on-line".
		return err == nil && strings.Contains(s, "smsbox:") && strings.Contains(s, "(online") && accepts(k.sendsms), nil
	})
}

// waitFor polls ready until it says so, an error, one of the processes
// exiting, or the deadline.
func waitFor(deadline time.Time, procs []*kannelProc, fake *fakeSMSC, ready func() (bool, error)) error {
	tick := time.NewTicker(readyPollInterval)
	defer tick.Stop()
	for {
		ok, err := ready()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		for _, p := range procs {
			select {
			case <-p.done:
				if _, err := ready(); err != nil {
					return err
				}
				return fmt.Errorf("%s exited before kannel was ready: %v", p.name, p.err)
			default:
			}
		}
		if fake != nil {
			select {
			case <-fake.done:
				return fmt.Errorf("fakesmsc exited before kannel was ready: %v", fake.err)
			default:
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v", kannelReadyTimeout)
		}
		<-tick.C
	}
}

func (k *Kannel) startBox(name, bin string) (*kannelProc, error) {
	out, err := os.OpenFile(k.logPath(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	// -v 1: info and up on the console; debug dumps every HTTP exchange.
	cmd := exec.Command(bin, "-v", "1", k.config)
	cmd.Dir = k.Dir
	cmd.Stdout = out
	cmd.Stderr = out
	// Kannel runs as whoever starts it (no user switch), so the kernel's
	// death signal is enough: no watchdog needed.
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	p := &kannelProc{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (k *Kannel) startFakeSMSC() (*fakeSMSC, error) {
	console, err := os.OpenFile(k.logPath("fakesmsc"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		console.Close()
		return nil, err
	}
	// No messages on the command line: fakesmsc reads them from its input.
	// -i 0: no pause after each (1s by default).
	cmd := exec.Command(k.bins.fakesmsc, "-H", "127.0.0.1", "-r", strconv.Itoa(k.smscPort), "-i", "0")
	cmd.Dir = k.Dir
	cmd.Stdout = pw
	cmd.Stderr = pw
	setDeathSignal(cmd)
	stdin, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	pw.Close()
	if err != nil {
		pr.Close()
		console.Close()
		return nil, err
	}
	f := &fakeSMSC{cmd: cmd, stdin: stdin, done: make(chan struct{}), sentCh: make(chan struct{}), console: console}
	lines := make(chan string, 64)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(lines)
		f.read(pr, lines)
	}()
	assembled := make(chan struct{})
	go func() {
		defer close(assembled)
		k.assemble(lines)
	}()
	go func() {
		<-readDone
		f.err = cmd.Wait()
		<-assembled
		console.Close()
		f.mu.Lock()
		f.exited = true
		close(f.sentCh)
		f.mu.Unlock()
		close(f.done)
	}()
	return f, nil
}

// read copies fakesmsc's output to its log and passes on what it printed
// between < and > for each "Got message" line; it counts "sent message"
// lines, which fakesmsc prints once it has written what it read to the SMSC.
func (f *fakeSMSC) read(r *os.File, lines chan<- string) {
	defer r.Close()
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			_, _ = f.console.WriteString(line)
			line = strings.TrimSuffix(line, "\n")
			if i := strings.Index(line, "Got message "); i >= 0 {
				if j := strings.Index(line[i:], ": <"); j >= 0 {
					lines <- strings.TrimSuffix(line[i+j+3:], ">")
				}
			} else if strings.Contains(line, "fakesmsc: sent message ") {
				f.mu.Lock()
				f.sent++
				close(f.sentCh)
				f.sentCh = make(chan struct{})
				f.mu.Unlock()
			}
		}
		if err != nil {
			return
		}
	}
}

func (k *Kannel) stop() {
	k.mu.Lock()
	procs := k.procs
	k.procs = nil
	k.mu.Unlock()
	if procs == nil {
		return
	}
	bb, sb := procs.bearerbox, procs.smsbox
	if bb != nil && !bb.exited() {
		// bearerbox tells smsbox to shut down and closes fakesmsc's
		// connection, which ends fakesmsc.
		if resp, err := kannelHTTP.Get(k.AdminURL + "/shutdown?password=" + url.QueryEscape(k.AdminPassword)); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		} else {
			_ = bb.cmd.Process.Signal(syscall.SIGTERM)
		}
	} else if sb != nil {
		_ = sb.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(kannelStopTimeout)
	for _, p := range []*kannelProc{bb, sb} {
		if p == nil {
			continue
		}
		select {
		case <-p.done:
		case <-deadline:
		}
	}
	for _, p := range []*kannelProc{bb, sb} {
		if p != nil {
			p.terminate()
		}
	}
	if f := procs.fakesmsc; f != nil {
		// fakesmsc ends on the end of its input too.
		f.stdin.Close()
		select {
		case <-f.done:
		case <-time.After(kannelKillTimeout):
			_ = f.cmd.Process.Kill()
			<-f.done
		}
	}
}

func (p *kannelProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// terminate sends SIGTERM, then SIGKILL, to a process still running, and
// waits for it.
func (p *kannelProc) terminate() {
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(kannelTermTimeout):
			_ = p.cmd.Process.Kill()
		}
	}
	<-p.done
	p.out.Close()
}

// dumpLogs writes the end of each process's log to the test log.
func (k *Kannel) dumpLogs(t TB) {
	t.Helper()
	for _, name := range []string{"bearerbox", "smsbox", "fakesmsc", "smsbox-access"} {
		b, err := os.ReadFile(k.logPath(name))
		if err != nil || len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > logTailLines {
			lines = lines[len(lines)-logTailLines:]
		}
		t.Logf("testenv: last %d lines of %s:\n%s", len(lines), k.logPath(name), strings.Join(lines, "\n"))
	}
}

// Log returns what the named process ("bearerbox", "smsbox" or "fakesmsc")
// has logged so far, over all runs.
func (k *Kannel) Log(name string) string {
	b, _ := os.ReadFile(k.logPath(name))
	return string(b)
}

func logSize(path string) int64 {
	if fi, err := os.Stat(path); err == nil {
		return fi.Size()
	}
	return 0
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// SendFromPhone has the phone send text from one number to another (MO),
// and returns once fakesmsc has handed it to Kannel. Printable ASCII goes
// as a GSM 7-bit text, anything else (non-ASCII, line breaks) as UCS-2,
// which smsbox recodes to UTF-8. The text goes as one SMS, however long.
func (k *Kannel) SendFromPhone(t TB, from, to, text string) {
	t.Helper()
	for _, n := range []string{from, to} {
		if n == "" || strings.ContainsFunc(n, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			t.Fatalf("testenv: phone number %q is empty or has a space or control character", n)
		}
	}
	if !utf8.ValidString(text) {
		t.Fatalf("testenv: text %q is not UTF-8", text)
	}
	prefix := from + " " + to + " "
	line := prefix + "text " + text
	if strings.ContainsFunc(text, func(r rune) bool { return r < ' ' || r > '~' }) || !fakeSMSCCanRead(line) {
		units := utf16.Encode([]rune(text))
		data := make([]byte, 0, 2*len(units))
		for _, u := range units {
			data = append(data, byte(u>>8), byte(u))
		}
		line = prefix + "ucs2 " + percentEncode(data, -1)
		if !fakeSMSCCanRead(line) {
			// Two bytes shorter: one byte written as itself.
			for i, c := range data {
				if c != 0 && c != '\n' && c != '\r' && c != '%' && c != '+' {
					line = prefix + "ucs2 " + percentEncode(data, i)
					break
				}
			}
		}
	}
	k.SendRawFromPhone(t, line)
}

// percentEncode writes every byte as %XX, except the one at raw (if any),
// written as itself.
func percentEncode(data []byte, raw int) string {
	var b strings.Builder
	for i, c := range data {
		if i == raw {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// fakeSMSCCanRead reports whether fakesmsc can read line: it reads 255
// bytes at a time and skips a piece shorter than 2 bytes, so a line whose
// last piece would be the line break alone never ends.
func fakeSMSCCanRead(line string) bool {
	return (len(line)+1)%fakeSMSCChunk != 1
}

// SendRawFromPhone writes one line of fakesmsc's input format to it and
// returns once fakesmsc has handed it to Kannel: "FROM TO TYPE [UDH|ROUTE|
// DLRMASK] DATA", TYPE one of text (plain), data (URL-encoded 8-bit), ucs2
// (URL-encoded UTF-16BE), udh-text (URL-encoded UDH, plain text), udh-data,
// route and dlr-mask. The parts of a concatenated text, each a udh-text
// line with the same reference, reach the post-url as one text.
func (k *Kannel) SendRawFromPhone(t TB, line string) {
	t.Helper()
	if strings.ContainsAny(line, "\x00\r\n") {
		t.Fatalf("testenv: fakesmsc line with NUL or a line break: %q", line)
	}
	if !fakeSMSCCanRead(line) {
		t.Fatalf("testenv: fakesmsc cannot read a line of %d bytes (255×n): %q", len(line), line)
	}
	k.mu.Lock()
	var f *fakeSMSC
	if k.procs != nil {
		f = k.procs.fakesmsc
	}
	k.mu.Unlock()
	if f == nil {
		t.Fatalf("testenv: sending from the phone: kannel is stopped")
	}
	if err := f.writeLine(line); err != nil {
		t.Fatalf("testenv: sending %q from the phone: %v", line, err)
	}
}

// writeLine writes line in pieces fakesmsc reads whole (see fakeSMSCChunk),
// each once it has sent the one before.
func (f *fakeSMSC) writeLine(line string) error {
	f.writeMu.Lock()
	defer f.writeMu.Unlock()
	rest := []byte(line + "\n")
	for len(rest) > 0 {
		n := min(len(rest), fakeSMSCChunk)
		f.mu.Lock()
		want := f.sent + 1
		f.mu.Unlock()
		if _, err := f.stdin.Write(rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
		deadline := time.After(phoneSendTimeout)
		for {
			f.mu.Lock()
			sent, ch, exited := f.sent, f.sentCh, f.exited
			f.mu.Unlock()
			if sent >= want {
				break
			}
			if exited {
				return fmt.Errorf("fakesmsc exited: %v", f.err)
			}
			select {
			case <-ch:
			case <-deadline:
				return fmt.Errorf("fakesmsc did not send it within %v", phoneSendTimeout)
			}
		}
	}
	return nil
}

// assemble turns fakesmsc's received lines into FakeSMS: it holds a 7-bit
// text briefly for continuation lines, and joins concatenated parts.
func (k *Kannel) assemble(lines <-chan string) {
	var pending *FakeSMS
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		if pending != nil {
			k.queue(*pending)
			pending = nil
		}
		timer.Stop()
	}
	for {
		select {
		case c, ok := <-lines:
			if !ok {
				flush()
				return
			}
			m, ok := parsePhoneLine(c)
			if !ok && pending != nil {
				pending.Text += "\n" + c
				pending.Data = append(append(pending.Data, '\n'), c...)
				pending.Raw += "\n" + c
				timer.Reset(phoneLineWait)
				continue
			}
			flush()
			switch {
			case !ok:
				k.queue(FakeSMS{Raw: c, Parts: 1, Text: c})
			case m.Coding == 0 && m.UDH == nil:
				pending = &m
				timer.Reset(phoneLineWait)
			default:
				k.received(m)
			}
		case <-timer.C:
			flush()
		}
	}
}

// parsePhoneLine reads one message as fakesmsc prints it.
func parsePhoneLine(c string) (FakeSMS, bool) {
	from, rest, ok1 := strings.Cut(c, " ")
	to, rest, ok2 := strings.Cut(rest, " ")
	typ, rest, _ := strings.Cut(rest, " ")
	if !ok1 || !ok2 || from == "" || to == "" {
		return FakeSMS{}, false
	}
	m := FakeSMS{From: from, To: to, Raw: c, Parts: 1}
	switch typ {
	case "text":
		m.Text, m.Data = rest, []byte(rest)
	case "data", "ucs-2":
		data, err := url.QueryUnescape(rest)
		if err != nil {
			return FakeSMS{}, false
		}
		m.Data = []byte(data)
		if typ == "data" {
			m.Coding, m.Text = 1, data
		} else {
			m.Coding = 2
			m.Text, _ = decodeUTF16BE(m.Data)
		}
	case "udh":
		udh, data, ok := strings.Cut(rest, " data ")
		if !ok {
			return FakeSMS{}, false
		}
		u, err1 := url.QueryUnescape(udh)
		d, err2 := url.QueryUnescape(data)
		if err1 != nil || err2 != nil {
			return FakeSMS{}, false
		}
		m.UDH, m.Data = []byte(u), []byte(d)
		m.Coding, m.Text = guessCoding(m.Data)
	default:
		return FakeSMS{}, false
	}
	return m, true
}

// received queues a message, or keeps it until the other parts of its
// concatenated text have come.
func (k *Kannel) received(m FakeSMS) {
	ref, total, seq, ok := concatInfo(m.UDH)
	if !ok {
		k.queue(m)
		return
	}
	key := fmt.Sprintf("%s\x00%s\x00%d\x00%d", m.From, m.To, ref, total)
	k.phoneMu.Lock()
	c := k.partial[key]
	if c == nil {
		c = &concatParts{total: total, parts: map[int]FakeSMS{}}
		k.partial[key] = c
	}
	c.parts[seq] = m
	if len(c.parts) < total {
		k.phoneMu.Unlock()
		return
	}
	delete(k.partial, key)
	k.phoneMu.Unlock()
	whole := FakeSMS{From: m.From, To: m.To, Parts: total, UDH: c.parts[1].UDH}
	raws := make([]string, 0, total)
	for i := 1; i <= total; i++ {
		whole.Data = append(whole.Data, c.parts[i].Data...)
		raws = append(raws, c.parts[i].Raw)
	}
	whole.Raw = strings.Join(raws, "\n")
	whole.Coding, whole.Text = guessCoding(whole.Data)
	k.queue(whole)
}

// concatInfo reads a concatenation element (8- or 16-bit reference) from a
// user data header.
func concatInfo(udh []byte) (ref, total, seq int, ok bool) {
	if len(udh) < 1 || int(udh[0]) > len(udh)-1 {
		return 0, 0, 0, false
	}
	ies := udh[1 : 1+int(udh[0])]
	for len(ies) >= 2 {
		id, n := ies[0], int(ies[1])
		if len(ies) < 2+n {
			break
		}
		v := ies[2 : 2+n]
		switch {
		case id == 0x00 && n == 3:
			ref, total, seq = int(v[0]), int(v[1]), int(v[2])
		case id == 0x08 && n == 4:
			ref, total, seq = int(v[0])<<8|int(v[1]), int(v[2]), int(v[3])
		default:
			ies = ies[2+n:]
			continue
		}
		return ref, total, seq, total > 1 && seq >= 1 && seq <= total
	}
	return 0, 0, 0, false
}

// guessCoding decides how UDH payload is coded (see FakeSMS).
func guessCoding(data []byte) (int, string) {
	if len(data) > 0 && len(data)%2 == 0 && (bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data)) {
		if s, ok := decodeUTF16BE(data); ok {
			return 2, s
		}
	}
	if utf8.Valid(data) {
		return 0, string(data)
	}
	return 1, string(data)
}

// decodeUTF16BE decodes data, reporting whether it was well-formed
// (even length, no lone surrogate).
func decodeUTF16BE(data []byte) (string, bool) {
	ok := len(data)%2 == 0
	units := make([]uint16, len(data)/2)
	for i := range units {
		units[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
	}
	for i := 0; i < len(units); i++ {
		switch u := units[i]; {
		case utf16.IsSurrogate(rune(u)) && u < 0xdc00 && i+1 < len(units) && units[i+1] >= 0xdc00 && units[i+1] <= 0xdfff:
			i++
		case utf16.IsSurrogate(rune(u)):
			ok = false
		}
	}
	return string(utf16.Decode(units)), ok
}

func (k *Kannel) queue(m FakeSMS) {
	k.phoneMu.Lock()
	k.backlog = append(k.backlog, m)
	close(k.arrived)
	k.arrived = make(chan struct{})
	k.phoneMu.Unlock()
}

// ExpectAtPhone returns the first text received at the phone that match
// accepts (nil accepts any), waiting up to timeout for it. Texts that do not
// match stay queued for later calls. On timeout the test fails with a list
// of the texts still queued. fakesmsc looks for texts from Kannel about once
// a second while idle, so allow a few seconds.
func (k *Kannel) ExpectAtPhone(t TB, timeout time.Duration, match func(FakeSMS) bool) FakeSMS {
	t.Helper()
	m, err := k.expectAtPhone(timeout, match)
	if err != nil {
		t.Fatalf("testenv: kannel phone: %v", err)
	}
	return m
}

// ExpectNoneAtPhone fails the test if a text that match accepts (nil: any)
// reaches the phone within d (or is already queued).
func (k *Kannel) ExpectNoneAtPhone(t TB, d time.Duration, match func(FakeSMS) bool) {
	t.Helper()
	if m, err := k.expectAtPhone(d, match); err == nil {
		t.Fatalf("testenv: kannel phone: unexpected text: %s", m)
	}
}

// PendingAtPhone returns the texts received at the phone and not yet taken
// by ExpectAtPhone, leaving them queued.
func (k *Kannel) PendingAtPhone() []FakeSMS {
	k.phoneMu.Lock()
	defer k.phoneMu.Unlock()
	return append([]FakeSMS(nil), k.backlog...)
}

func (k *Kannel) expectAtPhone(timeout time.Duration, match func(FakeSMS) bool) (FakeSMS, error) {
	if match == nil {
		match = func(FakeSMS) bool { return true }
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		k.phoneMu.Lock()
		for i, m := range k.backlog {
			if match(m) {
				k.backlog = append(k.backlog[:i:i], k.backlog[i+1:]...)
				k.phoneMu.Unlock()
				return m, nil
			}
		}
		arrived := k.arrived
		k.phoneMu.Unlock()
		select {
		case <-arrived:
		case <-timer.C:
			return FakeSMS{}, fmt.Errorf("no matching text within %v; %s", timeout, k.pendingList())
		}
	}
}

func (k *Kannel) pendingList() string {
	k.phoneMu.Lock()
	defer k.phoneMu.Unlock()
	var b strings.Builder
	if len(k.backlog) == 0 {
		b.WriteString("received and unmatched: nothing")
	} else {
		fmt.Fprintf(&b, "received and unmatched: %d text(s):", len(k.backlog))
		for _, m := range k.backlog {
			fmt.Fprintf(&b, "\n\t%s", m)
		}
	}
	for _, c := range k.partial {
		for _, m := range c.parts {
			fmt.Fprintf(&b, "\n\tpart of a %d-part text, waiting for the others: %s", c.total, m.Raw)
		}
	}
	return b.String()
}

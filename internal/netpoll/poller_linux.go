//go:build linux

package netpoll

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Poller watches sockets for something to read, from one goroutine.
//
// The epoll instance is itself waited on through Go's own poller (an
// epoll descriptor is readable while it has events), so the poller's
// goroutine parks like any goroutine waiting for a socket instead of
// holding a thread in epoll_wait; the read jobs it starts then usually run
// on the same thread, without waking another.
type Poller struct {
	epfd int
	file *os.File // epfd, registered with Go's poller
	raw  syscall.RawConn

	mu      sync.Mutex
	watches map[int32]*Watch // by file descriptor
	closed  bool
	done    chan struct{}
}

// Watch is one socket watched by a Poller.
type Watch struct {
	p     *Poller
	raw   syscall.RawConn
	fd    int32
	ready func()
}

// maxEvents is how many ready sockets one wait returns.
const maxEvents = 256

// watchEvents asks for a ready call at each arrival of data (or the
// peer's close): edge-triggered, so a socket being read needs no call to
// re-arm it, and data that arrives meanwhile calls ready again.
const watchEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET

// Open starts a poller and its goroutine.
func Open() (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("netpoll: epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("netpoll: %w", err)
	}
	file := os.NewFile(uintptr(epfd), "netpoll")
	raw, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("netpoll: %w", err)
	}
	p := &Poller{epfd: epfd, file: file, raw: raw, watches: map[int32]*Watch{}, done: make(chan struct{})}
	go p.loop()
	return p, nil
}

// Close stops the poller: ready functions are no longer called. It waits
// for the loop to end.
func (p *Poller) Close() error {
	p.mu.Lock()
	already := p.closed
	p.closed = true
	p.mu.Unlock()
	if !already {
		if err := p.file.Close(); err != nil { // ends the loop's wait
			return fmt.Errorf("netpoll: %w", err)
		}
	}
	<-p.done
	return nil
}

// Watch starts watching c, disarmed: after Arm, ready is called on the
// poller's goroutine each time data arrives on c (or its peer closes it).
// ready must not block: it hands the reading to another goroutine, which
// reads until ErrWouldBlock. A ready call may come for nothing (data read
// already, or a socket number reused after a close): reads must not
// block.
func (p *Poller) Watch(c syscall.Conn, ready func()) (*Watch, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	w := &Watch{p: p, raw: raw, ready: ready}
	var cerr error
	err = raw.Control(func(fd uintptr) {
		w.fd = int32(fd)
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed {
			cerr = errors.New("netpoll: poller closed")
			return
		}
		p.watches[w.fd] = w
		ev := unix.EpollEvent{Events: unix.EPOLLET, Fd: w.fd} // nothing asked for yet
		if cerr = epollCtl(p.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev); cerr != nil {
			delete(p.watches, w.fd)
			cerr = fmt.Errorf("netpoll: epoll_ctl add: %w", cerr)
		}
	})
	if err != nil {
		return nil, err
	}
	return w, cerr
}

// Arm starts the ready calls. Data already waiting counts as an arrival.
func (w *Watch) Arm() error { return w.set(watchEvents) }

// Disarm stops the ready calls until the next Arm (while the owner waits
// on the socket itself).
func (w *Watch) Disarm() error { return w.set(unix.EPOLLET) }

func (w *Watch) set(events uint32) error {
	var cerr error
	err := w.raw.Control(func(fd uintptr) {
		w.p.mu.Lock()
		defer w.p.mu.Unlock()
		if w.p.closed {
			cerr = errors.New("netpoll: poller closed")
			return
		}
		ev := unix.EpollEvent{Events: events, Fd: w.fd}
		cerr = epollCtl(w.p.epfd, unix.EPOLL_CTL_MOD, int(fd), &ev)
	})
	if err != nil {
		return err // the connection is closed
	}
	if cerr != nil {
		return fmt.Errorf("netpoll: epoll_ctl mod: %w", cerr)
	}
	return nil
}

// Stop ends the watch; call it before closing the socket, or after (the
// kernel forgets a closed socket by itself). No ready call starts after
// Stop returns.
func (w *Watch) Stop() {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	if w.p.watches[w.fd] != w {
		return
	}
	delete(w.p.watches, w.fd)
	if !w.p.closed {
		_ = w.raw.Control(func(fd uintptr) {
			_ = epollCtl(w.p.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
		})
	}
}

// Len is how many sockets are watched.
func (p *Poller) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.watches)
}

func (p *Poller) loop() {
	defer close(p.done)
	events := make([]unix.EpollEvent, maxEvents)
	for {
		var (
			n    int
			werr error
		)
		err := p.raw.Read(func(fd uintptr) bool {
			n, werr = epollPoll(fd, events)
			return werr != unix.EINTR && (n > 0 || werr != nil) // nothing yet: park until Go's poller says
		})
		if err != nil {
			return // closed
		}
		if werr != nil {
			panic(fmt.Sprintf("netpoll: epoll_wait: %v", werr)) // a bad descriptor: a bug here, not a peer's doing
		}
		if !p.dispatch(events[:n]) {
			return
		}
	}
}

// dispatch calls the ready functions of the watches in events, under the
// lock so that none starts after Stop; false once the poller is closed.
func (p *Poller) dispatch(events []unix.EpollEvent) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, ev := range events {
		if w := p.watches[ev.Fd]; w != nil {
			w.ready()
		}
	}
	return true
}

// epollCtl and epollPoll are unix.EpollCtl and unix.EpollWait with a zero
// timeout as raw system calls: neither ever waits, so they need none of
// the runtime's bookkeeping for a call that might (package rawsock says
// what that costs).
func epollCtl(epfd, op, fd int, ev *unix.EpollEvent) error {
	_, _, e := syscall.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func epollPoll(epfd uintptr, events []unix.EpollEvent) (int, error) {
	n, _, e := syscall.RawSyscall6(unix.SYS_EPOLL_PWAIT, epfd, uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

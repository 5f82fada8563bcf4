//go:build linux

package netpoll

import (
	"errors"
	"fmt"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Poller watches sockets for something to read, from one goroutine.
type Poller struct {
	epfd   int
	wakefd int // an eventfd that ends the loop

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

// Open starts a poller and its goroutine.
func Open() (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("netpoll: epoll_create1: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("netpoll: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wakefd)
		return nil, fmt.Errorf("netpoll: epoll_ctl: %w", err)
	}
	p := &Poller{epfd: epfd, wakefd: wakefd, watches: map[int32]*Watch{}, done: make(chan struct{})}
	go p.loop()
	return p, nil
}

// Close stops the poller: ready functions are no longer called. It waits
// for the loop to end.
func (p *Poller) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.done
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	var one = [8]byte{1}
	if _, err := unix.Write(p.wakefd, one[:]); err != nil {
		return fmt.Errorf("netpoll: waking the loop: %w", err)
	}
	<-p.done
	unix.Close(p.epfd)
	unix.Close(p.wakefd)
	return nil
}

// Watch starts watching c, disarmed: after each Rearm, ready is called
// once, on the poller's goroutine, when c has something to read (or was
// closed by its peer). ready must not block: it hands the reading
// to another goroutine. A ready call may come for nothing (a socket
// number reused after a close): reads must not block.
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
		ev := unix.EpollEvent{Events: unix.EPOLLONESHOT, Fd: w.fd} // nothing asked for yet
		if cerr = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev); cerr != nil {
			delete(p.watches, w.fd)
			cerr = fmt.Errorf("netpoll: epoll_ctl add: %w", cerr)
		}
	})
	if err != nil {
		return nil, err
	}
	return w, cerr
}

// Rearm asks for the next ready call. Call it once the socket was read
// until ErrWouldBlock.
func (w *Watch) Rearm() error {
	var cerr error
	err := w.raw.Control(func(fd uintptr) {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: w.fd}
		cerr = unix.EpollCtl(w.p.epfd, unix.EPOLL_CTL_MOD, int(fd), &ev)
	})
	if err != nil {
		return err // the connection is closed
	}
	if cerr != nil {
		return fmt.Errorf("netpoll: epoll_ctl mod: %w", cerr)
	}
	return nil
}

// Stop ends the watch; call it before closing the socket. No ready call
// starts after Stop returns.
func (w *Watch) Stop() {
	_ = w.raw.Control(func(fd uintptr) {
		_ = unix.EpollCtl(w.p.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
	})
	w.p.mu.Lock()
	if w.p.watches[w.fd] == w {
		delete(w.p.watches, w.fd)
	}
	w.p.mu.Unlock()
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
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			panic(fmt.Sprintf("netpoll: epoll_wait: %v", err)) // a bad descriptor: a bug here, not a peer's doing
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

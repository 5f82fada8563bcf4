//go:build !linux

package netpoll

import "syscall"

// Poller is not available on this system: Open fails with ErrUnsupported.
type Poller struct{}

// Watch is not available on this system.
type Watch struct{}

// Open fails: there is no poller here.
func Open() (*Poller, error) { return nil, ErrUnsupported }

// Close does nothing.
func (p *Poller) Close() error { return nil }

// Watch fails: there is no poller here.
func (p *Poller) Watch(c syscall.Conn, ready func()) (*Watch, error) { return nil, ErrUnsupported }

// Arm fails: there is no poller here.
func (w *Watch) Arm() error { return ErrUnsupported }

// Disarm fails: there is no poller here.
func (w *Watch) Disarm() error { return ErrUnsupported }

// Stop does nothing.
func (w *Watch) Stop() {}

// Len is 0.
func (p *Poller) Len() int { return 0 }

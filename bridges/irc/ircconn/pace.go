package ircconn

import "golang.org/x/time/rate"

// SetPace changes a live connection's pacing (a user slowing their own
// lines down): burst lines at once, then r a second. It reports false for
// a connection opened without pacing, where the change waits for the
// next connection.
func (c *Conn) SetPace(burst int, r float64) bool {
	if c.limiter == nil || r <= 0 || burst < 1 {
		return false
	}
	now := c.clock.Now()
	c.limiter.SetBurstAt(now, burst)
	c.limiter.SetLimitAt(now, rate.Limit(r))
	return true
}

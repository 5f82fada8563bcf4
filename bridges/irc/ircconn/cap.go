package ircconn

// HasCap reports whether the server acknowledged the capability name (and
// has not withdrawn it since with CAP DEL).
func (c *Conn) HasCap(name string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.caps[name]
}

package testenv

import ()

// XMPPServer is an XMPP server run by a test, Prosody or ejabberd, so that
// end-to-end tests can run the same flows against both.
type XMPPServer interface {
	// Name is "prosody" or "ejabberd".
	Name() string
	// UserDomain is the users' host ("localhost").
	UserDomain() string
	// ComponentAddress is "127.0.0.1:PORT" for XEP-0114 components.
	ComponentAddress() string
	// Login logs a user in and sends initial presence; Connect does not
	// send presence.
	Login(t TB, local, password, resource string) *Client
	Connect(t TB, local, password, resource string) *Client
	// AddUser creates an account (or sets its password).
	AddUser(t TB, local, password string)
	// Stop and Start stop the server and start it again with the same
	// configuration, data and ports.
	Stop(t TB)
	Start(t TB)
	// Log is what the server has logged so far.
	Log() string
}

// ServerOptions configures StartServer for either server.
type ServerOptions struct {
	Domain     string            // default "localhost"
	Components map[string]string // component domain -> secret
	Users      map[string]string // localpart -> password
	// Privileged component domains get XEP-0356 permissions: the users'
	// rosters (get and set) and sending messages on their behalf.
	Privileged []string
}

// XMPPServers are the servers StartServer knows, in the order tests that
// loop over servers use them.
var XMPPServers = []string{"prosody", "ejabberd"}

// StartServer starts the named server (one of XMPPServers) on loopback.
func StartServer(t TB, name string, o ServerOptions) XMPPServer {
	t.Helper()
	switch name {
	case "prosody":
		return StartProsody(t, ProsodyOptions{Domain: o.Domain, Components: o.Components, Users: o.Users, Privileged: o.Privileged})
	case "ejabberd":
		return StartEjabberd(t, EjabberdOptions{Domain: o.Domain, Components: o.Components, Users: o.Users, Privileged: o.Privileged})
	}
	t.Fatalf("testenv: unknown XMPP server %q (known: %v)", name, XMPPServers)
	return nil
}

// Name is "prosody".
func (p *Prosody) Name() string { return "prosody" }

// UserDomain is the users' host.
func (p *Prosody) UserDomain() string { return p.Domain }

// ComponentAddress is the component port's address.
func (p *Prosody) ComponentAddress() string { return p.ComponentAddr }

var _ XMPPServer = (*Prosody)(nil)
var _ XMPPServer = (*Ejabberd)(nil)

package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/email/imapwatch"
	"github.com/ferry-xmpp/ferry/bridges/email/mailaddr"
	"github.com/ferry-xmpp/ferry/bridges/email/submit"
	"github.com/ferry-xmpp/ferry/internal/netguard"
)

// Registration field names (also the storage keys).
const (
	fieldEmail        = "email"
	fieldName         = "name"
	fieldPassword     = "password"
	fieldUsername     = "username"
	fieldIMAPHost     = "imap_host"
	fieldIMAPPort     = "imap_port"
	fieldIMAPSecurity = "imap_security"
	fieldSMTPHost     = "smtp_host"
	fieldSMTPPort     = "smtp_port"
	fieldSMTPSecurity = "smtp_security"
)

// account is a stored registration, parsed. A relay-only account has no
// Email.
type account struct {
	Email, Name        string
	Username, Password string
	IMAP, SMTP         endpoint
	tls                *tls.Config      // the operator's extra roots (ca_file), or nil
	hosts              *netguard.Policy // what the servers may resolve to
}

type endpoint struct {
	Host     string
	Port     int
	Security string // tls, starttls, plain
}

func (e endpoint) addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

func (a account) imapServer() imapwatch.Server {
	return imapwatch.Server{Addr: a.IMAP.addr(), Security: imapwatch.Security(a.IMAP.Security),
		Username: a.Username, Password: a.Password, TLSConfig: a.tls, Dialer: a.hosts.Dialer(a.IMAP.Host)}
}

func (a account) smtpServer() submit.Server {
	return submit.Server{Addr: a.SMTP.addr(), Security: submit.Security(a.SMTP.Security),
		Username: a.Username, Password: a.Password, TLSConfig: a.tls, Dialer: a.hosts.Dialer(a.SMTP.Host)}
}

func (b *Bridge) securityOptions() []bridges.Option {
	opts := []bridges.Option{{Label: "TLS from the start (IMAP 993, SMTP 465)", Value: "tls"}, {Label: "STARTTLS (IMAP 143, SMTP 587)", Value: "starttls"}}
	if b.opts.AllowPlain {
		opts = append(opts, bridges.Option{Label: "No encryption", Value: "plain"})
	}
	return opts
}

func (b *Bridge) fields() []bridges.Field {
	email := bridges.Field{Var: fieldEmail, Label: "Email address", Type: bridges.TextSingle, Required: b.opts.Relay == nil, Legacy: "email",
		Desc: "The address you send from, e.g. alice@example.net."}
	if b.opts.Relay != nil {
		email.Desc += " Leave empty to use only relay addresses of " + b.opts.Relay.Domain + "."
	}
	sec := b.securityOptions()
	return []bridges.Field{
		email,
		{Var: fieldPassword, Label: "Password (or app password)", Type: bridges.TextPrivate, Required: b.opts.Relay == nil, Legacy: "password"},
		{Var: fieldName, Label: "Your name on mail you send", Type: bridges.TextSingle, Legacy: "name"},
		{Var: fieldUsername, Label: "Login name", Type: bridges.TextSingle, Legacy: "username", Desc: "Empty: your email address.", Advanced: true},
		{Var: fieldIMAPHost, Label: "IMAP server", Type: bridges.TextSingle, Desc: "Empty: imap.DOMAIN of your address.", Advanced: true},
		{Var: fieldIMAPPort, Label: "IMAP port", Type: bridges.TextSingle, Desc: "Empty: 993 with TLS, 143 with STARTTLS or none.", Advanced: true},
		{Var: fieldIMAPSecurity, Label: "IMAP security", Type: bridges.ListSingle, Options: sec, Default: "tls", Advanced: true},
		{Var: fieldSMTPHost, Label: "SMTP submission server", Type: bridges.TextSingle, Desc: "Empty: smtp.DOMAIN of your address.", Advanced: true},
		{Var: fieldSMTPPort, Label: "SMTP port", Type: bridges.TextSingle, Desc: "Empty: 465 with TLS, 587 with STARTTLS or none.", Advanced: true},
		{Var: fieldSMTPSecurity, Label: "SMTP security", Type: bridges.ListSingle, Options: sec, Default: "starttls", Advanced: true},
	}
}

// CheckField checks one answer of the chat registration as it is given:
// the address, a server name, a port.
func (b *Bridge) CheckField(_ context.Context, field, value string, _ map[string]string) (string, error) {
	switch field {
	case fieldEmail:
		if value == "" {
			if b.opts.Relay == nil {
				return "", bridges.Errorf(bridges.NotAcceptable, "your email address is required")
			}
			return "", nil
		}
		addr, err := normaliseAddress(value)
		if err != nil {
			return "", bridges.Errorf(bridges.NotAcceptable, "%q: %v", value, err)
		}
		return addr, nil
	case fieldIMAPHost, fieldSMTPHost:
		host := strings.ToLower(strings.TrimSuffix(value, "."))
		if host != "" && !validHost(host) {
			return "", bridges.Errorf(bridges.NotAcceptable, "%q is not a host name", value)
		}
		return host, nil
	case fieldIMAPPort, fieldSMTPPort:
		if p, err := strconv.Atoi(value); value != "" && (err != nil || p < 1 || p > 65535) {
			return "", bridges.Errorf(bridges.NotAcceptable, "%q is not a port number (1 to 65535)", value)
		}
	case fieldName:
		if strings.ContainsAny(value, "\r\n\x00") {
			return "", bridges.Errorf(bridges.NotAcceptable, "your name must be one line")
		}
	}
	return value, nil
}

// accountFrom parses stored values.
func (b *Bridge) accountFrom(v map[string]string) (account, error) {
	a := account{Email: v[fieldEmail], Name: v[fieldName], Username: v[fieldUsername], Password: v[fieldPassword], tls: b.tls, hosts: b.opts.Hosts}
	if a.Email == "" {
		return a, nil
	}
	var err1, err2 error
	a.IMAP, err1 = parseEndpoint(v[fieldIMAPHost], v[fieldIMAPPort], v[fieldIMAPSecurity])
	a.SMTP, err2 = parseEndpoint(v[fieldSMTPHost], v[fieldSMTPPort], v[fieldSMTPSecurity])
	return a, errors.Join(err1, err2)
}

func parseEndpoint(host, port, sec string) (endpoint, error) {
	p, err := strconv.Atoi(port)
	if err != nil || host == "" || sec == "" {
		return endpoint{}, fmt.Errorf("server %q port %q security %q", host, port, sec)
	}
	return endpoint{Host: host, Port: p, Security: sec}, nil
}

// Validate completes a registration from the address, then logs in to both
// servers before anything is stored, saying which one failed and why.
func (b *Bridge) Validate(ctx context.Context, r bridges.Registration) (map[string]string, error) {
	v := map[string]string{}
	for _, f := range b.fields() {
		v[f.Var] = strings.TrimSpace(r.Values[f.Var])
	}
	v[fieldPassword] = r.Values[fieldPassword] // spaces can be part of a password
	if strings.ContainsAny(v[fieldName], "\r\n\x00") {
		return nil, bridges.Errorf(bridges.NotAcceptable, "your name must be one line")
	}
	if v[fieldEmail] == "" {
		if b.opts.Relay == nil {
			return nil, bridges.Errorf(bridges.NotAcceptable, "your email address is required")
		}
		return map[string]string{fieldName: v[fieldName]}, nil // relay addresses only
	}
	addr, err := normaliseAddress(v[fieldEmail])
	if err != nil {
		return nil, bridges.Errorf(bridges.NotAcceptable, "%q: %v", v[fieldEmail], err)
	}
	v[fieldEmail] = addr
	if v[fieldPassword] == "" {
		return nil, bridges.Errorf(bridges.NotAcceptable, "the password is required")
	}
	if v[fieldUsername] == "" {
		v[fieldUsername] = addr
	}
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	if err := b.completeEndpoint(v, "IMAP", fieldIMAPHost, fieldIMAPPort, fieldIMAPSecurity, "imap."+domain, 993, 143); err != nil {
		return nil, err
	}
	if err := b.completeEndpoint(v, "SMTP", fieldSMTPHost, fieldSMTPPort, fieldSMTPSecurity, "smtp."+domain, 465, 587); err != nil {
		return nil, err
	}
	a, err := b.accountFrom(v)
	if err != nil {
		return nil, internal("could not read the registration", err)
	}
	if d := b.logins.Take(b.loginKeys(r.JID, a)...); d != nil {
		return nil, b.tooManyLogins(d, r.JID)
	}
	if err := b.checkLogins(ctx, a); err != nil {
		return nil, err
	}
	return v, nil
}

func normaliseAddress(s string) (string, error) {
	lp, err := mailaddr.LocalPart(s)
	if err != nil {
		return "", err
	}
	return mailaddr.Address(lp)
}

// completeEndpoint fills in and checks one server's host, port and
// security.
func (b *Bridge) completeEndpoint(v map[string]string, name, hostKey, portKey, secKey, defHost string, tlsPort, otherPort int) error {
	sec := v[secKey]
	if sec == "" {
		sec = "tls"
		if name == "SMTP" {
			sec = "starttls"
		}
	}
	known := false
	for _, o := range b.securityOptions() {
		known = known || o.Value == sec
	}
	if !known {
		if sec == "plain" {
			return bridges.Errorf(bridges.NotAllowed, "%s without encryption is not allowed on this gateway", name)
		}
		return bridges.Errorf(bridges.NotAcceptable, "%s security must be tls or starttls", name)
	}
	v[secKey] = sec
	host := strings.ToLower(strings.TrimSuffix(v[hostKey], "."))
	if host == "" {
		host = defHost
	}
	if !validHost(host) {
		return bridges.Errorf(bridges.NotAcceptable, "%s server %q is not a host name", name, host)
	}
	v[hostKey] = host
	port := tlsPort
	if sec != "tls" {
		port = otherPort
	}
	if v[portKey] != "" {
		p, err := strconv.Atoi(v[portKey])
		if err != nil || p < 1 || p > 65535 {
			return bridges.Errorf(bridges.NotAcceptable, "%s port %q is not a port number", name, v[portKey])
		}
		port = p
	}
	v[portKey] = strconv.Itoa(port)
	return nil
}

// checkLogins logs in to IMAP and SMTP at once and reports the first
// failure by server.
func (b *Bridge) checkLogins(ctx context.Context, a account) error {
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	// A refused host is answered at once, in the words of an unreachable
	// one; the dialer refuses it again on every connection.
	if err := b.opts.Hosts.CheckHost(ctx, net.DefaultResolver, a.IMAP.Host); err != nil {
		return unreachable("IMAP", a.IMAP, err)
	}
	if err := b.opts.Hosts.CheckHost(ctx, net.DefaultResolver, a.SMTP.Host); err != nil {
		return unreachable("SMTP", a.SMTP, err)
	}
	var wg sync.WaitGroup
	var imapErr, smtpErr error
	wg.Add(2)
	go func() { defer wg.Done(); imapErr = imapwatch.Check(ctx, a.imapServer()) }()
	go func() { defer wg.Done(); smtpErr = submit.Check(ctx, a.smtpServer()) }()
	wg.Wait()
	if err := loginError("IMAP", a.IMAP, imapErr); err != nil {
		return err
	}
	return loginError("SMTP", a.SMTP, smtpErr)
}

func loginError(name string, e endpoint, err error) error {
	if err == nil {
		return nil
	}
	if isUnreachable(err) {
		return unreachable(name, e, err)
	}
	var ie *imapwatch.Error
	var se *submit.Error
	text, auth := err.Error(), false
	switch {
	case errors.As(err, &ie):
		text, auth = ie.Text, ie.Auth
	case errors.As(err, &se):
		text, auth = se.Text, se.Auth
	}
	cond := bridges.Condition(bridges.RemoteServerNotFnd)
	if auth {
		cond = bridges.NotAuthorized
	}
	return &bridges.Error{Condition: cond, Text: fmt.Sprintf("%s server %s: %s", name, e.addr(), text), Cause: err}
}

// validHost accepts an IP address or a DNS name of letters, digits,
// hyphens and dots.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

package irc

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"strconv"
	"strings"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircaddr"
	"github.com/ferry-xmpp/ferry/bridges/irc/ircconn"
	"github.com/ferry-xmpp/ferry/bridges/irc/irctext"
)

// The settings of a network and of a channel, named as biboumi's
// "configure" forms name them, so users and clients find what they know.
const (
	setNick         = "nick"
	setUsername     = "username"
	setRealname     = "realname"
	setPass         = "pass"
	setSASLUser     = "sasl_user"
	setSASLPassword = "sasl_password"
	setPorts        = "ports"
	setTLSPorts     = "tls_ports"
	setVerifyCert   = "verify_cert"
	setFingerprint  = "fingerprint"
	setAfterConnect = "after_connect_commands"
	setEncodingIn   = "encoding_in"
	setEncodingOut  = "encoding_out"
	setBurst        = "throttle_burst"
	setRate         = "throttle_limit"
)

// maxPorts bounds a port list: each is one connection attempt.
const maxPorts = 8

// AddressFields implements bridges.AddressConfigurer: a network JID has
// the connection's settings, a channel JID its encodings.
func (b *Bridge) AddressFields(_ bridges.Account, local string) ([]bridges.Field, error) {
	a, err := b.configurable(local)
	if err != nil {
		return nil, err
	}
	if a.Kind == ircaddr.Channel {
		return encodingFields("Empty: the network's encoding."), nil
	}
	nw, _ := b.opts.network(a.Server)
	fields := []bridges.Field{
		{Var: setNick, Label: "Nickname", Type: bridges.TextSingle, Desc: "Used on this network instead of your registered nick and of the nick you join rooms with."},
		{Var: setUsername, Label: "User name (ident)", Type: bridges.TextSingle, Desc: "Empty: your registered one, else your nickname."},
		{Var: setRealname, Label: "Real name", Type: bridges.TextSingle, Desc: "Empty: your registered one, else your nickname."},
		{Var: setPass, Label: "Server password", Type: bridges.TextPrivate, Desc: "Only for servers that require one (PASS)."},
		{Var: setSASLUser, Label: "SASL account", Type: bridges.TextSingle, Desc: "Your services account on this network."},
		{Var: setSASLPassword, Label: "SASL password", Type: bridges.TextPrivate},
	}
	if nw.UserNamed {
		fields = append(fields,
			bridges.Field{Var: setTLSPorts, Label: "TLS ports", Type: bridges.TextSingle, Desc: "Tried first, in order, e.g. 6697 7000. Empty: 6697, unless plain ports are set."},
			bridges.Field{Var: setPorts, Label: "Plain ports (no encryption)", Type: bridges.TextSingle, Desc: "Tried after the TLS ports, e.g. 6667."},
			bridges.Field{Var: setVerifyCert, Label: "Check the server's certificate", Type: bridges.Boolean, Default: "true"},
			bridges.Field{Var: setFingerprint, Label: "Pinned certificate (SHA-256 fingerprint)", Type: bridges.TextSingle,
				Desc: "When set, the server's certificate must have this fingerprint, whoever signed it."})
	} else {
		tlsText := "TLS"
		if !nw.TLS {
			tlsText = "no TLS"
		}
		fields = append(fields, bridges.Field{Var: "address", Label: "Address (set by the gateway's operator)", Type: bridges.Fixed,
			Default: nw.Address + ", " + tlsText})
	}
	fields = append(fields, bridges.Field{Var: setAfterConnect, Label: "Commands after connecting", Type: bridges.TextSingle,
		Desc: "Raw IRC commands separated by ';', e.g. PRIVMSG NickServ :IDENTIFY pw"})
	fields = append(fields, encodingFields("Empty: UTF-8.")...)
	if b.opts.Rate > 0 {
		fields = append(fields,
			bridges.Field{Var: setBurst, Label: "Lines sent at once", Type: bridges.TextSingle,
				Desc: fmt.Sprintf("1 to %d (the gateway's limit).", b.opts.Burst)},
			bridges.Field{Var: setRate, Label: "Lines per second after that", Type: bridges.TextSingle,
				Desc: fmt.Sprintf("More than 0, at most %g (the gateway's limit).", b.opts.Rate)})
	}
	return fields, nil
}

func encodingFields(empty string) []bridges.Field {
	return []bridges.Field{
		{Var: setEncodingIn, Label: "Encoding of what others send", Type: bridges.TextSingle,
			Desc: "Read lines that are not UTF-8 in this encoding (e.g. ISO-8859-1, windows-1252, KOI8-R, Shift_JIS); UTF-8 is always read as UTF-8. " + empty},
		{Var: setEncodingOut, Label: "Encoding of what you send", Type: bridges.TextSingle,
			Desc: "Write your messages in this encoding; a character it cannot write is refused. " + empty},
	}
}

// configurable parses a local part that may have settings: a network the
// gateway connects to, or a channel on one.
func (b *Bridge) configurable(local string) (ircaddr.Address, error) {
	if b.opts.FixedServer != "" && strings.EqualFold(local, b.opts.FixedServer) {
		// With one network there is no server JID: its settings are filed
		// under its name (configure irc.example.org, or the ad-hoc command
		// on irc.example.org@gateway, which no nick can be).
		return ircaddr.Address{Kind: ircaddr.Server, Server: b.opts.FixedServer}, nil
	}
	a, err := b.mapper.Parse(local, ircaddr.DefaultChanTypes)
	if err != nil {
		return a, bridges.Errorf(bridges.JIDMalformed, "%v", err)
	}
	if a.Kind != ircaddr.Server && a.Kind != ircaddr.Channel {
		return a, bridges.Errorf(bridges.ItemNotFound, "only an IRC network or a channel has settings")
	}
	if _, ok := b.opts.network(a.Server); !ok {
		return a, bridges.Errorf(bridges.NotAllowed, "this gateway does not connect to %s", a.Server)
	}
	return a, nil
}

// CheckAddressSettings implements bridges.AddressConfigurer.
func (b *Bridge) CheckAddressSettings(_ context.Context, acct bridges.Account, local string, values map[string]string) (map[string]string, error) {
	fields, err := b.AddressFields(acct, local)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, f := range fields {
		v := strings.TrimSpace(values[f.Var])
		if f.Secret() {
			v = values[f.Var] // a password may hold spaces
		}
		if v == "" || f.Type == bridges.Fixed {
			continue
		}
		norm, err := b.checkSetting(f, v)
		if err != nil {
			return nil, err
		}
		if norm != "" && !(f.Var == setVerifyCert && norm == "true") {
			out[f.Var] = norm
		}
	}
	if err := checkIdentity(acct.Values, out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkSetting checks one value and returns it as stored.
func (b *Bridge) checkSetting(f bridges.Field, v string) (string, error) {
	bad := func(format string, args ...any) error {
		return bridges.Errorf(bridges.NotAcceptable, f.Label+": "+format, args...)
	}
	switch f.Var {
	case setNick:
		if !validNick(v) {
			return "", bad("%q is not a valid IRC nickname: "+nickRules, v)
		}
	case setPorts, setTLSPorts:
		ports, err := parsePorts(v)
		if err != nil {
			return "", bad("%v", err)
		}
		return strings.Join(ports, " "), nil
	case setVerifyCert:
		on, ok := bridges.ParseBool(v)
		if !ok {
			return "", bad("answer yes or no")
		}
		return strconv.FormatBool(on), nil
	case setFingerprint:
		fp, err := parseFingerprint(v)
		if err != nil {
			return "", bad("%v", err)
		}
		return fp, nil
	case setEncodingIn, setEncodingOut:
		c, err := irctext.LookupCodec(v)
		if err != nil {
			return "", bad("%v", err)
		}
		return c.Name(), nil
	case setBurst:
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > b.opts.Burst {
			return "", bad("must be a whole number from 1 to %d", b.opts.Burst)
		}
		return strconv.Itoa(n), nil
	case setRate:
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !(r > 0) || r > b.opts.Rate {
			return "", bad("must be a number of lines per second above 0 and at most %g", b.opts.Rate)
		}
		return strconv.FormatFloat(r, 'g', -1, 64), nil
	}
	return v, nil
}

// checkIdentity checks the identity and the commands the network will
// get with these settings, with the rules the connection applies.
func checkIdentity(registered, set map[string]string) error {
	v := networkValues(registered, set)
	return checkValues(v, v["nick"])
}

// networkValues are the registration values as one network uses them:
// what the user set for it replaces what they registered.
func networkValues(registered, set map[string]string) map[string]string {
	if len(set) == 0 {
		return registered
	}
	v := maps.Clone(registered)
	if v == nil {
		v = map[string]string{}
	}
	for from, to := range map[string]string{setNick: "nick", setUsername: "username", setRealname: "realname", setPass: "server_password",
		setSASLUser: "sasl_user", setSASLPassword: "sasl_password", setAfterConnect: "on_connect"} {
		if s := set[from]; s != "" {
			v[to] = s
		}
	}
	if set[setSASLPassword] != "" && set[setSASLUser] != "" {
		v["sasl_mechanism"] = "PLAIN"
	}
	return v
}

func parsePorts(s string) ([]string, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == ';' || r == '\n' || r == '\t' })
	if len(fields) > maxPorts {
		return nil, fmt.Errorf("at most %d ports", maxPorts)
	}
	for _, p := range fields {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q is not a port number (1 to 65535; separate ports with spaces)", p)
		}
	}
	return fields, nil
}

// parseFingerprint reads a SHA-256 fingerprint as tools print it (hex,
// with or without colons) and returns it as lower-case hex.
func parseFingerprint(s string) (string, error) {
	h := strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(s))
	if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
		return "", errors.New("must be the certificate's SHA-256 fingerprint: 64 hex digits, colons allowed")
	}
	return h, nil
}

// dialCandidates are the connections to try, in order: the TLS ports the
// user set, then the plain ones; or the network as configured.
func dialCandidates(nw Network, set map[string]string) []Network {
	if !nw.UserNamed || set[setTLSPorts] == "" && set[setPorts] == "" {
		return []Network{nw}
	}
	host, _, _ := net.SplitHostPort(nw.Address)
	var out []Network
	for _, list := range []struct {
		ports string
		tls   bool
	}{{set[setTLSPorts], true}, {set[setPorts], false}} {
		for _, p := range strings.Fields(list.ports) {
			c := nw
			c.Address, c.TLS = net.JoinHostPort(host, p), list.tls
			out = append(out, c)
		}
	}
	return out
}

// applyCertChecks makes a TLS configuration follow the user's
// verify_cert and fingerprint (on servers they named themselves).
func applyCertChecks(cfg *tls.Config, set map[string]string) {
	fp := set[setFingerprint]
	if fp == "" && set[setVerifyCert] != "false" {
		return
	}
	// The chain is checked below instead (or not at all, as asked).
	cfg.InsecureSkipVerify = true
	roots, name := cfg.RootCAs, cfg.ServerName
	verify := set[setVerifyCert] != "false" && fp == ""
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the server sent no certificate")
		}
		if fp != "" {
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if hex.EncodeToString(sum[:]) != fp {
				return fmt.Errorf("the server's certificate has fingerprint %x, not the one pinned in your settings", sum)
			}
			return nil
		}
		if !verify {
			return nil
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter})
		return err
	}
}

// dialNetwork connects the network with the user's settings for it: each
// candidate port in turn until one answers or a failure only the user can
// fix (a refused password).
func (s *session) dialNetwork(ctx context.Context, server, nick string) (*ircconn.Conn, error) {
	set := s.addressValues(server)
	if set[setNick] != "" {
		nick = set[setNick]
	}
	v := networkValues(s.acct.Values, set)
	nw, ok := s.b.opts.network(server)
	if !ok {
		return nil, bridges.Errorf(bridges.NotAllowed, "this gateway does not connect to %s", server)
	}
	var (
		conn *ircconn.Conn
		err  error
	)
	for _, c := range dialCandidates(nw, set) {
		var cfg ircconn.Config
		if cfg, err = s.b.dialConfigFor(s.acct.JID, c, server, v, nick); err != nil {
			return nil, err
		}
		if cfg.TLSConfig != nil && c.UserNamed {
			applyCertChecks(cfg.TLSConfig, set)
		}
		if n, _ := strconv.Atoi(set[setBurst]); n > 0 {
			cfg.Burst = n
		}
		if r, _ := strconv.ParseFloat(set[setRate], 64); r > 0 {
			cfg.Rate = r
		}
		if conn, err = s.b.dial(ctx, cfg); err == nil || permanent(err) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		s.b.logDialError(server, err)
		return nil, err
	}
	return conn, nil
}

// networkValues are the registration values as the network server uses
// them.
func (s *session) networkValues(server string) map[string]string {
	return networkValues(s.acct.Values, s.addressValues(server))
}

// addressValues are the settings the user gave one address.
func (s *session) addressValues(local string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acct.Addresses[local]
}

// AddressSettingsChanged implements bridges.AddressSettingsListener:
// encodings and pacing change on the live connection, the rest at the
// next one.
func (s *session) AddressSettingsChanged(local string, values map[string]string) string {
	a, err := s.b.configurable(local)
	if err != nil {
		return ""
	}
	s.mu.Lock()
	addrs := maps.Clone(s.acct.Addresses)
	if addrs == nil {
		addrs = map[string]map[string]string{}
	}
	addrs[local] = maps.Clone(values)
	s.acct.Addresses = addrs
	n := s.networks[a.Server]
	s.mu.Unlock()
	if n == nil {
		return "They apply when you next connect to " + a.Server + "."
	}
	text := codecsFor(s.b.mapper, addrs, a.Server)
	paced := false
	_ = n.locked(s.ctx, func() {
		n.text = text
		if a.Kind == ircaddr.Server && n.conn != nil {
			burst, rate := s.b.opts.Burst, pace(s.b.opts.Rate)
			if b, _ := strconv.Atoi(values[setBurst]); b > 0 {
				burst = b
			}
			if r, _ := strconv.ParseFloat(values[setRate], 64); r > 0 {
				rate = r
			}
			paced = n.conn.SetPace(burst, rate)
		}
	})
	switch {
	case a.Kind == ircaddr.Channel:
		return "The encodings apply now."
	case paced:
		return "Encodings and pacing apply now; the other settings when you next connect to " + a.Server + " (send \"reconnect\" to the gateway to do it now)."
	}
	return "Encodings apply now; the other settings when you next connect to " + a.Server + " (send \"reconnect\" to the gateway to do it now)."
}

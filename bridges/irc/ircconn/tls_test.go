package ircconn

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/ferry-xmpp/ferry/internal/testenv"
)

// testCert makes a self-signed certificate for 127.0.0.1 and the pool
// that trusts it.
func testCert(t *testing.T, cn string) (tls.Certificate, *x509.CertPool) {
	return testenv.SelfSigned(t, cn)
}

func newTLSFakeServer(t *testing.T, cert tls.Certificate) *fakeServer {
	s := newFakeServer(t)
	s.ln = tls.NewListener(s.ln, &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequestClientCert,
	})
	return s
}

func TestTLSVerified(t *testing.T) {
	cert, pool := testCert(t, "irc.test")
	s := newTLSFakeServer(t, cert)
	cfg := baseConfig(s.addr())
	cfg.TLS, cfg.TLSConfig = true, &tls.Config{RootCAs: pool}
	ch := dialAsync(cfg)
	p := s.accept()
	p.registerPlain("alice")
	c := mustDial(t, ch)
	if _, ok := c.nc.(*tls.Conn); !ok {
		t.Fatalf("transport is %T", c.nc)
	}
}

func TestTLSUnverified(t *testing.T) {
	cert, _ := testCert(t, "irc.test")
	s := newTLSFakeServer(t, cert)
	cfg := baseConfig(s.addr())
	cfg.TLS = true // system roots: the self-signed certificate is refused
	ch := dialAsync(cfg)
	p := s.accept()
	p.conn.(*tls.Conn).Handshake() // fails: the client hangs up
	_, err := waitDial(t, ch)
	wantErrKind(t, err, KindTLS, "")
}

func TestSASLExternal(t *testing.T) {
	serverCert, pool := testCert(t, "irc.test")
	clientCert, _ := testCert(t, "alice")
	s := newTLSFakeServer(t, serverCert)
	cfg := baseConfig(s.addr())
	cfg.TLS = true
	cfg.TLSConfig = &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{clientCert}}
	cfg.SASL = SASLExternal
	ch := dialAsync(cfg)
	p := s.accept()
	p.expectHello("", "alice")
	state := p.conn.(*tls.Conn).ConnectionState()
	if len(state.PeerCertificates) != 1 || state.PeerCertificates[0].Subject.CommonName != "alice" {
		t.Fatalf("client certificate not presented: %v", state.PeerCertificates)
	}
	p.send(":srv CAP * LS :sasl=EXTERNAL,PLAIN")
	p.expect("CAP REQ sasl")
	p.send(":srv CAP * ACK :sasl")
	p.expect("AUTHENTICATE EXTERNAL")
	p.send("AUTHENTICATE +")
	p.expect("AUTHENTICATE +")
	p.send(":srv 903 alice :SASL authentication successful")
	p.expect("CAP END")
	p.welcome("alice")
	c := mustDial(t, ch)
	if !c.Caps()["sasl"] {
		t.Errorf("Caps() = %v", c.Caps())
	}
}

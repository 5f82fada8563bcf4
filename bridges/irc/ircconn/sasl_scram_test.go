package ircconn

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// RFC 7677 section 3: user "user", password "pencil".
const (
	rfcNonce       = "rOprNGfwEbeRWgbNEkqO"
	rfcServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
	rfcClientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
	rfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
)

func TestSCRAMTestVector(t *testing.T) {
	s := newSCRAMWithNonce("user", "pencil", rfcNonce)
	first, err := s.next(nil)
	if err != nil || string(first) != "n,,n=user,r="+rfcNonce {
		t.Fatalf("client-first = %q, %v", first, err)
	}
	final, err := s.next([]byte(rfcServerFirst))
	if err != nil || string(final) != rfcClientFinal {
		t.Fatalf("client-final = %q, %v; want %q", final, err, rfcClientFinal)
	}
	if s.done() {
		t.Fatal("done before the server proved itself")
	}
	last, err := s.next([]byte(rfcServerFinal))
	if err != nil || len(last) != 0 || !s.done() {
		t.Fatalf("server-final refused: %q, %v, done=%v", last, err, s.done())
	}
}

// TestSCRAMRefusesAnImpostor: a server that does not know the password,
// or plays with the exchange, is refused with a reason.
func TestSCRAMRefusesAnImpostor(t *testing.T) {
	wrongSig := "v=" + base64.StdEncoding.EncodeToString(make([]byte, sha256.Size))
	tests := []struct {
		name, serverFirst, serverFinal, want string
	}{
		{"wrong signature", rfcServerFirst, wrongSig, "signature is wrong"},
		{"error instead", rfcServerFirst, "e=invalid-proof", "refused the SCRAM proof: invalid-proof"},
		{"garbage final", rfcServerFirst, "nonsense", "malformed"},
		{"nonce not ours", "r=somethingelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "", "nonce"},
		{"nonce not extended", "r=" + rfcNonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "", "nonce"},
		{"too few iterations", "r=" + rfcNonce + "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1", "", "iterations"},
		{"too many iterations", "r=" + rfcNonce + "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=999999999", "", "iterations"},
		{"no salt", "r=" + rfcNonce + "x,i=4096", "", "salt"},
		{"mandatory extension", "m=ext,r=" + rfcNonce + "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "", "extension"},
	}
	for _, tt := range tests {
		s := newSCRAMWithNonce("user", "pencil", rfcNonce)
		if _, err := s.next(nil); err != nil {
			t.Fatal(err)
		}
		_, err := s.next([]byte(tt.serverFirst))
		if err == nil {
			_, err = s.next([]byte(tt.serverFinal))
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) || s.done() {
			t.Errorf("%s: %v (done=%v), want an error about %q", tt.name, err, s.done(), tt.want)
		}
	}
}

func TestSCRAMEscapesTheUserName(t *testing.T) {
	s := newSCRAMWithNonce("a=b,c", "pw", "n")
	first, _ := s.next(nil)
	if string(first) != "n,,n=a=3Db=2Cc,r=n" {
		t.Fatalf("client-first = %q", first)
	}
}

func TestChooseMech(t *testing.T) {
	tests := []struct {
		want, offered, got string
	}{
		{SASLPlain, "PLAIN,SCRAM-SHA-256", SASLScram},
		{SASLPlain, "PLAIN,EXTERNAL", SASLPlain},
		{SASLPlain, "", SASLPlain}, // no list: try what was asked
		{SASLScram, "", SASLScram},
		{SASLScram, "PLAIN", ""},
		{SASLExternal, "PLAIN,EXTERNAL,SCRAM-SHA-256", SASLExternal},
		{SASLExternal, "PLAIN", ""},
	}
	for _, tt := range tests {
		cfg := &Config{SASL: tt.want, SASLUser: "u", SASLPass: "p"}
		m, err := chooseMech(cfg, tt.offered)
		got := ""
		if err == nil {
			got = m.name()
		} else if !errors.Is(err, errNotOffered) {
			t.Fatal(err)
		}
		if got != tt.got {
			t.Errorf("%s among %q: %q, want %q", tt.want, tt.offered, got, tt.got)
		}
	}
}

// scramServerSide plays the server's half of SCRAM-SHA-256 for password,
// from the formulas of RFC 5802, to drive registration end to end.
type scramServerSide struct {
	password, first, nonce string
	salt                   []byte
}

func (s *scramServerSide) serverFirst(clientFirst string) string {
	bare := strings.TrimPrefix(clientFirst, gs2Header)
	s.first = bare
	_, cnonce, _ := strings.Cut(bare, ",r=")
	s.nonce = cnonce + "srvnonce"
	s.salt = []byte("pepper and salt")
	return "r=" + s.nonce + ",s=" + base64.StdEncoding.EncodeToString(s.salt) + ",i=4096"
}

// serverFinal checks the client's proof and returns the signature; a
// wrong password gets e=invalid-proof.
func (s *scramServerSide) serverFinal(serverFirst, clientFinal string) string {
	withoutProof, proof64, _ := strings.Cut(clientFinal, ",p=")
	auth := s.first + "," + serverFirst + "," + withoutProof
	salted, _ := pbkdf2Key(s.password, s.salt)
	clientKey := hmacSHA256(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	sig := hmacSHA256(stored[:], auth)
	proof, _ := base64.StdEncoding.DecodeString(proof64)
	if len(proof) != len(sig) {
		return "e=invalid-proof"
	}
	for i := range proof {
		proof[i] ^= sig[i]
	}
	if got := sha256.Sum256(proof); got != stored {
		return "e=invalid-proof"
	}
	return "v=" + base64.StdEncoding.EncodeToString(hmacSHA256(hmacSHA256(salted, "Server Key"), auth))
}

func pbkdf2Key(password string, salt []byte) ([]byte, error) {
	return pbkdf2.Key(sha256.New, password, salt, 4096, sha256.Size)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func unb64(t *testing.T, line string) string {
	t.Helper()
	payload, ok := strings.CutPrefix(line, "AUTHENTICATE ")
	b, err := base64.StdEncoding.DecodeString(payload)
	if !ok || err != nil {
		t.Fatalf("not an AUTHENTICATE payload: %q", line)
	}
	return string(b)
}

// TestRegisterSCRAM: with a password and a server offering SCRAM-SHA-256,
// registration takes SCRAM, and believes the server's success only once
// the server has proven it knows the password.
func TestRegisterSCRAM(t *testing.T) {
	tests := []struct {
		name     string
		password string // the server's
		finish   func(p *peer, srv *scramServerSide, serverFirst, clientFinal string)
		err      string
	}{
		{"success", "s3cret", func(p *peer, srv *scramServerSide, sf, cf string) {
			p.send("AUTHENTICATE " + b64(srv.serverFinal(sf, cf)))
			p.expect("AUTHENTICATE +")
			p.send(":srv 900 alice alice!a@h acct :You are now logged in", ":srv 903 alice :SASL authentication successful")
			p.expect("CAP END")
			p.welcome("alice")
		}, ""},
		{"success claimed without proof", "s3cret", func(p *peer, _ *scramServerSide, _, _ string) {
			p.send(":srv 903 alice :SASL authentication successful")
		}, "did not prove that it knows your password"},
		{"impostor", "another password", func(p *peer, srv *scramServerSide, sf, cf string) {
			p.send("AUTHENTICATE " + b64("v="+b64("not the signature")))
			p.expect("AUTHENTICATE *")
		}, "signature is wrong"},
		{"wrong password", "another password", func(p *peer, srv *scramServerSide, sf, cf string) {
			p.send("AUTHENTICATE " + b64(srv.serverFinal(sf, cf)))
			p.expect("AUTHENTICATE *")
		}, "invalid-proof"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeServer(t)
			cfg := baseConfig(s.addr())
			cfg.SASL, cfg.SASLUser, cfg.SASLPass = SASLPlain, "acct", "s3cret"
			ch := dialAsync(cfg)
			p := s.accept()
			t.Cleanup(func() { p.conn.Close() })
			p.expectHello("", "alice")
			p.send(":srv CAP * LS :sasl=PLAIN,SCRAM-SHA-256")
			p.expect("CAP REQ sasl")
			p.send(":srv CAP alice ACK :sasl")
			p.expect("AUTHENTICATE SCRAM-SHA-256")
			p.send("AUTHENTICATE +")
			srv := &scramServerSide{password: tt.password}
			sf := srv.serverFirst(unb64(t, p.readLine()))
			p.send("AUTHENTICATE " + b64(sf))
			cf := unb64(t, p.readLine())
			tt.finish(p, srv, sf, cf)
			c, err := waitDial(t, ch)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				closeQuick(c)
				return
			}
			if !errors.Is(err, &Error{Kind: KindSASL}) || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Dial = %v, want a SASL error about %q", err, tt.err)
			}
		})
	}
}

// TestSCRAMRefusedThenPlain: a server that refuses SCRAM-SHA-256 (904)
// and also offers PLAIN gets the login once more with PLAIN; not when
// PLAIN is not offered, when the user insisted on SCRAM, or twice.
func TestSCRAMRefusedThenPlain(t *testing.T) {
	plainLogin := "AUTHENTICATE " + b64("\x00acct\x00s3cret")
	for _, tt := range []struct {
		name, offered, mech string
		plainAnswer         string // the server's answer to PLAIN; "" not tried
		err                 string
	}{
		{"PLAIN works", "PLAIN,SCRAM-SHA-256", SASLPlain, ":srv 903 alice :SASL authentication successful", ""},
		{"PLAIN refused too", "PLAIN,SCRAM-SHA-256", SASLPlain, ":srv 904 alice :SASL authentication failed", "authentication failed"},
		{"PLAIN not offered", "SCRAM-SHA-256", SASLPlain, "", "SCRAM refused"},
		{"SCRAM insisted on", "PLAIN,SCRAM-SHA-256", SASLScram, "", "SCRAM refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeServer(t)
			cfg := baseConfig(s.addr())
			cfg.SASL, cfg.SASLUser, cfg.SASLPass = tt.mech, "acct", "s3cret"
			ch := dialAsync(cfg)
			p := s.accept()
			t.Cleanup(func() { p.conn.Close() })
			p.expectHello("", "alice")
			p.send(":srv CAP * LS :sasl=" + tt.offered)
			p.expect("CAP REQ sasl")
			p.send(":srv CAP alice ACK :sasl")
			p.expect("AUTHENTICATE SCRAM-SHA-256")
			p.send("AUTHENTICATE +")
			p.readLine() // client-first
			p.send(":srv 904 alice :SCRAM refused")
			if tt.plainAnswer != "" {
				p.expect("AUTHENTICATE PLAIN")
				p.send("AUTHENTICATE +")
				p.expect(plainLogin)
				p.send(tt.plainAnswer)
			}
			if tt.err == "" {
				p.expect("CAP END")
				p.welcome("alice")
				closeQuick(mustDial(t, ch))
				return
			}
			if _, err := waitDial(t, ch); !errors.Is(err, &Error{Kind: KindSASL}) || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Dial = %v, want a SASL error about %q", err, tt.err)
			}
		})
	}
}

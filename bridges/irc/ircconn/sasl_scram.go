package ircconn

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/text/secure/precis"
)

// SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding: the
// password never crosses the wire, and the server proves it knows the
// account's verifier before Ferry believes its "success".

// Iteration counts a server may ask for. RFC 7677 wants at least 4096;
// the ceiling stops a hostile server from making Ferry hash for minutes.
const (
	scramMinIter = 4096
	scramMaxIter = 1 << 20
)

// gs2Header says "no channel binding, no authorization identity".
const gs2Header = "n,,"

type scram struct {
	user, pass string
	nonce      string // the client's nonce
	first      string // client-first-message-bare
	serverSig  []byte // expected ServerSignature, once the final message is sent
	step       int
}

// newSCRAM starts an exchange for user and pass with a fresh nonce from
// random.
func newSCRAM(user, pass string, random io.Reader) (*scram, error) {
	b := make([]byte, 18)
	if _, err := io.ReadFull(random, b); err != nil {
		return nil, fmt.Errorf("no randomness for the SCRAM nonce: %w", err)
	}
	return newSCRAMWithNonce(user, pass, base64.RawStdEncoding.EncodeToString(b)), nil
}

func newSCRAMWithNonce(user, pass, nonce string) *scram {
	// The password is prepared as RFC 7613 (SASLprep's successor) says;
	// one it refuses is used as typed, as servers without preparation
	// store it.
	if p, err := precis.OpaqueString.String(pass); err == nil {
		pass = p
	}
	return &scram{user: user, pass: pass, nonce: nonce}
}

func (s *scram) name() string { return SASLScram }

// next answers the server's challenge; the exchange takes three steps,
// and a failed one ends it.
func (s *scram) next(challenge []byte) (out []byte, err error) {
	switch s.step {
	case 0:
		s.first = "n=" + scramEscape(s.user) + ",r=" + s.nonce
		out = []byte(gs2Header + s.first)
	case 1:
		out, err = s.final(challenge)
	case 2:
		err = s.verify(challenge)
	default:
		err = errors.New("the server went on after the SCRAM exchange ended")
	}
	if err == nil {
		s.step++
	}
	return out, err
}

// done reports whether the server proved it knows the password.
func (s *scram) done() bool { return s.step >= 3 }

// final reads server-first-message and makes client-final-message.
func (s *scram) final(serverFirst []byte) ([]byte, error) {
	attrs, err := scramAttrs(string(serverFirst))
	if err != nil {
		return nil, err
	}
	if _, ok := attrs["m"]; ok {
		return nil, errors.New("the server requires a SCRAM extension Ferry does not know")
	}
	nonce := attrs["r"]
	if !strings.HasPrefix(nonce, s.nonce) || len(nonce) == len(s.nonce) {
		return nil, errors.New("the server's SCRAM nonce does not extend Ferry's")
	}
	salt, err := base64.StdEncoding.DecodeString(attrs["s"])
	if err != nil || len(salt) == 0 {
		return nil, errors.New("the server sent no valid SCRAM salt")
	}
	iter, err := strconv.Atoi(attrs["i"])
	if err != nil || iter < scramMinIter || iter > scramMaxIter {
		return nil, fmt.Errorf("the server asked for %q SCRAM iterations (Ferry accepts %d to %d)", attrs["i"], scramMinIter, scramMaxIter)
	}
	salted, err := pbkdf2.Key(sha256.New, s.pass, salt, iter, sha256.Size)
	if err != nil {
		return nil, err
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	withoutProof := "c=" + base64.StdEncoding.EncodeToString([]byte(gs2Header)) + ",r=" + nonce
	authMessage := s.first + "," + string(serverFirst) + "," + withoutProof
	proof := hmacSHA256(storedKey[:], authMessage)
	for i := range proof {
		proof[i] ^= clientKey[i]
	}
	s.serverSig = hmacSHA256(hmacSHA256(salted, "Server Key"), authMessage)
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

// verify checks server-final-message against the expected signature.
func (s *scram) verify(serverFinal []byte) error {
	attrs, err := scramAttrs(string(serverFinal))
	if err != nil {
		return err
	}
	if e, ok := attrs["e"]; ok {
		return fmt.Errorf("the server refused the SCRAM proof: %s", e)
	}
	sig, err := base64.StdEncoding.DecodeString(attrs["v"])
	if err != nil || subtle.ConstantTimeCompare(sig, s.serverSig) != 1 {
		return errors.New("the server's SCRAM signature is wrong: it does not know your password (is it the server you meant?)")
	}
	return nil
}

// scramAttrs splits "k=v,k=v"; every attribute name is one letter.
func scramAttrs(msg string) (map[string]string, error) {
	attrs := map[string]string{}
	for _, part := range strings.Split(msg, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || len(k) != 1 {
			return nil, fmt.Errorf("malformed SCRAM message from the server")
		}
		if _, dup := attrs[k]; !dup {
			attrs[k] = v
		}
	}
	return attrs, nil
}

// scramEscape escapes a user name as RFC 5802 says: "=" and "," would
// end the attribute.
func scramEscape(user string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(user)
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

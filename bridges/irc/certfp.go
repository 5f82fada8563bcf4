package irc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// Each user gets a client certificate of their own, generated at
// registration and stored sealed like a password. Ferry presents it on
// every TLS connection, so networks that identify by certificate
// fingerprint (CertFP) recognise the user, and SASL EXTERNAL can log in
// once the fingerprint is added to the user's services account.

// newClientCert returns a self-signed ECDSA certificate and its key, PEM.
func newClientCert(nick string) (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: nick},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(20, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})), nil
}

// clientCert parses the stored PEM pair.
func clientCert(pemPair string) (tls.Certificate, error) {
	b := []byte(pemPair)
	return tls.X509KeyPair(b, b)
}

// fingerprints are the SHA-256 and SHA-512 CertFP forms services accept.
func fingerprints(pemPair string) (sha256hex, sha512hex string, err error) {
	cert, err := clientCert(pemPair)
	if err != nil || len(cert.Certificate) == 0 {
		return "", "", fmt.Errorf("no client certificate: %v", err)
	}
	s256 := sha256.Sum256(cert.Certificate[0])
	s512 := sha512.Sum512(cert.Certificate[0])
	return hex.EncodeToString(s256[:]), hex.EncodeToString(s512[:]), nil
}

// Package tlshint explains why a TLS connection to a user's server failed,
// in words a user can act on, instead of the crypto/tls and crypto/x509
// error text ("tls: failed to verify certificate: x509: ...").
package tlshint

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"time"
)

// Explain describes err when it is a TLS or certificate failure, with what
// to do about it; ok is false for other errors.
func Explain(err error) (text string, ok bool) {
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var record tls.RecordHeaderError
	var alert tls.AlertError
	switch {
	case errors.As(err, &unknownCA):
		return "the server's certificate is not signed by an authority this gateway trusts " +
			"(a self-signed certificate or a private CA: the gateway's operator can trust it with ca_file)", true
	case errors.As(err, &hostErr):
		names := hostErr.Certificate.DNSNames
		if len(names) == 0 && hostErr.Certificate.Subject.CommonName != "" {
			names = []string{hostErr.Certificate.Subject.CommonName}
		}
		text := "the server's certificate is not valid for " + hostErr.Host
		if len(names) > 0 {
			text += " (it is for " + strings.Join(names, ", ") + ")"
		}
		return text + ": check the server name", true
	case errors.As(err, &invalid):
		switch invalid.Reason {
		case x509.Expired:
			return "the server's certificate has expired or is not valid yet (the server must renew it; " +
				"the gateway's clock says " + time.Now().UTC().Format("2006-01-02") + ")", true
		default:
			return "the server's certificate cannot be used for TLS (" + invalid.Detail + "): the server must replace it", true
		}
	case errors.As(err, &record):
		return "the server does not speak TLS on this port: choose STARTTLS or plain for this port, or use its TLS port", true
	case errors.As(err, &alert):
		return "the server ended the TLS handshake (" + alertText(alert) + "): it may need a TLS version or client certificate this gateway does not offer", true
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return "the server's certificate was not accepted: check the server name and its certificate", true
	}
	return "", false
}

// alertText is the alert's description without the "tls: " prefix.
func alertText(a tls.AlertError) string {
	return strings.TrimPrefix(a.Error(), "tls: ")
}

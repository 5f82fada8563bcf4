package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"hash"
	"io"
	"net/url"
	"slices"
)

// SignatureHeader is the header in which Twilio sends a webhook's signature.
const SignatureHeader = "X-Twilio-Signature"

// Sign computes the X-Twilio-Signature of a webhook request, as Twilio
// documents it: start from the full URL Twilio requested (scheme, host, path
// and query string, exactly as configured), append every POST parameter
// sorted by name as name immediately followed by value (no separators),
// HMAC-SHA1 the result with the auth token as key, and base64 the digest.
//
// Query-string parameters are not appended: they are already in fullURL.
// A name that occurs more than once contributes one name+value pair per
// occurrence, ordered by value, so the signature does not depend on the
// order the values came in. Names and values are compared bytewise.
//
// Sign is exported for tests that simulate Twilio's callbacks.
func Sign(authToken, fullURL string, params url.Values) string {
	return base64.StdEncoding.EncodeToString(signature(authToken, fullURL, params))
}

func signature(authToken, fullURL string, params url.Values) []byte {
	mac := hmac.New(sha1.New, []byte(authToken))
	writeSigned(mac, fullURL, params)
	return mac.Sum(nil)
}

func writeSigned(h hash.Hash, fullURL string, params url.Values) {
	io.WriteString(h, fullURL)
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		values := slices.Clone(params[name])
		slices.Sort(values)
		for _, v := range values {
			io.WriteString(h, name)
			io.WriteString(h, v)
		}
	}
}

// validSignature reports whether header is the signature of the request
// (fullURL, params) under authToken. The comparison is constant-time; an
// empty or non-base64 header is invalid.
func validSignature(authToken, fullURL string, params url.Values, header string) bool {
	if header == "" {
		return false
	}
	got, err := base64.StdEncoding.DecodeString(header)
	if err != nil {
		return false
	}
	return hmac.Equal(got, signature(authToken, fullURL, params))
}

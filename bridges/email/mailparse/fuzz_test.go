package mailparse

import (
	"bytes"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse: it must not panic, Text must be
// clean and bounded, and every attachment must open with OpenPart.
func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add([]byte(tc.raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(bytes.NewReader(raw))
		if err != nil {
			return
		}
		checkInvariants(t, raw, m)
	})
}

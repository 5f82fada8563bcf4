package email

import (
	"context"
	"strings"
	"testing"
)

func TestCheckField(t *testing.T) {
	b := testBridge(t, nil)
	for _, tc := range []struct{ field, value, want, wantErr string }{
		{fieldEmail, "Alice@Example.NET", "alice@example.net", ""},
		{fieldEmail, "not an address", "", "not a valid email address"},
		{fieldEmail, "", "", "required"},
		{fieldIMAPHost, "IMAP.example.net.", "imap.example.net", ""},
		{fieldIMAPHost, "bad host", "", "not a host name"},
		{fieldSMTPPort, "587", "587", ""},
		{fieldSMTPPort, "99999", "", "not a port number"},
		{fieldName, "A\nB", "", "one line"},
	} {
		got, err := b.CheckField(context.Background(), tc.field, tc.value, nil)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "mailaddr") {
				t.Errorf("%s=%q: err %v, want %q", tc.field, tc.value, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s=%q: %q, %v; want %q", tc.field, tc.value, got, err, tc.want)
		}
	}
}

package sms

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseOptions(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(secretFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		raw     map[string]any
		wantErr string
		check   func(t *testing.T, o Options)
	}{
		{"defaults", map[string]any{"provider": "kannel"}, "", func(t *testing.T, o Options) {
			if o.Listen != "127.0.0.1:8088" || o.PublicURL != "http://127.0.0.1:8088" || o.MaxParts != 6 || o.Region != "US" {
				t.Errorf("%+v", o)
			}
		}},
		{"secret from a file", map[string]any{"provider": "kannel", "kannel": map[string]any{"password_file": secretFile}}, "", func(t *testing.T, o Options) {
			if o.Kannel["password"] != "s3cret" {
				t.Errorf("password %q", o.Kannel["password"])
			}
		}},
		{"pool", map[string]any{"provider": "twilio", "numbers": []any{"+12015550123"}}, "", func(t *testing.T, o Options) {
			if len(o.Pool) != 1 {
				t.Errorf("%+v", o.Pool)
			}
		}},
		{"pool number not E.164", map[string]any{"provider": "kannel", "numbers": []any{"201 555 0123"}}, "numbers:", nil},
		{"no provider", map[string]any{}, "provider:", nil},
		{"public listener needs public_url", map[string]any{"provider": "kannel", "listen": "0.0.0.0:80"}, "listen:", nil},
		{"bad region", map[string]any{"provider": "kannel", "region": "XX"}, "region:", nil},
		{"unknown key", map[string]any{"provider": "kannel", "colour": "red"}, "colour: unknown option", nil},
		{"bad limit", map[string]any{"provider": "kannel", "per_day": int64(0)}, "per_day:", nil},
		{"missing secret file", map[string]any{"provider": "kannel", "kannel": map[string]any{"secret_file": "/nonexistent"}}, "secret_file", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseOptions(tc.raw)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, o)
		})
	}
}

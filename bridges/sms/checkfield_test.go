package sms

import (
	"context"
	"strings"
	"testing"
)

func TestCheckField(t *testing.T) {
	for _, tc := range []struct {
		pool                 []string
		field, value, region string
		want, wantErr        string
	}{
		{nil, "number", "(201) 555-0123", "", "+12015550123", ""},
		{nil, "number", "020 7946 0018", "GB", "+442079460018", ""},
		{nil, "number", "12", "", "", "phone number"},
		{nil, "number", "", "", "", "required"},
		{[]string{"+12015550100"}, "number", "", "", "", ""},
		{[]string{"+12015550100"}, "number", "+12015550123", "", "", "not one of this gateway's numbers"},
		{nil, "region", "gb", "", "GB", ""},
		{nil, "region", "XX", "", "", "not a country code"},
	} {
		b := &Bridge{domain: "sms.gw", opts: Options{Region: "US", Pool: tc.pool}}
		got, err := b.CheckField(context.Background(), tc.field, tc.value, map[string]string{"region": tc.region})
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s=%q: err %v, want %q", tc.field, tc.value, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s=%q: %q, %v; want %q", tc.field, tc.value, got, err, tc.want)
		}
	}
}

package sms

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/ferry-xmpp/ferry/bridges/sms/numbers"
)

var plusNumber = regexp.MustCompile(`\+[0-9]{8,15}`)

// Every phone number the documentation and the forms show as an example is
// one Ferry accepts: a user who copies it must not be told it is invalid.
func TestExampleNumbersAreAccepted(t *testing.T) {
	texts := map[string]string{}
	for _, f := range []string{"../../README.md", "../../config/ferry.example.toml", "../../docs/users.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		texts[f] = string(b)
	}
	for _, pool := range [][]string{nil, {"+12015550100"}} {
		b := &Bridge{domain: "sms.gw", opts: Options{Region: "US", Pool: pool}}
		d := b.Describe()
		texts["form"] += d.Instructions + " " + d.GatewayDesc
		for _, f := range d.Fields {
			texts["form"] += " " + f.Desc
		}
	}
	texts["errors"] = numberError(nil)
	found := 0
	for where, text := range texts {
		for _, s := range plusNumber.FindAllString(text, -1) {
			found++
			if n, err := numbers.Parse(s, "US"); err != nil || n.E164 != s {
				t.Errorf("%s shows %s, which Ferry refuses: %v", where, s, err)
			}
		}
	}
	if found < 5 {
		t.Fatalf("found only %d example numbers", found)
	}
}

// Without a pool of numbers the form does not offer to hand one out.
func TestFormOffersPoolOnlyWithOne(t *testing.T) {
	for _, tc := range []struct {
		pool      []string
		offersOne bool
	}{{nil, false}, {[]string{"+12015550100"}, true}} {
		d := (&Bridge{domain: "sms.gw", opts: Options{Region: "US", Pool: tc.pool}}).Describe()
		text := d.Instructions + " " + d.Fields[0].Desc
		if got := strings.Contains(strings.ToLower(text), "empty"); got != tc.offersOne {
			t.Errorf("pool %v: %q", tc.pool, text)
		}
		if d.Fields[0].Required == tc.offersOne {
			t.Errorf("pool %v: number required = %v", tc.pool, d.Fields[0].Required)
		}
	}
}

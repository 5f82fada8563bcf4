package sms

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/bridges/options"
	"github.com/ferry-xmpp/ferry/bridges/sms/numbers"
)

// Options are the operator's settings for an SMS transport.
type Options struct {
	Provider  string // "kannel" or "twilio"
	Listen    string // inbound webhooks, loopback by default
	PublicURL string // how the provider reaches Listen
	Region    string // default region for numbers users type
	Pool      []string
	MaxParts  int
	PerMinute int // texts per user per minute
	PerDay    int // texts per user per day
	PerNumber float64
	RetryMin  time.Duration
	RetryMax  time.Duration
	Attempts  int
	Kannel    map[string]string
	Twilio    map[string]string
}

func defaultOptions() Options {
	return Options{Listen: "127.0.0.1:8088", Region: "US", MaxParts: 6, PerMinute: 10, PerDay: 200,
		PerNumber: 1, RetryMin: 5 * time.Second, RetryMax: 10 * time.Minute, Attempts: 10}
}

// optionKeys are the keys parseOptions knows, for "did you mean" hints
// (a test keeps them in step).
var optionKeys = []string{"provider", "listen", "public_url", "region", "numbers", "max_parts", "per_minute",
	"per_day", "attempts", "per_number_rate", "retry_min", "retry_max", "kannel", "twilio"}

// providerKeys are the keys of [transport.options.kannel] and .twilio;
// each may also be given as KEY_file, read from that file.
var providerKeys = map[string][]string{
	"kannel": {"sendsms_url", "username", "password", "secret", "path"},
	"twilio": {"base_url", "account_sid", "auth_token"},
}

// parseOptions validates [transport.options]; errors name their key.
func parseOptions(raw map[string]any) (Options, error) {
	o := defaultOptions()
	p := &options.Problems{}
	for key, v := range raw {
		switch key {
		case "provider":
			o.Provider, _ = v.(string)
		case "listen":
			o.Listen, _ = v.(string)
		case "public_url":
			o.PublicURL, _ = v.(string)
		case "region":
			s, _ := v.(string)
			o.Region = strings.ToUpper(s)
		case "numbers":
			list, ok := v.([]any)
			if !ok {
				p.Bad(key, "must be a list of E.164 numbers")
				continue
			}
			for _, item := range list {
				s, _ := item.(string)
				n, err := numbers.Parse(s, "US")
				if err != nil || n.E164 == "" || n.E164 != s {
					p.Bad(key, "%q is not an E.164 number like +12015550123", s)
					continue
				}
				o.Pool = append(o.Pool, s)
			}
		case "max_parts":
			p.Int(key, v, 1, 255, &o.MaxParts)
		case "per_minute":
			p.Int(key, v, 1, 100000, &o.PerMinute)
		case "per_day":
			p.Int(key, v, 1, 10000000, &o.PerDay)
		case "attempts":
			p.Int(key, v, 1, 1000, &o.Attempts)
		case "per_number_rate":
			f, ok := v.(float64)
			if !ok || f <= 0 {
				p.Bad(key, "must be texts per second, above 0")
			}
			o.PerNumber = f
		case "retry_min":
			p.Duration(key, v, "5s", &o.RetryMin)
		case "retry_max":
			p.Duration(key, v, "5s", &o.RetryMax)
		case "kannel", "twilio":
			m, ok := v.(map[string]any)
			if !ok {
				p.Bad(key, "must be a table")
				continue
			}
			strs := map[string]string{}
			for k, val := range m {
				if name := strings.TrimSuffix(k, "_file"); !slices.Contains(providerKeys[key], name) {
					p.Unknown(key+"."+k, providerKeys[key])
					continue
				}
				s, ok := val.(string)
				if !ok {
					p.Bad(key+"."+k, "must be a string")
					continue
				}
				strs[k] = s
			}
			if err := resolveFiles(strs); err != nil {
				p.Bad(key, "%v", err)
			}
			if key == "kannel" {
				o.Kannel = strs
			} else {
				o.Twilio = strs
			}
		default:
			p.Unknown(key, optionKeys)
		}
	}
	if o.Provider != "kannel" && o.Provider != "twilio" {
		p.Bad("provider", "must be \"kannel\" or \"twilio\"")
	}
	p.Listen("listen", o.Listen, o.PublicURL != "", "set public_url to the address the provider calls")
	if o.PublicURL == "" {
		o.PublicURL = "http://" + o.Listen
	}
	if !numbers.ValidRegion(o.Region) {
		p.Bad("region", "%q is not a region code like US or GB", o.Region)
	}
	if o.RetryMin > o.RetryMax {
		p.Bad("retry_min", "must not exceed retry_max")
	}
	return o, p.Err()
}

// resolveFiles replaces "x_file" keys by the file's content under "x", so
// secrets can live outside the config file.
func resolveFiles(m map[string]string) error {
	for k, v := range m {
		name, ok := strings.CutSuffix(k, "_file")
		if !ok {
			continue
		}
		b, err := os.ReadFile(v)
		if err != nil {
			return fmt.Errorf("%s: %v", k, err)
		}
		m[name] = strings.TrimRight(string(b), "\r\n")
		delete(m, k)
	}
	return nil
}

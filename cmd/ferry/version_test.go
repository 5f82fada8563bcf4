package main

import (
	"runtime/debug"
	"testing"
)

func TestResolveBuild(t *testing.T) {
	vcs := func(version string, settings ...string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			bi := &debug.BuildInfo{Main: debug.Module{Version: version}}
			for i := 0; i+1 < len(settings); i += 2 {
				bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
			}
			return bi, true
		}
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	tests := []struct {
		name              string
		rel, commit, date string
		read              func() (*debug.BuildInfo, bool)
		want              string
	}{
		{"make build: ldflags win", "0.2.0", "47ee7cd0a1b2", "2026-12-07T04:43:26Z",
			vcs("(devel)", "vcs.revision", "ffffffffffffffffffff", "vcs.time", "2000-01-01T00:00:00Z", "vcs.modified", "true"),
			"0.2.0 (commit 47ee7cd0a1b2, built 2026-12-07T04:43:26Z)"},
		{"plain go build in a checkout", "", "", "",
			vcs("(devel)", "vcs.revision", "47ee7cd0a1b2c3d4e5f6", "vcs.time", "2026-12-07T04:43:26Z", "vcs.modified", "false"),
			"dev (commit 47ee7cd0a1b2, built 2026-12-07T04:43:26Z)"},
		{"plain go build with local changes", "", "", "",
			vcs("(devel)", "vcs.revision", "47ee7cd0a1b2c3d4e5f6", "vcs.time", "2026-12-07T04:43:26Z", "vcs.modified", "true"),
			"dev (commit 47ee7cd0a1b2-dirty, built 2026-12-07T04:43:26Z)"},
		{"go install module@version", "", "", "", vcs("v0.3.1"),
			"0.3.1 (commit unknown, built unknown)"},
		{"nothing known", "", "", "", none, "dev (commit unknown, built unknown)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := resolveBuild(tc.rel, tc.commit, tc.date, tc.read).String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

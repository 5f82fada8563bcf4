package main

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Set at link time by the Makefile:
//
//	go build -ldflags "-X main.release=0.1.0 -X main.commit=47ee7cd0a1b2 -X main.buildDate=2026-12-07T04:43:26Z"
//
// A plain `go build` leaves them empty; the commit and its time then come
// from the version-control stamp the go command embeds (debug.ReadBuildInfo).
var (
	release   string
	commit    string
	buildDate string
)

// buildInfo says which Ferry this is.
type buildInfo struct {
	Release string // "0.1.0", a module version, or "dev"
	Commit  string // "unknown" when nothing says
	Date    string // RFC 3339, "unknown" when nothing says
	// Modified: built from a work tree with uncommitted changes.
	Modified bool
}

// String is the `ferry version` line after "ferry ".
func (b buildInfo) String() string {
	c := b.Commit
	if b.Modified {
		c += "-dirty"
	}
	return fmt.Sprintf("%s (commit %s, built %s)", b.Release, c, b.Date)
}

func currentBuild() buildInfo {
	return resolveBuild(release, commit, buildDate, debug.ReadBuildInfo)
}

// resolveBuild prefers what the linker was told and fills the gaps from
// the go command's build information.
func resolveBuild(rel, com, date string, read func() (*debug.BuildInfo, bool)) buildInfo {
	b := buildInfo{Release: rel, Commit: com, Date: date}
	if bi, ok := read(); ok && bi != nil {
		if b.Release == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Release = strings.TrimPrefix(bi.Main.Version, "v")
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && com == "":
				b.Commit = s.Value[:min(len(s.Value), 12)]
			case s.Key == "vcs.time" && date == "":
				b.Date = s.Value
			case s.Key == "vcs.modified" && com == "":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Release == "" {
		b.Release = "dev"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.Date == "" {
		b.Date = "unknown"
	}
	return b
}

package main

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"
)

// everyFlag lists the flags command c defines.
func everyFlag(c command) []string {
	fs, _ := c.newFlagSet(io.Discard)
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// ferry --help lists every command with its summary.
func TestHelpListsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		code, stdout, stderr := cli(t, args...)
		if code != 0 || stderr != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, code, stderr)
		}
		for _, c := range commands() {
			if !strings.Contains(stdout, "  "+c.name+" ") || !strings.Contains(stdout, c.summary) {
				t.Errorf("%v does not list %s with %q", args, c.name, c.summary)
			}
		}
	}
}

// Each command's help, asked for either way, shows its usage and every flag.
func TestCommandHelpListsEveryFlag(t *testing.T) {
	for _, c := range commands() {
		for _, args := range [][]string{{"help", c.name}, {c.name, "-h"}, {c.name, "--help"}} {
			if c.name == "help" && args[0] != "help" {
				continue
			}
			code, stdout, stderr := cli(t, args...)
			if code != 0 || stderr != "" {
				t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
				continue
			}
			if !strings.Contains(stdout, c.usageLine()) {
				t.Errorf("%v does not show %q", args, c.usageLine())
			}
			for _, f := range everyFlag(c) {
				if !strings.Contains(stdout, "-"+f) {
					t.Errorf("%v does not list the flag -%s", args, f)
				}
			}
		}
	}
}

func TestHelpUnknownCommand(t *testing.T) {
	code, stdout, stderr := cli(t, "help", "frobnicate")
	if code != 2 || stdout != "" || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// The man page installed by the .deb documents every command and flag.
func TestManPageCoversEveryCommandAndFlag(t *testing.T) {
	b, err := os.ReadFile("../../docs/ferry.1")
	if err != nil {
		t.Fatal(err)
	}
	// roff writes "-" as "\-" in options.
	page := strings.ReplaceAll(string(b), `\-`, "-")
	for _, c := range commands() {
		if !strings.Contains(page, ".B "+c.name) && !strings.Contains(page, `\fB`+c.name+`\fR`) {
			t.Errorf("docs/ferry.1 does not describe the command %s", c.name)
		}
		for _, f := range everyFlag(c) {
			if !strings.Contains(page, "-"+f) {
				t.Errorf("docs/ferry.1 does not mention %s's flag -%s", c.name, f)
			}
		}
	}
}

package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is one subcommand: its help text, its flags and what it does.
// The table below is the single source of `ferry help`, each command's -h
// and the man page's command list (a test keeps docs/ferry.1 in step).
type command struct {
	name     string
	synopsis string // arguments after the name, as shown in usage
	summary  string // one line for the command list
	detail   string // a paragraph for the command's own help
	// flags defines the command's flags on fs; nil for none.
	flags func(fs *flag.FlagSet) *cmdFlags
	run   func(fl *cmdFlags, args []string, stdout, stderr io.Writer) int
}

// cmdFlags holds the values of the flags a command defines.
type cmdFlags struct {
	config *string
}

// configFlags is the -config flag that run, check-config and migrate share.
func configFlags(fs *flag.FlagSet) *cmdFlags {
	return &cmdFlags{config: fs.String("config", "", "configuration file (or give it as the only argument; default ferry.toml)")}
}

func commands() []command {
	return []command{
		{name: "run", synopsis: "[-config] FILE", summary: "serve the transports configured in FILE",
			detail: "Connects to the XMPP server as one component per [[transport]], upgrades the database " +
				"schema if needed and serves until SIGTERM or SIGINT (a second signal exits at once).",
			flags: configFlags, run: cmdRun},
		{name: "check-config", synopsis: "[-config] FILE", summary: "print every problem in FILE; exit 1 if there is any",
			detail: "Checks the file the way run reads it, bridge options, secret files and the secrets key " +
				"included, without connecting anywhere or creating any file. Warnings do not change the exit code.",
			flags: configFlags, run: cmdCheck},
		{name: "migrate", synopsis: "[-config] FILE", summary: "upgrade the database schema",
			detail: "Upgrades the database named in FILE to this release's schema and says from which version " +
				"to which. run does the same on start; migrate lets you do it first, with a backup at hand.",
			flags: configFlags, run: cmdMigrate},
		{name: "forget-secrets", synopsis: "[-config] FILE", summary: "delete every stored password (after losing the secrets key)",
			detail: "For a secrets key file that is lost for good: deletes the secrets sealed with it from the database " +
				"named in FILE, keeping the registrations, so run can start with a new key. Users then give their " +
				"passwords again (register). Run it while Ferry is stopped.",
			flags: configFlags, run: cmdForgetSecrets},
		{name: "version", summary: "print the release, commit and build date",
			detail: "Prints one line: ferry RELEASE (commit COMMIT, built DATE).",
			run:    cmdVersion},
		{name: "help", synopsis: "[COMMAND]", summary: "print this help, or a command's help and flags",
			run: nil}, // handled by run itself: it needs the table
	}
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// usageText is the top-level help.
func usageText() string {
	var b strings.Builder
	b.WriteString("usage: ferry <command> [flags]\n\n")
	b.WriteString("Ferry is an XMPP transport gateway: it attaches to an XMPP server as XEP-0114\n")
	b.WriteString("components and bridges IRC, email and SMS.\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-13s %s\n", c.name, c.summary)
	}
	b.WriteString("\nferry help COMMAND (or ferry COMMAND -h) lists a command's flags.\n")
	b.WriteString("ferry -h, --help and --version work as help and version.\n")
	return b.String()
}

// newFlagSet builds c's flag set, printing its help to w on -h.
func (c command) newFlagSet(w io.Writer) (*flag.FlagSet, *cmdFlags) {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(w)
	fl := &cmdFlags{}
	if c.flags != nil {
		fl = c.flags(fs)
	}
	fs.Usage = func() { c.printHelp(w, fs) }
	return fs, fl
}

// usageLine is "usage: ferry NAME SYNOPSIS".
func (c command) usageLine() string {
	return strings.TrimSpace("usage: ferry " + c.name + " " + c.synopsis)
}

// printHelp writes the command's usage, description and flags.
func (c command) printHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, c.usageLine())
	fmt.Fprintf(w, "\n%s.\n", upperFirst(c.summary))
	if c.detail != "" {
		fmt.Fprintf(w, "\n%s\n", wrap(c.detail, 76))
	}
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintln(w, "\nflags:")
		fs.PrintDefaults()
	} else {
		fmt.Fprintln(w, "\nflags: none")
	}
}

// helpCommand prints the top-level help or one command's.
func helpCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, usageText())
		return 0
	}
	name := args[0]
	if name == "-h" || name == "-help" || name == "--help" {
		name = "help"
	}
	c, ok := findCommand(name)
	if !ok || len(args) > 1 {
		fmt.Fprintf(stderr, "ferry help: unknown command %q\n%s", strings.Join(args, " "), usageText())
		return 2
	}
	fs, _ := c.newFlagSet(stdout)
	c.printHelp(stdout, fs)
	return 0
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// wrap breaks text into lines of at most width bytes at spaces.
func wrap(text string, width int) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

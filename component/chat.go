package component

import (
	"fmt"
	"strings"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// dialog is a command being filled in over chat, one field per message,
// for clients (Conversations, Dino) without registration or ad-hoc UI.
type dialog struct {
	cmd    *command
	fields []formField
	next   int
	vals   map[string]string
	// checked: each answer is checked as it is given (registration).
	checked bool
}

// chatCommand handles text sent to the transport JID.
func (u *user) chatCommand(n *xmlnode.Node, text string) {
	text = strings.TrimSpace(text)
	if u.dialog != nil {
		if strings.EqualFold(text, "cancel") {
			u.dialog = nil
			u.say("Cancelled.")
			return
		}
		u.answer(text)
		return
	}
	word, rest, _ := strings.Cut(text, " ")
	word = strings.ToLower(word)
	switch word {
	case "", "help", "?":
		u.say(u.helpText())
		return
	case "set":
		u.setCommand(strings.TrimSpace(rest))
		return
	case "configure":
		u.configureChat(rest)
		return
	}
	args := strings.Fields(rest)
	// Two-word keywords ("alias add") win over one-word ones.
	var c *command
	if len(args) > 0 {
		two := word + " " + strings.ToLower(args[0])
		if c = u.findCommand(func(c *command) bool { return c.chat == two }); c != nil {
			args = args[1:]
		}
	}
	if c == nil {
		c = u.findCommand(func(c *command) bool { return c.chat == word })
	}
	if c == nil {
		u.say(fmt.Sprintf("Unknown command %q. %s", word, u.helpText()))
		return
	}
	if c.node == nsRegister {
		u.startRegisterDialog(c, args)
		return
	}
	u.startDialog(c, args)
}

// startDialog fills fields from arguments, then asks for the rest.
func (u *user) startDialog(c *command, args []string) {
	if err := c.check(u); err != nil {
		_, text := u.t.userError(err, "")
		u.say(text)
		return
	}
	if c.form == nil {
		u.runChat(c, nil)
		return
	}
	d := &dialog{cmd: c, vals: map[string]string{}}
	for _, f := range c.form(u).fields {
		if f.Type == "hidden" || f.Type == "fixed" {
			continue
		}
		if len(args) > 0 {
			d.vals[f.Var] = args[0]
			args = args[1:]
			continue
		}
		d.fields = append(d.fields, f)
	}
	if len(d.fields) == 0 {
		u.runChat(c, d.vals)
		return
	}
	u.dialog = d
	u.say(c.name + ": answer each question; send \"cancel\" to stop.\n" + d.question())
}

// setCommand changes one setting: "set KEY VALUE".
func (u *user) setCommand(args string) {
	key, val, _ := strings.Cut(args, " ")
	val = strings.TrimSpace(val)
	var known []string
	found := false
	for _, f := range u.settingsFields() {
		known = append(known, f.Var)
		found = found || f.Var == key
	}
	if key == "" || val == "" || !found {
		u.say("Usage: set KEY VALUE, where KEY is one of: " + strings.Join(known, ", ") + ". Send \"settings\" to see the current values.")
		return
	}
	u.runChat(u.findCommand(func(c *command) bool { return c.chat == "settings" }), map[string]string{key: val})
}

func (d *dialog) question() string {
	f := d.fields[d.next]
	q := f.Label
	if f.Desc != "" && !f.Secret() {
		q += " — " + f.Desc
	}
	switch {
	case f.Type == bridges.Boolean:
		q += " (yes/no)"
	case len(f.Options) > 0:
		var opts []string
		for _, o := range f.Options {
			opts = append(opts, o.Value)
		}
		q += " (one of: " + strings.Join(opts, ", ") + ")"
	}
	switch {
	case len(f.values) > 0 && f.values[0] != "":
		q += fmt.Sprintf(" [%s; send - to keep it]", chatValue(f.Field, f.values[0]))
	case f.stored:
		q += " [a value is stored; send - to keep it]"
	case !f.required:
		q += " [optional; send - to skip]"
	}
	if f.Secret() {
		q += " (this chat is stored by your server like any message)"
	}
	return q
}

// answer records the reply to the current question and moves on.
func (u *user) answer(text string) {
	d := u.dialog
	f := d.fields[d.next]
	switch {
	case text == "-" && len(f.values) > 0:
		d.vals[f.Var] = f.values[0]
	case text == "-" && !f.required:
		// skipped; for a stored secret, empty keeps the current one
	case text == "" || text == "-":
		u.say(f.Label + " is required. " + d.question())
		return
	case d.checked:
		v, err := u.checkAnswer(f, text, d.vals)
		if err != nil {
			u.say(upperFirst(err.Error()) + ". " + d.question())
			return
		}
		d.vals[f.Var] = v
	case f.Type == bridges.Boolean:
		if _, ok := bridges.ParseBool(text); !ok {
			u.say("Please answer yes or no. " + d.question())
			return
		}
		d.vals[f.Var] = text
	default:
		d.vals[f.Var] = text
	}
	d.next++
	if d.next < len(d.fields) {
		u.say(d.question())
		return
	}
	u.dialog = nil
	u.runChat(d.cmd, d.vals)
}

// runChat runs a command and says its outcome.
func (u *user) runChat(c *command, vals map[string]string) {
	if c == nil {
		u.say("Unknown command. " + u.helpText())
		return
	}
	if err := c.check(u); err != nil {
		_, text := u.t.userError(err, "")
		u.say(text)
		return
	}
	c.run(u, vals, func(u *user, out outcome, err error) {
		if err != nil {
			_, text := u.t.userError(err, "the command failed")
			u.say("Failed: " + text)
			return
		}
		u.say(out.note)
	})
}

func (u *user) helpText() string {
	var b strings.Builder
	b.WriteString("Commands for " + u.t.domain + ":")
	for _, c := range u.t.cmds {
		if c.admin && !u.t.isAdmin(u.jid) {
			continue
		}
		if c.node == nsRegister {
			b.WriteString("\n  " + u.registerHelp())
			continue
		}
		fmt.Fprintf(&b, "\n  %s — %s", c.chat, c.name)
	}
	b.WriteString("\n  set KEY VALUE — change one setting (e.g. set stay_connected yes)")
	if _, ok := u.t.bridge.(bridges.AddressConfigurer); ok {
		b.WriteString("\n  configure ADDRESS [KEY VALUE] — the settings of one network or room (e.g. configure irc.example.org nick alice)")
	}
	b.WriteString("\n  cancel — stop the current question")
	return b.String()
}

// say sends a chat message from the transport to the user.
func (u *user) say(text string) {
	u.send(message(u.t.domain, u.jid, text))
}

// chatValue shows a stored value the way a chat user types it.
func chatValue(f bridges.Field, v string) string {
	if f.Type == bridges.Boolean {
		if b, ok := bridges.ParseBool(v); ok {
			return yesNo(b)
		}
	}
	return v
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

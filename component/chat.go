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
		key, val, _ := strings.Cut(strings.TrimSpace(rest), " ")
		u.runChat(u.findCommand(func(c *command) bool { return c.chat == "settings" }), map[string]string{key: val})
		return
	}
	c := u.findCommand(func(c *command) bool { return c.chat == word })
	if c == nil {
		u.say(fmt.Sprintf("Unknown command %q. %s", word, u.helpText()))
		return
	}
	args := strings.Fields(rest)
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

func (d *dialog) question() string {
	f := d.fields[d.next]
	q := f.Label
	if f.Desc != "" {
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
	if len(f.values) > 0 && f.values[0] != "" {
		q += fmt.Sprintf(" [%s; send - to keep it]", f.values[0])
	} else if !f.required {
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
	out, err := c.run(u, vals)
	if err != nil {
		_, text := u.t.userError(err, "the command failed")
		u.say("Failed: " + text)
		return
	}
	u.say(out.note)
}

func (u *user) helpText() string {
	var b strings.Builder
	b.WriteString("Commands for " + u.t.domain + ":")
	for _, c := range u.t.cmds {
		if c.admin && !u.t.isAdmin(u.jid) {
			continue
		}
		fmt.Fprintf(&b, "\n  %s — %s", c.chat, c.name)
	}
	b.WriteString("\n  set KEY VALUE — change one setting (e.g. set stay_connected yes)")
	b.WriteString("\n  cancel — stop the current question")
	return b.String()
}

// say sends a chat message from the transport to the user.
func (u *user) say(text string) {
	u.send(message(u.t.domain, u.jid, text))
}

package component

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/bridges"
)

// checkTimeout bounds a bridge's check of one answer.
const checkTimeout = 10 * time.Second

// startRegisterDialog is the chat registration, which asks as little as it
// can:
//
//	register                   the usual questions (not the advanced ones)
//	register NICK [SERVER]     the bridge's quick fields from the line; then
//	                           only required fields still empty are asked
//	register advanced          every question
//
// Each answer is checked as it is given (bridges.FieldChecker).
func (u *user) startRegisterDialog(c *command, args []string) {
	if err := c.check(u); err != nil {
		_, text := u.t.userError(err, "")
		u.say(text)
		return
	}
	advanced := len(args) == 1 && strings.EqualFold(args[0], "advanced")
	if advanced {
		args = nil
	}
	d := &dialog{cmd: c, vals: map[string]string{}, checked: true}
	fields := c.form(u).fields
	if len(args) > 0 {
		if err := u.fillQuick(d, fields, args); err != nil {
			u.say(err.Error())
			return
		}
	}
	for _, f := range fields {
		if _, given := d.vals[f.Var]; given || f.Type == "hidden" || f.Type == "fixed" {
			continue
		}
		switch {
		case advanced:
		case len(args) > 0:
			// One line: the rest is defaulted; only a required field
			// without any value yet is asked.
			if !f.required || (len(f.values) > 0 && f.values[0] != "") || f.stored {
				continue
			}
		case f.Advanced && !f.required:
			continue
		}
		d.fields = append(d.fields, f)
	}
	if len(d.fields) == 0 {
		u.runChat(c, d.vals)
		return
	}
	u.dialog = d
	intro := c.name + ": answer each question; send \"cancel\" to stop."
	if !advanced && len(args) == 0 && u.hasAdvanced(fields) {
		intro += " (\"register advanced\" asks every setting.)"
	}
	u.say(intro + "\n" + d.question())
}

// fillQuick puts the words after "register" into the quick fields, checking
// each; the last quick field takes the rest of the line.
func (u *user) fillQuick(d *dialog, fields []formField, args []string) error {
	quick := u.quickFields(fields)
	if len(quick) == 0 {
		return fmt.Errorf("send \"register\" alone; this gateway asks its questions one by one")
	}
	for i, f := range quick {
		if i >= len(args) {
			break
		}
		word := args[i]
		if i == len(quick)-1 {
			word = strings.Join(args[i:], " ")
		}
		v, err := u.checkAnswer(f, word, d.vals)
		if err != nil {
			return fmt.Errorf("%s: %s\nUsage: %s", f.Label, err.Error(), u.registerUsage(fields))
		}
		d.vals[f.Var] = v
	}
	return nil
}

// quickFields are the form fields the bridge fills from the command line.
func (u *user) quickFields(fields []formField) []formField {
	var out []formField
	for _, v := range u.t.desc.QuickFields {
		for _, f := range fields {
			if f.Var == v {
				out = append(out, f)
			}
		}
	}
	return out
}

// registerUsage is "register NICKNAME [DEFAULT IRC SERVER]".
func (u *user) registerUsage(fields []formField) string {
	s := "register"
	for _, f := range u.quickFields(fields) {
		word := strings.ToUpper(strings.ReplaceAll(f.Label, " ", "_"))
		if f.required {
			s += " " + word
		} else {
			s += " [" + word + "]"
		}
	}
	return s
}

func (u *user) hasAdvanced(fields []formField) bool {
	for _, f := range fields {
		if f.Advanced {
			return true
		}
	}
	return false
}

// checkAnswer checks one answer: yes/no, a choice of a list, and whatever
// the bridge checks (bridges.FieldChecker). It returns the value to keep.
func (u *user) checkAnswer(f formField, v string, vals map[string]string) (string, error) {
	if !f.Secret() {
		v = strings.TrimSpace(v)
	}
	switch {
	case f.Type == bridges.Boolean:
		b, ok := bridges.ParseBool(v)
		if !ok {
			return "", fmt.Errorf("please answer yes or no")
		}
		return yesNo(b), nil
	case f.Type == bridges.ListSingle && !hasOption(f.Field, v):
		var opts []string
		for _, o := range f.Options {
			opts = append(opts, o.Value)
		}
		return "", fmt.Errorf("%q is not one of: %s", v, strings.Join(opts, ", "))
	}
	fc, ok := u.t.bridge.(bridges.FieldChecker)
	if !ok {
		return v, nil
	}
	ctx, cancel := context.WithTimeout(u.t.ctx, checkTimeout)
	defer cancel()
	checked, err := fc.CheckField(ctx, f.Var, v, vals)
	if err != nil {
		_, text := u.t.userError(err, "that answer could not be checked")
		return "", fmt.Errorf("%s", text)
	}
	return checked, nil
}

// registerHelp is the help line of the register command.
func (u *user) registerHelp() string {
	fields := u.registrationForm().fields
	if len(u.quickFields(fields)) == 0 {
		return "register — Register (answer each question)"
	}
	return "register — Register, one question at a time; " + u.registerUsage(fields) + " in one line; register advanced for every setting"
}

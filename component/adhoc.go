package component

import (
	"time"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
	"mellium.im/xmpp/jid"
)

// cmdSession is an XEP-0050 session waiting for its form.
type cmdSession struct {
	cmd     *command
	owner   string // full JID that started it
	target  string // the address it runs on; "" for the gateway
	expires time.Time
}

const cmdSessionTTL = 10 * time.Minute

// commandItems lists the commands this user may run (disco#items).
func (u *user) commandItems() *xmlnode.Node {
	q := xmlnode.New(nsDiscoItem, "query").SetAttr("node", nsCommands)
	for _, c := range u.t.cmds {
		if c.admin && !u.t.isAdmin(u.jid) {
			continue
		}
		q.Add(xmlnode.New(nsDiscoItem, "item").SetAttr("jid", u.t.domain).
			SetAttr("node", c.node).SetAttr("name", c.name))
	}
	return q
}

// iqCommandInfo answers disco#info on a command node.
func (u *user) iqCommandInfo(n, q *xmlnode.Node) {
	node := q.Attr("node")
	c := u.findCommand(func(c *command) bool { return c.node == node })
	if c == nil {
		u.send(ErrorReply(n, "", "item-not-found", ""))
		return
	}
	u.send(Result(n, xmlnode.New(nsDiscoInfo, "query").SetAttr("node", node).Add(
		xmlnode.New(nsDiscoInfo, "identity").SetAttr("category", "automation").
			SetAttr("type", "command-node").SetAttr("name", c.name),
		xmlnode.New(nsDiscoInfo, "feature").SetAttr("var", nsCommands),
		xmlnode.New(nsDiscoInfo, "feature").SetAttr("var", nsData))))
}

// iqCommand executes, continues or cancels an ad-hoc command of the
// gateway.
func (u *user) iqCommand(n, q *xmlnode.Node, from jid.JID) {
	u.commandIQ(n, q, from, "", func(node string) *command {
		return u.findCommand(func(c *command) bool { return c.node == node })
	})
}

// commandIQ executes, continues or cancels the command find names, on
// the address target ("" for the gateway).
func (u *user) commandIQ(n, q *xmlnode.Node, from jid.JID, target string, find func(node string) *command) {
	u.expireCommandSessions()
	node, sid, action := q.Attr("node"), q.Attr("sessionid"), q.Attr("action")
	if sid == "" {
		c := find(node)
		if c == nil {
			u.send(ErrorReply(n, "", "item-not-found", "no such command"))
			return
		}
		if action == "cancel" {
			u.send(Result(n, commandNode(node, "", "canceled")))
			return
		}
		u.startCommand(n, c, from, target)
		return
	}
	s := u.cmdSess[sid]
	if s == nil || s.owner != from.String() || s.cmd.node != node || s.target != target {
		e := ErrorReply(n, Modify, "bad-request", "unknown or expired command session")
		e.Child("", "error").Add(xmlnode.New(nsCommands, "bad-sessionid"))
		u.send(e)
		return
	}
	vals, kind, err := readForm(q.Child(nsData, "x"))
	if action == "cancel" || kind == formCancel {
		delete(u.cmdSess, sid)
		u.send(Result(n, commandNode(node, sid, "canceled")))
		return
	}
	if action == "prev" {
		u.send(ErrorReply(n, Modify, "bad-request", "this command has a single step"))
		return
	}
	if err != nil {
		_, text := u.t.userError(err, "")
		u.send(ErrorReply(n, Modify, "bad-request", text))
		return
	}
	if kind != formSubmit {
		u.send(ErrorReply(n, Modify, "bad-request", "submit the form to continue"))
		return
	}
	u.finishCommand(n, s.cmd, sid, vals)
}

func (u *user) startCommand(n *xmlnode.Node, c *command, from jid.JID, target string) {
	if err := c.check(u); err != nil {
		cond, text := u.t.userError(err, "")
		u.send(ErrorReply(n, "", string(cond), text))
		return
	}
	if c.form == nil {
		u.finishCommand(n, c, "", nil)
		return
	}
	sid := newID()
	if u.cmdSess == nil {
		u.cmdSess = map[string]*cmdSession{} // most users never run a command
	}
	u.cmdSess[sid] = &cmdSession{cmd: c, owner: from.String(), target: target, expires: u.t.now().Add(cmdSessionTTL)}
	u.send(Result(n, executing(c.node, sid, c.form(u), "")))
}

// finishCommand runs the command. A failure keeps the session open and
// shows the form again with the error, so the user can correct a field.
func (u *user) finishCommand(n *xmlnode.Node, c *command, sid string, vals map[string]string) {
	if err := c.check(u); err != nil {
		cond, text := u.t.userError(err, "")
		u.send(ErrorReply(n, "", string(cond), text))
		return
	}
	c.run(u, vals, func(u *user, out outcome, err error) { u.commandDone(n, c, sid, out, err) })
}

// commandDone answers an executed command with its outcome.
func (u *user) commandDone(n *xmlnode.Node, c *command, sid string, out outcome, err error) {
	if err != nil {
		_, text := u.t.userError(err, "the command failed")
		if s := u.cmdSess[sid]; s != nil && c.form != nil {
			s.expires = u.t.now().Add(cmdSessionTTL)
			u.send(Result(n, executing(c.node, sid, c.form(u), text)))
			return
		}
		u.send(Result(n, commandNode(c.node, sid, "completed").Add(
			xmlnode.Elem(nsCommands, "note", text).SetAttr("type", "error"))))
		return
	}
	delete(u.cmdSess, sid)
	if sid == "" {
		sid = newID()
	}
	done := commandNode(c.node, sid, "completed").Add(xmlnode.Elem(nsCommands, "note", out.note).SetAttr("type", "info"))
	if out.result != nil {
		done.Add(out.result.node())
	}
	u.send(Result(n, done))
}

func commandNode(node, sid, status string) *xmlnode.Node {
	return xmlnode.New(nsCommands, "command").SetAttr("node", node).
		SetAttr("sessionid", sid).SetAttr("status", status)
}

func executing(node, sid string, f *form, errText string) *xmlnode.Node {
	c := commandNode(node, sid, "executing").Add(
		xmlnode.New(nsCommands, "actions").SetAttr("execute", "complete").Add(xmlnode.New(nsCommands, "complete")))
	if errText != "" {
		c.Add(xmlnode.Elem(nsCommands, "note", errText).SetAttr("type", "error"))
	}
	return c.Add(f.node())
}

func (u *user) expireCommandSessions() {
	now := u.t.now()
	for id, s := range u.cmdSess {
		if now.After(s.expires) {
			delete(u.cmdSess, id)
		}
	}
	if len(u.cmdSess) == 0 {
		u.cmdSess = nil // an emptied map keeps its memory
	}
}

package component

import (
	"strings"

	"github.com/ferry-xmpp/ferry/bridges"
	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// form is an XEP-0004 data form as Ferry builds it.
type form struct {
	typ          string // form, result
	title        string
	instructions string
	formType     string // hidden FORM_TYPE value, if any
	fields       []formField
}

type formField struct {
	bridges.Field
	values   []string
	required bool
	stored   bool // a secret is stored: leaving it empty keeps it
}

// node renders the form as <x xmlns='jabber:x:data'/>.
func (f *form) node() *xmlnode.Node {
	x := xmlnode.New(nsData, "x").SetAttr("type", f.typ)
	if f.title != "" {
		x.Add(xmlnode.Elem(nsData, "title", f.title))
	}
	if f.instructions != "" {
		x.Add(xmlnode.Elem(nsData, "instructions", f.instructions))
	}
	if f.formType != "" {
		x.Add(xmlnode.New(nsData, "field").SetAttr("type", "hidden").SetAttr("var", "FORM_TYPE").
			Add(xmlnode.Elem(nsData, "value", f.formType)))
	}
	for _, fl := range f.fields {
		x.Add(fl.node())
	}
	return x
}

func (fl formField) node() *xmlnode.Node {
	typ := string(fl.Type)
	if typ == "" {
		typ = string(bridges.TextSingle)
	}
	n := xmlnode.New(nsData, "field").SetAttr("var", fl.Var).SetAttr("type", typ).SetAttr("label", fl.Label)
	if fl.Desc != "" {
		n.Add(xmlnode.Elem(nsData, "desc", fl.Desc))
	}
	if fl.required {
		n.Add(xmlnode.New(nsData, "required"))
	}
	for _, o := range fl.Options {
		n.Add(xmlnode.New(nsData, "option").SetAttr("label", o.Label).Add(xmlnode.Elem(nsData, "value", o.Value)))
	}
	for _, v := range fl.values {
		n.Add(xmlnode.Elem(nsData, "value", v))
	}
	return n
}

// submission is what a user sent where a form was expected.
type submission int

const (
	notAForm   submission = iota // no form, or one of type form or result
	formSubmit                   // type submit (or no type): values to use
	formCancel                   // type cancel: the user backed out
)

// readForm reads a form the user sent: var -> value (multi-values joined
// by newlines) and what kind of answer it is. A field given twice is a
// bad-request error (XEP-0004: a var names one field of a form), never
// "the last one wins".
func readForm(x *xmlnode.Node) (map[string]string, submission, error) {
	if x == nil {
		return nil, notAForm, nil
	}
	switch x.Attr("type") {
	case "submit", "":
	case "cancel":
		return nil, formCancel, nil
	default:
		return nil, notAForm, nil
	}
	vals := map[string]string{}
	seen := map[string]bool{}
	for _, f := range x.ChildrenNamed(nsData, "field") {
		v := f.Attr("var")
		if seen[v] && v != "" {
			return nil, formSubmit, bridges.Errorf(bridges.BadRequest, "the form gives the field %q more than once", v)
		}
		seen[v] = true
		if v == "" || v == "FORM_TYPE" {
			continue
		}
		var parts []string
		for _, val := range f.ChildrenNamed(nsData, "value") {
			parts = append(parts, val.Text)
		}
		vals[v] = strings.Join(parts, "\n")
	}
	return vals, formSubmit, nil
}

// formType returns the hidden FORM_TYPE of a form, or "".
func formTypeOf(x *xmlnode.Node) string {
	for _, f := range x.ChildrenNamed(nsData, "field") {
		if f.Attr("var") == "FORM_TYPE" {
			return f.ChildText(nsData, "value")
		}
	}
	return ""
}

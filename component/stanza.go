package component

import (
	"crypto/rand"
	"encoding/base32"

	"github.com/ferry-xmpp/ferry/internal/xmlnode"
)

// Namespaces served by the core.
const (
	nsStanzas   = "urn:ietf:params:xml:ns:xmpp-stanzas"
	nsDiscoInfo = "http://jabber.org/protocol/disco#info"
	nsDiscoItem = "http://jabber.org/protocol/disco#items"
	nsRegister  = "jabber:iq:register"
	nsGateway   = "jabber:iq:gateway"
	nsCommands  = "http://jabber.org/protocol/commands"
	nsPing      = "urn:xmpp:ping"
	nsVersion   = "jabber:iq:version"
	nsData      = "jabber:x:data"
	nsReceipts  = "urn:xmpp:receipts"
	nsStanzaID  = "urn:xmpp:sid:0"
	nsDelay     = "urn:xmpp:delay"
	nsChatState = "http://jabber.org/protocol/chatstates"
	nsOOB       = "jabber:x:oob"
	nsNick      = "http://jabber.org/protocol/nick"
)

// Error types (RFC 6120 §8.3.2).
const (
	Cancel = "cancel"
	Modify = "modify"
	Auth   = "auth"
	Wait   = "wait"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns a random stanza id.
func newID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}

// conditionType is the error type RFC 6120 pairs with each condition.
var conditionType = map[string]string{
	"bad-request":             Modify,
	"conflict":                Cancel,
	"feature-not-implemented": Cancel,
	"forbidden":               Auth,
	"item-not-found":          Cancel,
	"jid-malformed":           Modify,
	"not-acceptable":          Modify,
	"not-allowed":             Cancel,
	"not-authorized":          Auth,
	"policy-violation":        Modify,
	"registration-required":   Auth,
	"recipient-unavailable":   Wait,
	"remote-server-not-found": Cancel,
	"remote-server-timeout":   Wait,
	"resource-constraint":     Wait,
	"service-unavailable":     Cancel,
	"internal-server-error":   Cancel,
	"undefined-condition":     Cancel,
	"unexpected-request":      Wait,
}

// ErrorReply answers stanza req with an error of the given type, condition
// and human text, swapping to and from.
func ErrorReply(req *xmlnode.Node, typ, condition, text string) *xmlnode.Node {
	if typ == "" {
		typ = conditionType[condition]
		if typ == "" {
			typ = Cancel
		}
	}
	e := xmlnode.New("", "error").SetAttr("type", typ).Add(xmlnode.New(nsStanzas, condition))
	if text != "" {
		e.Add(xmlnode.Elem(nsStanzas, "text", text).SetAttr("xml:lang", "en"))
	}
	reply := xmlnode.New("", req.Local).
		SetAttr("type", "error").
		SetAttr("id", req.Attr("id")).
		SetAttr("from", req.Attr("to")).
		SetAttr("to", req.Attr("from"))
	// Naming the request's payload helps clients match the error (RFC 6120
	// allows echoing it), but only its name and attributes: its content
	// may be what the user submitted, passwords included.
	if q := req.FirstChild(); req.Local == "iq" && q != nil {
		echo := xmlnode.New(q.Space, q.Local)
		echo.Attrs = append(echo.Attrs, q.Attrs...)
		reply.Add(echo)
	}
	return reply.Add(e)
}

// Result answers an IQ get/set with type result and the given payload.
func Result(req *xmlnode.Node, payload ...*xmlnode.Node) *xmlnode.Node {
	return xmlnode.New("", "iq").
		SetAttr("type", "result").
		SetAttr("id", req.Attr("id")).
		SetAttr("from", req.Attr("to")).
		SetAttr("to", req.Attr("from")).
		Add(payload...)
}

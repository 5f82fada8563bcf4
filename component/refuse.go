package component

import "github.com/ferry-xmpp/ferry/internal/xmlnode"

// refusedUnaddressable reports a refused IQ whose id was too large to keep
// (xmlnode.Decode drops it): an error without the request's id answers
// nothing the sender could match, so none is sent.
func refusedUnaddressable(n *xmlnode.Node) bool {
	return n.Local == "iq" && n.Attr("id") == ""
}

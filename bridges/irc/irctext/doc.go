// Package irctext converts message text between XMPP and IRC.
//
// XMPP bodies are arbitrary multi-line Unicode; an IRC message is one line of
// at most 512 bytes that the server re-emits with our prefix prepended. A
// careless gateway either truncates text (the server silently cuts the
// relayed copy, often mid-rune) or lets a user smuggle protocol through a body
// (CR/LF starts a new command, \x01 forges CTCP). Everything here exists to
// make the XMPP→IRC direction lossless within those limits and injection-free,
// and the IRC→XMPP direction valid XML with formatting mapped to XEP-0393
// where that is unambiguous.
//
// Outgoing lines are built only through irc-go's strict serializer so that
// the last line of defence is a well-tested parser/serializer pair rather than
// string concatenation.
package irctext

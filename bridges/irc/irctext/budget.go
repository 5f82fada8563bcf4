package irctext

// MaxLine is the RFC 1459 limit on an IRC line, CR LF included. IRCv3 tags
// have their own separate allowance and do not count against it.
const MaxLine = 512

// WorstCasePrefix is the length assumed for the nick!user@host prefix when the
// caller does not know it: NICKLEN 30, USERLEN 10 and HOSTLEN 63 (the usual
// ircd limits, which also bound cloaks and vhosts), plus the '!' and '@'. Guessing long wastes a few bytes per line; guessing
// short gets the relayed copy truncated by the server.
const WorstCasePrefix = 30 + 10 + 63 + 2

// actionOverhead is what CTCP ACTION framing adds to the text.
const actionOverhead = len("\x01ACTION ") + len("\x01")

// Budget returns how many bytes of text fit in the trailing parameter of
// "COMMAND target :text" so that the copy the server relays to others,
// ":prefix COMMAND target :text\r\n", stays within MaxLine. We must budget
// for the relayed form, not the one we send: the server prepends our prefix
// and cuts whatever no longer fits, and we would never know.
//
// prefix is the nick!user@host the server shows for us; "" means unknown and
// WorstCasePrefix is assumed. The result may be zero or negative when target
// and prefix leave no room; Privmsgs reports that as ErrNoRoom.
func Budget(command, target, prefix string) int {
	p := len(prefix)
	if p == 0 {
		p = WorstCasePrefix
	}
	// ':' prefix ' ' command ' ' target ' ' ':' text '\r' '\n'
	return MaxLine - (1 + p + 1 + len(command) + 1 + len(target) + 2 + 2)
}

// ActionBudget is Budget for text that will be wrapped as a CTCP ACTION
// ("\x01ACTION text\x01"), i.e. an IRC /me.
func ActionBudget(command, target, prefix string) int {
	return Budget(command, target, prefix) - actionOverhead
}

// Package bridges defines the contract every legacy network implements.
//
// A Bridge describes itself (identity, registration fields, XEP-0100 prompt),
// validates registrations and opens a Session per registered account. The
// component package turns all of that into XMPP; bridges never see stanzas.
// Capabilities a network lacks are absent interfaces, not stubs.
package bridges

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/internal/netpoll"
	"github.com/ferry-xmpp/ferry/internal/supervise"
	"github.com/ferry-xmpp/ferry/registry"
)

// FieldType is the x:data type a registration field is rendered as.
type FieldType string

// Field types used by registration and settings forms (XEP-0004).
const (
	TextSingle  FieldType = "text-single"
	TextPrivate FieldType = "text-private"
	Boolean     FieldType = "boolean"
	ListSingle  FieldType = "list-single"
)

// Option is one choice of a list field.
type Option struct{ Label, Value string }

// Field is one value a user gives at registration.
type Field struct {
	Var      string    // form variable and storage key
	Label    string    // human label
	Desc     string    // longer help text (shown by chat registration)
	Type     FieldType // TextPrivate fields are secrets: sealed at rest, never echoed
	Required bool
	Default  string   // pre-filled when the user has no value yet
	Options  []Option // for ListSingle
	// Legacy is the XEP-0077 legacy element this field is also offered as
	// (username, password, nick, email, phone, …), or "" for x:data only.
	Legacy string
	// Hidden fields are never shown or asked for: the bridge fills them in
	// Validate (a generated client certificate, say) and Ferry stores them.
	Hidden bool
	// Advanced fields are for experts (SASL, commands after connecting,
	// server ports): the chat dialog asks them only after "register
	// advanced". Forms show every field.
	Advanced bool
}

// Secret reports whether the field holds a secret.
func (f Field) Secret() bool { return f.Type == TextPrivate }

// Descriptor is what a bridge says about itself.
type Descriptor struct {
	Kind          string // config kind, e.g. "irc"
	Name          string // human name for disco, e.g. "IRC"
	IdentityType  string // disco identity type under category gateway: irc, smtp, sms
	Instructions  string // registration instructions
	Fields        []Field
	GatewayDesc   string // XEP-0100 <desc/>
	GatewayPrompt string // XEP-0100 <prompt/>
	// Settings are per-account preferences beyond stay_connected.
	Settings []Field
	// Receipts is set when the bridge reports delivery (XEP-0184): puppets
	// then advertise urn:xmpp:receipts so clients ask for receipts.
	Receipts bool
	// Signals is set when the bridge's sessions carry typing, reactions,
	// replies and read marks (Signaller, ReadMarker) where the network
	// has them: puppets and rooms then advertise XEP-0085, XEP-0444,
	// XEP-0461 and XEP-0333, so clients send them.
	Signals bool
	// StayConnected is the default session policy: true keeps the legacy
	// session up while the user is offline, false follows their presence.
	StayConnected bool
	// VolatileInbound is set when the network keeps no message for the
	// bridge to fetch again (IRC): storing each one before it is written
	// would cost a transaction per message and protect only the
	// milliseconds before the write, as nothing could send it again.
	// Such messages without a legacy id go to the user's lane like room
	// messages, under the same back-pressure; a lost XMPP stream still
	// loses none (the writer repeats what the server did not confirm),
	// only a crash of Ferry itself loses those it had read and not yet
	// written. Messages with a legacy id are still stored, so a replay
	// (IRCv3 chathistory) is delivered once.
	VolatileInbound bool
	// HistoryLines is how many lines of a room's history a client joining
	// gets when it does not say (XEP-0045 <history/>); 0: none.
	HistoryLines int
	// HistoryDays and HistoryMessages are how long room history is kept:
	// lines older than HistoryDays go, and all but each room's newest
	// HistoryMessages; 0 keeps them.
	HistoryDays, HistoryMessages int
	// PublicHistory, when set, reports whether every registered user may
	// read the whole history of a room (its local part), not only what
	// was said while they were in it: the operator opened the room's
	// network to all (IRC public_history). nil: no room is.
	PublicHistory func(room string) bool
	// QuickFields are the vars of the fields, in order, that the words
	// typed after "register" in a chat fill: "register NICK [SERVER]",
	// "register +12015550123". The last one takes the rest of the line.
	// The other fields keep their defaults; only required ones still
	// empty are asked.
	QuickFields []string
}

// Registration is what a user submitted, secrets included, in plain text.
type Registration struct {
	JID    string            // bare JID of the XMPP user
	Values map[string]string // field var -> value
}

// Account is a stored registration as a session sees it.
type Account struct {
	JID      string
	Values   map[string]string // fields and secrets together
	Settings map[string]string
	// Addresses are the settings the user gave single addresses (see
	// AddressConfigurer), by local part, secrets included.
	Addresses map[string]map[string]string
}

// Bridge is one legacy network.
type Bridge interface {
	Describe() Descriptor
	// Validate checks a registration, logging in for real where the network
	// allows, and returns the values to store (normalised). Errors should be
	// *Error so the user gets a precise condition and text.
	Validate(ctx context.Context, r Registration) (map[string]string, error)
	// MapPrompt turns what a user typed for XEP-0100 (a nick, an address, a
	// number) into the local part of the puppet JID.
	MapPrompt(ctx context.Context, prompt string) (string, error)
	// Open starts the legacy session for an account. Events reach the user
	// through sink until Close returns.
	Open(ctx context.Context, acct Account, sink Events) (Session, error)
}

// Session is one account's live link to the legacy network.
type Session interface {
	// Send delivers a user's message to a legacy peer (the puppet local part).
	Send(ctx context.Context, m Message) error
	// Close ends the session, telling the network why where it can (an
	// IRC QUIT message); it must return promptly.
	Close(ctx context.Context, why string) error
}

// Message is a chat message in either direction.
type Message struct {
	ID   string // XMPP stanza id (outbound) or legacy id (inbound)
	Peer string // puppet local part: the legacy peer
	// Resource is set for a private message to a room occupant: Peer is
	// the room and Resource the occupant's nick.
	Resource string
	// WantsReceipt is set when the client asked for an XEP-0184 receipt.
	WantsReceipt bool
	// To is the full JID an inbound message is for, when it answers what
	// one resource asked (IRC labeled-response); "" is the user's bare JID.
	To string
	// Sender is the full JID that sent an outbound message: a failure
	// reported later must go back to it (servers drop errors sent to a
	// bare JID).
	Sender string
	// MediaURLs are XEP-0066 out-of-band URLs attached to the message.
	MediaURLs []string
	// Action marks a "/me" message (IRC CTCP ACTION).
	Action bool
	// Nick is the peer's display name (a mail's From name), shown by
	// clients for contacts not in the roster (XEP-0172).
	Nick    string
	Body    string
	Subject string
	Thread  string
	Time    time.Time // when the legacy network says it was sent; zero = now
	// OriginID is the client's XEP-0359 origin-id of an outbound message.
	OriginID string
	// EchoOf marks an inbound room message that is the network's echo of
	// one the user sent (see RoomEchoer): it holds that message's XMPP id,
	// OriginID its origin-id, and ID the network's own id for it.
	EchoOf string
	// Replayed marks an inbound room message the network sent again
	// (IRCv3 CHATHISTORY) after a restart or a lost connection: it is
	// shown delayed, with its original Time, however recent.
	Replayed bool
	// ReplyTo is the legacy id of the message this one answers (XEP-0461,
	// IRCv3 +draft/reply), as Message.ID holds it; "" for none. Outbound,
	// Body is then the reply without the client's quote of the original
	// (XEP-0428 fallback), and Fallback the body with it, for networks
	// that cannot carry the reference.
	ReplyTo  string
	Fallback string
}

// State is an account's connection state, shown as the transport's presence.
type State int

// Connection states.
const (
	Disconnected State = iota
	Connecting
	Connected
	Failed // Failed needs the user to act (wrong password, banned…)
)

func (s State) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	case Failed:
		return "error"
	default:
		return "disconnected"
	}
}

// Events is how a session reports what the network says. Implementations
// are safe for concurrent use and never block for long.
type Events interface {
	// Receive hands an inbound message to Ferry; once it returns nil the
	// message is stored and will reach the user even if XMPP is down.
	Receive(ctx context.Context, m Message) error
	// Status reports the session's state with a human text.
	Status(s State, text string)
	// PeerPresence reports a legacy peer coming online or going away.
	PeerPresence(peer string, available bool, status string)
}

// DeliveryEvents reports the fate of a message the user sent, after Send
// returned: every Events sink implements it.
type DeliveryEvents interface {
	// Delivered reports that the peer's device got the message (XEP-0184
	// <received/>, sent only when the client asked for it).
	Delivered(ctx context.Context, peer, stanzaID, sender string) error
	// Failed reports that the message will not arrive: an error on the
	// original stanza id with the network's text, to the resource that
	// sent it (Message.Sender).
	Failed(ctx context.Context, peer, stanzaID, sender string, cond Condition, text string) error
}

// SentElsewhereEvents is implemented by events sinks that can show users
// what they sent to a legacy peer from somewhere other than Ferry (a mail
// sent from another mail client and seen in the Sent folder, a text sent
// from another phone app where the provider reports it). Ferry shows it in
// the user's chat with the peer as their own message (an XEP-0280 "sent"
// carbon) where the XMPP server grants the transport the XEP-0356 message
// permission, and drops it otherwise. Bridges check for the interface
// with a type assertion on the sink they were given.
type SentElsewhereEvents interface {
	// SentElsewhere reports a message the user sent to m.Peer elsewhere;
	// m.ID, when set, is its legacy id, so that it is shown once.
	SentElsewhere(ctx context.Context, m Message) error
}

// FieldChecker is implemented by bridges that can check one registration
// answer on its own, so that the chat dialog refuses a bad nick or number
// when it is typed rather than after the last question. values are the
// answers given so far (a number is read with the region given before
// it). It returns the value as it will be stored, or an *Error whose text
// never repeats a secret. Validate still checks the whole registration.
type FieldChecker interface {
	CheckField(ctx context.Context, field, value string, values map[string]string) (string, error)
}

// Runner is implemented by bridges with work of their own beyond sessions
// (an HTTP listener for provider webhooks, a delivery queue). Ferry runs it
// for the transport's lifetime, restarting it after a panic; it returns
// when ctx ends.
type Runner interface {
	Run(ctx context.Context) error
}

// Listener is implemented by bridges that accept connections (provider
// webhooks, an SMTP relay, attachment links). Ferry calls Listen before it
// reports itself up, so a port in use stops the start with an error that
// names it; Run then serves what Listen bound.
type Listener interface {
	Listen() error
}

// Binder is implemented by bridges whose accounts hold a legacy identity
// that only one XMPP user may register (a phone number): BindingField names
// the registration field whose value must be unique on the transport.
type Binder interface {
	BindingField() string
}

// Deps is what Ferry hands every bridge it builds.
type Deps struct {
	// Store is Ferry's store: bridges keep their queues and state there.
	// It is nil when a configuration is only being checked.
	Store registry.Store
	// Logger is the transport's logger (it already names the transport).
	Logger *slog.Logger
	// Supervisor recovers and reports panics in the bridge's goroutines.
	Supervisor *supervise.Supervisor
	// Poller tells when sockets have something to read, so that idle
	// connections need no goroutine each; nil where there is none (tests,
	// systems without epoll): then each connection has its reader.
	Poller *netpoll.Poller
}

// Factory builds a bridge from its transport options (the raw TOML table)
// and what Ferry gives it.
type Factory func(domain string, options map[string]any, deps Deps) (Bridge, error)

// ImplicitRegistrar is implemented by bridges that let a user start using
// the network (joining a room, say) before registering: Ferry then stores
// the defaults it returns as their registration. ok is false when the
// operator requires explicit registration.
type ImplicitRegistrar interface {
	ImplicitRegistration(userJID, nickHint string) (values map[string]string, ok bool)
}

// Queries is implemented by sessions that can ask a legacy peer for its
// software version and measure a round trip (IRC CTCP VERSION and PING),
// so XEP-0092 and XEP-0199 requests to a puppet reach the real person.
type Queries interface {
	Version(ctx context.Context, peer string) (name, version, os string, err error)
	Ping(ctx context.Context, peer string) error
}

// AccountReporter is implemented by bridges that keep per-account counts
// worth showing to administrators (texts sent today, say).
type AccountReporter interface {
	AccountReport(ctx context.Context, jid string) (string, error)
}

// Command is an operation a bridge offers its registered users beyond the
// core's (creating relay addresses, say), both as an XEP-0050 ad-hoc
// command and as chat text to the transport.
type Command struct {
	Node string // ad-hoc node
	// Chat is the chat keyword: one word, or two ("alias add"); words
	// typed after it fill Fields in order, the rest are asked for.
	Chat   string
	Name   string  // human name
	Fields []Field // asked before running; none: runs at once
}

// Commander is implemented by bridges with commands of their own.
type Commander interface {
	Commands() []Command
	// RunCommand runs node for the registered user jid and returns the
	// text shown to them. Errors should be *Error.
	RunCommand(ctx context.Context, jid, node string, values map[string]string) (string, error)
}

// SettingsListener is implemented by sessions that apply changed settings
// (the folders to watch, say) without being reopened.
type SettingsListener interface {
	SettingsChanged(settings map[string]string)
}

// LoggerOr is deps.Logger, or slog's default logger when none was given
// (a configuration check).
func (d Deps) LoggerOr() *slog.Logger {
	if d.Logger == nil {
		return slog.Default()
	}
	return d.Logger
}

// UndeliveredReporter is a Session that can tell a legacy sender that
// their message did not reach the user (the user's server refused it).
// Bridges whose networks make such a report cost money or mail strangers
// (SMS, email backscatter) do not implement it; the refusal is logged.
type UndeliveredReporter interface {
	// ReportUndelivered tells m.Peer that the message m (its body when
	// the server sent it back, else empty) was not delivered, and why.
	ReportUndelivered(ctx context.Context, m Message, reason string) error
}

// ParseBool reads a yes/no value as forms and chat give it: an x:data
// boolean ("1", "true") or a person's answer ("yes", "off").
func ParseBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "y", "on":
		return true, true
	case "0", "false", "no", "n", "off":
		return false, true
	}
	return false, false
}

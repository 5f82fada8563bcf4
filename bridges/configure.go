package bridges

import "context"

// Fixed is the x:data type of a read-only line of a form: a value the
// operator set, shown and never submitted.
const Fixed FieldType = "fixed"

// AddressConfigurer is implemented by bridges whose addresses carry
// settings of their own (an IRC network: nick, ports, encoding; a
// channel: its encoding), which users change with the ad-hoc command
// "configure" on that address or "configure ADDRESS KEY VALUE" in a chat
// with the gateway. The component stores them (secrets sealed as at
// registration) and hands them to Open in Account.Addresses.
type AddressConfigurer interface {
	// AddressFields lists the settings of the address local (a puppet
	// local part) for the account; an *Error (item-not-found) when the
	// address has none. Fixed fields show what the operator decided.
	AddressFields(acct Account, local string) ([]Field, error)
	// CheckAddressSettings checks a submission as typed and returns the
	// values to store (normalised; a field left empty goes back to its
	// default and is absent), or an *Error whose text names the field
	// and never repeats a secret. Nothing is stored on error.
	CheckAddressSettings(ctx context.Context, acct Account, local string, values map[string]string) (map[string]string, error)
}

// AddressSettingsListener is implemented by sessions that take changed
// address settings while they run. values are the address's settings
// after the change, secrets included; the returned note says when they
// apply ("at the next connection", "now").
type AddressSettingsListener interface {
	AddressSettingsChanged(local string, values map[string]string) string
}

// Package numbers turns what users type and what SMS providers send into the
// addresses of the SMS bridge, and back.
//
// A phone is a contact whose JID local part is its number in E.164, the
// convention of Cheogram and JMP:
//
//	+15551234567@sms.gw
//
// Senders that are not phone numbers get a local part that cannot be mistaken
// for one, in the style of an RFC 3966 local number with a phone-context:
//
//	12345;phone-context=us@sms.gw         short code 12345 in the US
//	acme;phone-context=alpha@sms.gw       alphanumeric sender "ACME"
//	acme\20bank;phone-context=alpha@sms.gw alphanumeric sender "Acme Bank"
//
// # Phone numbers
//
// Parse reads what a person types, in the format of their region: national
// ("(201) 555-0123", "020 7946 0958"), international with "+", or with an
// international call prefix. Spaces, dashes, dots, slashes and parentheses
// are ignored, as is a leading "tel:". Digits of any script are read.
//
// nyaruka/phonenumbers only knows the call prefix of the region it is given,
// so it reads "0044 20 7946 0958" in the US as the US number +1 0044…. Parse
// therefore also treats "00" (most of the world) and, in NANP regions, "011"
// followed by a country code as international, preferring that reading to a
// national one, as no national number begins with those digits. A region's
// own prefix that the library understands ("0011" in Australia) is used
// first.
//
// Parse only accepts numbers phonenumbers.IsValidNumber accepts: that is where
// a typo can still be caught and explained. A number that is possible (of a
// plausible length) but in no range the library knows to be assigned, such as
// +1 555 123 4567, is refused with its own message. ParseProvider and
// FromLocalPart accept such possible numbers: a text that arrives from one,
// or a contact already in a roster, must not be lost because the library's
// metadata is older than a new number range.
//
// # Short codes
//
// Three to six digits without "+" are a short code, decided before the
// library sees them (it would make a national number of them). A short code
// only means something inside one country, so it carries the region, written
// in lower case in its local part: "12345;phone-context=us". Full numbers
// that are that short (as in the Faroe Islands or Niue) must be typed with
// "+" and the country code. One or two digits are refused.
//
// # Alphanumeric senders
//
// A provider's sender with at least one letter that is not a phone number is
// an alphanumeric sender (GSM allows 11 characters; up to 32 are accepted).
// Its local part is the sender in canonical form followed by
// ";phone-context=alpha". The canonical form is what a JID would make of it
// anyway: runs of white space become one space, letters are lower-cased and
// full-width forms narrowed (the PRECIS UsernameCaseMapped profile of RFC 8265
// that JID local parts use), so "ACME", "Acme" and "ＡＣＭＥ" are the same
// contact, and Number.Alpha holds the lower-case form. Space and the nine
// other characters a local part cannot hold are written with XEP-0106
// escapes; every backslash is escaped as \5c, so each sender has exactly one
// local part. Senders with characters a JID cannot hold at all (most symbols,
// emoji, control characters) or that the Bidi Rule refuses (right-to-left
// text followed by the ASCII suffix) are errors.
//
// # Round trips
//
// For every Number n that Parse, ParseProvider or FromLocalPart returns,
// n.LocalPart() is a valid, already normalised JID local part and
// FromLocalPart(n.LocalPart()) returns n. FromLocalPart refuses every local
// part that is not exactly what LocalPart writes for such a Number.
package numbers

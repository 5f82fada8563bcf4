package email

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/ferry-xmpp/ferry/bridges/email/imapwatch"
	"github.com/ferry-xmpp/ferry/registry"
)

// Job kinds this bridge keeps in the store. Records that are state rather
// than work (IMAP progress, threads, addresses) use stateKept, which no
// queue ever picks up, and go away with the account.
const (
	kindOut        = "mail-out"      // an outgoing mail
	kindRelayIn    = "mail-relay-in" // a mail received for a relay address
	kindAlias      = "mail-alias"    // a relay address
	kindIMAP       = "mail-imap"     // UIDVALIDITY and last UID of a folder
	kindConv       = "mail-conv"     // a conversation: subject and references
	kindLinkKey    = "mail-link-key" // the key that signs a user's attachment links
	stateKept      = "kept"          // a record, not work
	statePending   = "pending"       // work to do
	stateSent      = "sent"          // handed to the submission server
	stateFailed    = "failed"        // refused or given up
	stateBounced   = "bounced"       // accepted, then bounced
	stateDelivered = "delivered"     // a relay mail shown to its owner
)

// record reads a JSON state record; ok is false when there is none.
func (b *Bridge) record(ctx context.Context, id string, v any) (ok bool, err error) {
	j, err := b.store.GetJob(ctx, b.domain, id)
	if errors.Is(err, registry.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(j.Payload, v)
}

// saveRecord writes a JSON state record for a user, creating it if needed.
func (b *Bridge) saveRecord(ctx context.Context, jid, kind, id string, v any) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return err
	}
	j, err := b.store.GetJob(ctx, b.domain, id)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		err = b.store.PutJob(ctx, registry.Job{ID: id, Transport: b.domain, JID: jid, Kind: kind, Payload: payload, State: stateKept})
		if !errors.Is(err, registry.ErrConflict) {
			return err
		}
		// Written meanwhile by another goroutine of this user: update it.
		if j, err = b.store.GetJob(ctx, b.domain, id); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if j.JID != jid {
		return errors.New("email: state record belongs to another account")
	}
	j.Payload = payload
	return b.store.UpdateJob(ctx, j)
}

// recordID names a per-user record by a key that may hold any bytes.
func recordID(prefix, jid, key string) string {
	h := sha256.Sum256([]byte(jid + "\x00" + key))
	return prefix + ":" + hex.EncodeToString(h[:16])
}

// folderState backs imapwatch's progress with the store.
type folderState struct {
	b   *Bridge
	jid string
	// account is part of the key: a changed address starts afresh.
	account string
}

type imapProgress struct {
	UIDValidity uint32 `json:"uidvalidity"`
	LastUID     uint32 `json:"last_uid"`
}

func (f folderState) id(folder string) string {
	return recordID("imap", f.jid, f.account+"\x00"+folder)
}

// Load implements imapwatch.StateStore.
func (f folderState) Load(ctx context.Context, folder string) (imapwatch.State, bool, error) {
	var p imapProgress
	ok, err := f.b.record(ctx, f.id(folder), &p)
	return imapwatch.State{UIDValidity: p.UIDValidity, LastUID: p.LastUID}, ok, err
}

// Save implements imapwatch.StateStore.
func (f folderState) Save(ctx context.Context, folder string, st imapwatch.State) error {
	return f.b.saveRecord(ctx, f.jid, kindIMAP, f.id(folder), imapProgress{UIDValidity: st.UIDValidity, LastUID: st.LastUID})
}

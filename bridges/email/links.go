package email

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/ferry-xmpp/ferry/bridges/email/imapwatch"
	"github.com/ferry-xmpp/ferry/bridges/email/mailparse"
)

// An attachment link names the mail (folder, UIDVALIDITY and UID, or the
// stored relay mail) and the part, signed with a key of the user's own: a
// link cannot be forged or altered, and unregistering (which deletes the
// key) revokes every link. Nothing is copied out of the mailbox: the part
// is fetched when the link is opened.
type linkTarget struct {
	JID    string `json:"j"`
	Origin origin `json:"o"`
	Part   string `json:"p"`
}

type linkKey struct {
	Key string `json:"key"` // hex
}

const attachmentPath = "/mail/attachment/"

// userLinkKey returns the user's signing key, making it on first use.
func (b *Bridge) userLinkKey(ctx context.Context, jid string, create bool) ([]byte, error) {
	id := recordID("linkkey", jid, "")
	var k linkKey
	ok, err := b.record(ctx, id, &k)
	if err != nil {
		return nil, err
	}
	if !ok {
		if !create {
			return nil, errors.New("no link key")
		}
		var raw [32]byte
		_, _ = rand.Read(raw[:])
		k.Key = hex.EncodeToString(raw[:])
		if err := b.saveRecord(ctx, jid, kindLinkKey, id, k); err != nil {
			return nil, err
		}
		// Another goroutine may have made one first: use what is stored.
		if _, err := b.record(ctx, id, &k); err != nil {
			return nil, err
		}
	}
	return hex.DecodeString(k.Key)
}

// attachmentLink signs a link to one part of a mail.
func (s *session) attachmentLink(ctx context.Context, o origin, part string) (string, error) {
	key, err := s.b.userLinkKey(ctx, s.jid, true)
	if err != nil {
		return "", err
	}
	o.Via = ""
	payload, _ := json.Marshal(linkTarget{JID: s.jid, Origin: o, Part: part})
	p := base64.RawURLEncoding.EncodeToString(payload)
	return s.b.opts.PublicURL + attachmentPath + p + "." + sign(key, p), nil
}

func sign(key []byte, p string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(p))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

func (b *Bridge) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+attachmentPath+"{token}", b.serveAttachment)
	return mux
}

// serveAttachment checks the link, fetches the mail and sends the part as
// a download (never rendered inline: it is untrusted content).
func (b *Bridge) serveAttachment(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	t, err := b.verifyLink(ctx, r.PathValue("token"))
	if err != nil {
		http.Error(w, "This link is not valid (or its account was removed).", http.StatusNotFound)
		return
	}
	raw, err := b.fetchOrigin(ctx, t)
	if err != nil {
		b.log.Warn("attachment link: mail not available", "user", t.JID, "error", err)
		http.Error(w, "The mail is no longer available: "+errorText(err), http.StatusGone)
		return
	}
	name, ctype, body, err := mailparse.OpenPart(bytes.NewReader(raw), t.Part)
	if err != nil {
		http.Error(w, "The attachment is no longer in this mail.", http.StatusGone)
		return
	}
	if mt, _, err := mime.ParseMediaType(ctype); err == nil {
		ctype = mt
	} else {
		ctype = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": safeFileName(name)}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Length", fmt.Sprint(len(body)))
	_, _ = w.Write(body)
}

func safeFileName(n string) string {
	n = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' || r == '"' {
			return '_'
		}
		return r
	}, n)
	if strings.Trim(n, "._ ") == "" {
		return "attachment"
	}
	return n
}

func (b *Bridge) verifyLink(ctx context.Context, token string) (linkTarget, error) {
	var t linkTarget
	p, mac, ok := strings.Cut(token, ".")
	if !ok {
		return t, errors.New("malformed")
	}
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || json.Unmarshal(raw, &t) != nil || t.JID == "" {
		return t, errors.New("malformed")
	}
	key, err := b.userLinkKey(ctx, t.JID, false)
	if err != nil {
		return t, err
	}
	if !hmac.Equal([]byte(sign(key, p)), []byte(mac)) {
		return t, errors.New("bad signature")
	}
	return t, nil
}

// fetchOrigin gets the whole mail a link points into.
func (b *Bridge) fetchOrigin(ctx context.Context, t linkTarget) ([]byte, error) {
	if t.Origin.RelayJob != "" {
		j, err := b.store.GetJob(ctx, b.domain, t.Origin.RelayJob)
		if err != nil || j.JID != t.JID || j.Kind != kindRelayIn {
			return nil, errors.New("the relay mail was deleted after a week")
		}
		var rm relayMail
		if err := json.Unmarshal(j.Payload, &rm); err != nil {
			return nil, err
		}
		return rm.Data, nil
	}
	acct, err := b.store.GetAccount(ctx, b.domain, t.JID)
	if err != nil {
		return nil, err
	}
	values := map[string]string{}
	for k, v := range acct.Fields {
		values[k] = v
	}
	for k, v := range acct.Secrets {
		values[k] = v
	}
	a, err := b.accountFrom(values)
	if err != nil || a.Email == "" {
		return nil, errors.New("the account has no mailbox")
	}
	return imapwatch.Fetch(ctx, a.imapServer(), t.Origin.Folder, t.Origin.UIDValidity, t.Origin.UID)
}

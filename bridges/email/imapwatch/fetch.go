package imapwatch

import (
	"context"
	"io/fs"
	"strconv"

	"github.com/emersion/go-imap/v2"
)

// Fetch returns the full raw bytes of the mail with uid in folder ("" means
// INBOX), over a connection of its own that it closes again: for serving
// attachments on demand. If the folder's UIDVALIDITY is no longer
// uidValidity, or it has no mail with uid, the mail is gone: the error then
// wraps fs.ErrNotExist. Errors are *Error.
func Fetch(ctx context.Context, s Server, folder string, uidValidity, uid uint32) ([]byte, error) {
	if folder == "" {
		folder = defaultFolder
	}
	gone := func() error {
		return newError(s, false, fs.ErrNotExist, "the mail is no longer in the folder %s on %s", strconv.Quote(folder), s.host())
	}
	if uid == 0 {
		return nil, gone()
	}
	c, err := Dial(ctx, s, nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	cn := &conn{c: c, s: s}
	timeout := s.timeout()

	var sel *imap.SelectData
	err = cn.do(ctx, timeout, "open the folder "+strconv.Quote(folder), func() error {
		var err error
		sel, err = c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
		return err
	})
	if err != nil {
		return nil, err
	}
	if sel.UIDValidity != uidValidity {
		return nil, gone()
	}
	// The size first, to give the transfer a time limit to match.
	var size int64
	found := false
	err = cn.do(ctx, timeout, "look up a mail", func() error {
		msgs, err := c.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
		for _, m := range msgs {
			if uint32(m.UID) == uid {
				size, found = m.RFC822Size, true
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, gone()
	}
	// RFC822.SIZE may be a little off (some servers count bare LFs where
	// they send CRLF), so allow for more; the bound only guards memory
	// against a server sending far more than it said.
	limit := 2*max(size, 0) + 1<<20
	var raw []byte
	err = cn.do(ctx, transferTimeout(timeout, size), "fetch a mail", func() error {
		var err error
		raw, _, found, err = fetchBody(c, uid, &imap.FetchItemBodySection{Peek: true}, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, gone()
	}
	if int64(len(raw)) >= limit {
		return nil, newError(s, false, nil, "%s sent a mail much larger than the %d bytes it announced", s.host(), size)
	}
	// A polite LOGOUT; the mail is ours whatever it answers.
	_ = cn.do(ctx, timeout, "log out", func() error { return c.Logout().Wait() })
	return raw, nil
}

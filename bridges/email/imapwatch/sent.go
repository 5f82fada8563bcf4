package imapwatch

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/emersion/go-imap/v2"
)

// AppendSent keeps a copy of a mail the user sent in their mailbox, as mail
// clients do, so it shows in their other clients' Sent folder: in folder
// if given, else the folder the server marks \Sent (RFC 6154), else
// "Sent". The copy is marked \Seen. It returns the folder used. Errors are
// *Error.
func AppendSent(ctx context.Context, s Server, folder string, raw []byte, date time.Time) (string, error) {
	c, err := Dial(ctx, s, nil)
	if err != nil {
		return "", err
	}
	defer c.Close()
	cn := &conn{c: c, s: s}
	timeout := s.timeout()
	if folder == "" {
		folder = "Sent"
		if c.Caps().Has(imap.CapSpecialUse) {
			err := cn.do(ctx, timeout, "list the folders", func() error {
				boxes, err := c.List("", "*", &imap.ListOptions{ReturnSpecialUse: true}).Collect()
				for _, b := range boxes {
					if slices.Contains(b.Attrs, imap.MailboxAttrSent) {
						folder = b.Mailbox
						break
					}
				}
				return err
			})
			if err != nil {
				return "", err
			}
		}
	}
	appendMail := func() error {
		cmd := c.Append(folder, int64(len(raw)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, Time: date})
		if _, err := cmd.Write(raw); err != nil {
			_ = cmd.Close()
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		_, err := cmd.Wait()
		return err
	}
	what := "store the sent mail in " + strconv.Quote(folder)
	err = cn.do(ctx, transferTimeout(timeout, int64(len(raw))), what, appendMail)
	var ie *imap.Error
	if err != nil && errors.As(err, &ie) && ie.Code == imap.ResponseCodeTryCreate {
		// No such folder yet (a fresh mailbox): make it, as clients do.
		if err = cn.do(ctx, timeout, "create the folder "+strconv.Quote(folder), func() error {
			return c.Create(folder, nil).Wait()
		}); err == nil {
			err = cn.do(ctx, transferTimeout(timeout, int64(len(raw))), what, appendMail)
		}
	}
	if err != nil {
		return "", err
	}
	_ = c.Logout().Wait()
	return folder, nil
}

package imapwatch

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func TestAppendSent(t *testing.T) {
	e := startMem(t)
	ctx := context.Background()
	raw := rfc822("sent-1")
	date := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	// No Sent folder yet: it is made (TRYCREATE), then the copy stored.
	folder, err := AppendSent(ctx, e.server(), "", raw, date)
	if err != nil || folder != "Sent" {
		t.Fatalf("AppendSent = %q, %v", folder, err)
	}
	st, err := e.user.Status("Sent", &imap.StatusOptions{UIDValidity: true, NumMessages: true, NumUnseen: true})
	if err != nil || *st.NumMessages != 1 || *st.NumUnseen != 0 {
		t.Fatalf("Sent folder: %+v %v (want one seen mail)", st, err)
	}
	got, err := Fetch(ctx, e.server(), "Sent", st.UIDValidity, 1)
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("stored copy: %q %v", got, err)
	}
	// A named folder is used as is.
	if err := e.user.Create("Gesendet", nil); err != nil {
		t.Fatal(err)
	}
	if folder, err := AppendSent(ctx, e.server(), "Gesendet", raw, date); err != nil || folder != "Gesendet" {
		t.Fatalf("named folder: %q %v", folder, err)
	}
	// Wrong password: an *Error that says so.
	s := e.server()
	s.Password = "wrong"
	if _, err := AppendSent(ctx, s, "", raw, date); err == nil {
		t.Error("wrong password accepted")
	}
}
